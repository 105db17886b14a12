/**
 * Issue 6, item 9: the delivery promise under faults, against a real Kafka broker of the suite's
 * own (so it can be restarted) and an HTTP legacy system. Moves 2,000 documents while it SIGKILLs
 * the receiving connector at random points, takes the legacy system down for 30 s, makes it
 * slower than the sink timeout, restarts the broker, and puts a poison package and a package the
 * legacy system refuses in the middle. Then: every document delivered, distinct idempotency keys
 * = documents sent, the two bad packages dead-lettered and nothing else, the poison's partition
 * not blocked. FAULT_DOCUMENTS raises the count for a longer soak run.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { uniqueOrganId, waitFor, writeHttpSinkAgencyConfig } from '../support/agency';
import { makeEdoc } from '../support/packages';
import { FaultLegacyServer } from '../support/fault-legacy-server';
import { PrivateKafka, ReceiverProcess } from '../support/fault-process';
import { BackboneProducer } from '../../src/broker/producer';
import { commonClientConfig } from '../../src/broker/client-config';
import { ensureTopics } from '../../src/broker/admin';
import { TopicReader } from '../../src/broker/topic-reader';
import { deadLetterTopic, docsTopic, ownTopics, HEADERS } from '../../src/broker/topics';
import { readPackageFacts } from '../../src/pipeline/package-facts';
import { idempotencyKey, sha256Hex } from '../../src/pipeline/identity';
import { withDefaults } from '../../src/limits';

const DOCUMENTS = Number(process.env.FAULT_DOCUMENTS ?? 2000);
const OUTAGE_MS = 30_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const randomBetween = (lo: number, hi: number) => lo + Math.floor(Math.random() * (hi - lo));

describe('fault injection: nothing lost under kills, a broker restart, a sink outage, a slow sink and poison', function () {
  this.timeout(10 * 60_000);
  // Below Linux's ephemeral range (32768–60999), so no client socket of the suite can hold the port.
  const kafka = new PrivateKafka(19192, 19193, path.join(os.tmpdir(), 'vdxp-fault'));
  const legacy = new FaultLegacyServer();
  let producer: BackboneProducer | undefined;
  let receiver: ReceiverProcess | undefined;

  before(async () => {
    await kafka.reset();
    await kafka.start();
    await legacy.up();
  });
  after(async () => {
    await receiver?.kill('SIGKILL');
    await producer?.disconnect();
    await legacy.down();
    await kafka.stop();
  });

  it(`moves ${DOCUMENTS} documents with every one delivered and only the poison dead-lettered`, async () => {
    const started = Date.now();
    const base = fs.mkdtempSync(path.join(os.tmpdir(), 'vdxp-fault-'));
    const sender = uniqueOrganId('H41');
    const organId = uniqueOrganId('G22');
    const logPath = path.join(base, 'g22.log');
    const configPath = writeHttpSinkAgencyConfig(base, {
      organId,
      brokers: kafka.brokers,
      sinkUrl: legacy.url,
      delivery: {
        maxInFlight: 32,
        drainTimeoutMs: 10_000,
        breaker: { timeoutMs: 1_000, errorThresholdPercentage: 50, resetTimeoutMs: 2_000, volumeThreshold: 5 },
        retry: { maxAttempts: 10, initialDelayMs: 100, maxDelayMs: 2_000 },
      },
    });
    const clientConfig = commonClientConfig({ brokers: [kafka.brokers] }, 'vdxp-fault-test');
    await ensureTopics(clientConfig, ownTopics(sender), { partitions: 3, replicationFactor: 1 }); // statuses 01/02 have somewhere to go
    receiver = await ReceiverProcess.start(configPath, logPath);
    producer = new BackboneProducer(clientConfig);
    await producer.connect();

    // The documents, their expected idempotency keys, and two bad packages.
    const limits = withDefaults();
    const documents = Array.from({ length: DOCUMENTS }, (_, i) => makeEdoc({ from: sender, to: [organId], number: i + 1, attachmentBytes: 256 }));
    const ids = documents.map((d) => readPackageFacts(d, limits).documentId);
    const expectedKeys = new Set(documents.map((d, i) => idempotencyKey(ids[i]!, sha256Hex(d))));
    const middle = Math.floor(DOCUMENTS / 2);
    let behindPoison = -1; // index of a document sent after the poison on the poison's partition
    const poison = Buffer.from('<edXML:edXML xmlns:edXML="http://www.mic.gov.vn/TBT/QCVN_102_2016"><edXML:edXMLEnvelope><broken');
    const refused = makeEdoc({ from: sender, to: [organId], number: DOCUMENTS + 1 });
    const refusedId = readPackageFacts(refused, limits).documentId;
    legacy.refuse.add(refusedId);

    const sendOne = (value: Buffer, key: string) =>
      producer!.send({ topic: docsTopic(organId), key, value, headers: { [HEADERS.kind]: 'edoc', [HEADERS.fromOrganId]: sender } });
    const sendRange = async (from: number, to: number) => {
      for (let i = from; i < to; i += 100) {
        await Promise.all(documents.slice(i, Math.min(to, i + 100)).map((d, j) => sendOne(d, ids[i + j]!)));
        if (i <= middle && middle < i + 100) {
          // The poison shares its key, hence its partition, with a document of the next batch.
          behindPoison = Math.min(DOCUMENTS - 1, i + 100);
          await sendOne(poison, ids[behindPoison]!);
          await sendOne(refused, refusedId);
        }
      }
    };
    const restart = async (why: string) => {
      const code = await receiver!.kill('SIGKILL');
      assert.equal(code, null, 'killed, not exited');
      kills.push(why);
      receiver = await ReceiverProcess.start(configPath, logPath);
    };
    const kills: string[] = [];
    const fifth = Math.floor(DOCUMENTS / 5);

    // 1. A SIGKILL at a random point while the first fifth (and the poison) is being worked on.
    const wave1 = sendRange(0, fifth);
    await sleep(randomBetween(200, 1_500));
    await restart('during the first wave');
    await wave1;

    // 2. Another SIGKILL at a random point of the second wave.
    await sendRange(fifth, 2 * fifth);
    await waitFor(() => legacy.unique.size >= randomBetween(fifth, 2 * fifth - 50), 120_000, 'progress in the second wave');
    await restart('during the second wave');

    // 3. The legacy system is down for 30 s; the receiver is killed meanwhile, too.
    await legacy.down();
    const outageStarted = Date.now();
    await sendRange(2 * fifth, 3 * fifth);
    await sleep(randomBetween(5_000, 15_000));
    await restart('while the legacy system is down');
    await sleep(Math.max(0, OUTAGE_MS - (Date.now() - outageStarted)));
    await legacy.up();

    // 4. The legacy system answers slower than the sink timeout for a while.
    legacy.delayMs = 1_500;
    await sendRange(3 * fifth, 4 * fifth);
    await sleep(6_000);
    legacy.delayMs = 0;

    // 5. The broker restarts while the receiver still has work; the rest is sent after it is back.
    await kafka.stop();
    await sleep(2_000);
    await kafka.start();
    await sendRange(4 * fifth, DOCUMENTS);

    await waitFor(() => [...expectedKeys].every((k) => legacy.unique.has(k)), 240_000, `all ${DOCUMENTS} documents delivered (have ${legacy.unique.size})`);
    await sleep(3_000); // anything unexpected would show up now

    const reader = new TopicReader(clientConfig);
    await reader.connect();
    const deadLetters = await reader.readAll(deadLetterTopic(organId)).finally(() => reader.disconnect());
    const reasons = deadLetters.map((r) => r.headers[HEADERS.reason]).sort();
    const poisonLetter = deadLetters.find((r) => r.value.equals(poison));
    const log = fs.readFileSync(logPath, 'utf8');
    const longestOpenMs = Math.max(0, ...[...log.matchAll(/"openMs":(\d+)/g)].map((m) => Number(m[1])));
    const figures = {
      sent: DOCUMENTS + 2,
      deliveredUnique: legacy.unique.size,
      rawDeliveries: legacy.deliveries.length,
      deadLettered: deadLetters.length,
      longestBreakerOpenMs: longestOpenMs,
      kills: kills.length,
      seconds: Math.round((Date.now() - started) / 1000),
    };
    process.stdout.write(`      fault suite figures: ${JSON.stringify(figures)}\n`);

    assert.equal(legacy.unique.size, DOCUMENTS, 'distinct idempotency keys = documents sent');
    assert.deepEqual([...legacy.unique].filter((k) => !expectedKeys.has(k)), [], 'nothing delivered that was not sent');
    assert.deepEqual(reasons, ['delivery-rejected', 'malformed-xml'], 'the poison and the refused package, and nothing else, dead-lettered');
    assert.ok(poisonLetter, 'the poison is in the dead-letter topic with its original bytes');
    assert.ok(Number(poisonLetter.headers[HEADERS.attempts]) >= 1 && poisonLetter.headers[HEADERS.firstFailure], 'with its history');
    assert.ok(legacy.unique.has([...expectedKeys][behindPoison]!), 'the document behind the poison on its partition was delivered: not blocked');
    assert.ok(kills.length >= 3, 'the receiver was SIGKILLed several times');
    assert.ok(longestOpenMs >= 10_000, `a breaker stayed open through the outage (${longestOpenMs} ms)`);
    assert.ok(legacy.deliveries.length >= DOCUMENTS, 'raw deliveries include the redeliveries');
  });
});
