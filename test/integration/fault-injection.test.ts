/**
 * Issue 6, item 9: the delivery promise under faults, against a real Kafka broker and a real
 * RabbitMQ node of the suite's own (so it can restart them) and an HTTP legacy system. The
 * receiver has two sinks: HTTP first, then AMQP publishing to a durable queue. Moves 2,000
 * documents while it SIGKILLs the receiving connector at random points, takes the HTTP legacy
 * system down for at least 30 s, stops RabbitMQ for 20 s (in another wave, so each outage is
 * attributable to its sink's breaker), makes the HTTP legacy system slower than the sink timeout,
 * restarts the Kafka broker, and puts a poison package and a package the HTTP legacy system
 * refuses in the middle. Then: every document delivered to both sinks, distinct idempotency keys
 * = documents sent on each, the two bad packages dead-lettered and nothing else (neither reaches
 * the queue), the poison's partition not blocked. FAULT_DOCUMENTS raises the count for a longer
 * soak run.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as amqp from 'amqplib';
import { uniqueOrganId, waitFor, writeHttpSinkAgencyConfig } from '../support/agency';
import { makeEdoc } from '../support/packages';
import { FaultLegacyServer } from '../support/fault-legacy-server';
import { PrivateKafka, PrivateRabbitMq, ReceiverProcess } from '../support/fault-process';
import { amqpConnectionOptions } from '../support/vendor-amqp';
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
const RABBITMQ_OUTAGE_MS = 20_000;
const EXCHANGE = 'vdxp-fault.documents';
const QUEUE = 'vdxp-fault.g22';
const ROUTING_KEY = 'edoc';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const randomBetween = (lo: number, hi: number) => lo + Math.floor(Math.random() * (hi - lo));

/** The breakers' closings in the receiver's log lines: how long each sink's breaker had been open. */
function breakerClosings(log: string): Array<{ sink: string; openMs: number }> {
  const closings: Array<{ sink: string; openMs: number }> = [];
  for (const line of log.split('\n')) {
    if (!line.includes('"step":"breaker"')) continue;
    let entry: { sink: string; state: string; openMs?: number };
    try {
      entry = JSON.parse(line) as typeof entry;
    } catch {
      continue; // a line cut short by a SIGKILL
    }
    if (entry.state === 'closed') closings.push({ sink: entry.sink, openMs: entry.openMs ?? 0 });
  }
  return closings;
}
const longestOpen = (log: string, sink: string) => Math.max(0, ...breakerClosings(log).filter((c) => c.sink === sink).map((c) => c.openMs));

describe('fault injection: nothing lost under kills, a broker restart, sink outages, a slow sink and poison', function () {
  this.timeout(10 * 60_000);
  // Below Linux's ephemeral range (32768–60999), so no client socket of the suite can hold the port.
  const runDir = path.join(os.tmpdir(), 'vdxp-fault');
  const kafka = new PrivateKafka(19192, 19193, runDir);
  const rabbit = new PrivateRabbitMq('rabbit-fault@localhost', 5682, path.join(runDir, 'rabbitmq-5682'));
  const legacy = new FaultLegacyServer();
  let producer: BackboneProducer | undefined;
  let receiver: ReceiverProcess | undefined;
  let queueReader: amqp.ChannelModel | undefined;

  before(async () => {
    await Promise.all([kafka.reset().then(() => kafka.start()), rabbit.reset().then(() => rabbit.start())]);
    await legacy.up();
    // The AMQP legacy system's side: durable, so the binding and the messages outlive a restart.
    const vendor = await amqp.connect(rabbit.url);
    const channel = await vendor.createChannel();
    await channel.assertExchange(EXCHANGE, 'direct', { durable: true });
    await channel.assertQueue(QUEUE, { durable: true });
    await channel.bindQueue(QUEUE, EXCHANGE, ROUTING_KEY);
    await vendor.close();
  });
  after(async () => {
    await receiver?.kill('SIGKILL');
    await producer?.disconnect();
    await queueReader?.close().catch(() => undefined);
    await legacy.down();
    await Promise.all([kafka.stop(), rabbit.stop()]);
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
      // After the HTTP sink: a package the HTTP legacy system refuses never reaches the queue.
      amqpSink: { ...amqpConnectionOptions(base, rabbit.url), exchange: EXCHANGE, routingKey: ROUTING_KEY },
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
    const keys = documents.map((d, i) => idempotencyKey(ids[i]!, sha256Hex(d)));
    const expectedKeys = new Set(keys);
    const documentIdOfKey = new Map(keys.map((k, i) => [k, ids[i]!]));
    const middle = Math.floor(DOCUMENTS / 2);
    let behindPoison = -1; // index of a document sent after the poison on the poison's partition
    let poisonSent = false;
    const poison = Buffer.from('<edXML:edXML xmlns:edXML="http://www.mic.gov.vn/TBT/QCVN_102_2016"><edXML:edXMLEnvelope><broken');
    const refused = makeEdoc({ from: sender, to: [organId], number: DOCUMENTS + 1 });
    const refusedId = readPackageFacts(refused, limits).documentId;
    legacy.refuse.add(refusedId);

    const sendOne = (value: Buffer, key: string) =>
      producer!.send({ topic: docsTopic(organId), key, value, headers: { [HEADERS.kind]: 'edoc', [HEADERS.fromOrganId]: sender } });
    const sendRange = async (from: number, to: number) => {
      for (let i = from; i < to; i += 100) {
        await Promise.all(documents.slice(i, Math.min(to, i + 100)).map((d, j) => sendOne(d, ids[i + j]!)));
        if (!poisonSent && i <= middle && middle < i + 100) {
          poisonSent = true;
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
    const wave = (n: number) => Math.floor((DOCUMENTS * n) / 6); // where wave n+1 starts

    // 1. A SIGKILL at a random point while the first wave is being worked on.
    const wave1 = sendRange(0, wave(1));
    await sleep(randomBetween(200, 1_500));
    await restart('during the first wave');
    await wave1;

    // 2. Another SIGKILL at a random point of the second wave.
    await sendRange(wave(1), wave(2));
    await waitFor(() => legacy.unique.size >= randomBetween(wave(1), wave(2) - 50), 120_000, 'progress in the second wave');
    await restart('during the second wave');

    // 3. The HTTP legacy system is down for at least 30 s; the receiver is killed meanwhile, too.
    await legacy.down();
    const outageStarted = Date.now();
    await sendRange(wave(2), wave(3));
    await sleep(randomBetween(5_000, 15_000));
    await restart('while the legacy system is down');
    // A receiver started after a SIGKILL gets its partitions only once the group has dropped the
    // killed member (session timeout, 10 s), so after a late kill it would see just a few seconds
    // of the outage: the legacy system stays down for at least 13 s more, for its breaker to sit through.
    await sleep(Math.max(OUTAGE_MS - (Date.now() - outageStarted), 13_000));
    await legacy.up();
    const httpOutageMs = Date.now() - outageStarted;
    await waitFor(() => legacy.unique.size >= wave(3), 120_000, 'the HTTP backlog worked off');

    // 4. RabbitMQ is down for 20 s while documents keep coming. The receiver is not killed here: the
    // AMQP sink gives up starting against an unreachable broker after ~6 s (initialMaxRetries), so
    // a receiver started now would exit.
    const rabbitStopping = Date.now();
    await rabbit.stop();
    const rabbitDown = Date.now();
    await sendRange(wave(3), wave(4));
    await sleep(Math.max(0, RABBITMQ_OUTAGE_MS - (Date.now() - rabbitDown)));
    await rabbit.start();
    const rabbitMqOutageMs = Date.now() - rabbitStopping;
    await waitFor(() => longestOpen(receiver!.ownLog(), 'legacy-amqp') > 0, 60_000, "the AMQP sink's breaker to open and close again");

    // 5. The HTTP legacy system answers slower than the sink timeout for a while.
    legacy.delayMs = 1_500;
    await sendRange(wave(4), wave(5));
    await sleep(6_000);
    legacy.delayMs = 0;

    // 6. The Kafka broker restarts while the receiver still has work; the rest is sent after it is back.
    await kafka.stop();
    await sleep(2_000);
    await kafka.start();
    await sendRange(wave(5), DOCUMENTS);

    await waitFor(() => [...expectedKeys].every((k) => legacy.unique.has(k)), 240_000, () => `all ${DOCUMENTS} documents delivered over HTTP (have ${legacy.unique.size})`);

    // The AMQP legacy system drains its queue: every message, redeliveries included.
    const queued: Array<{ key: string; messageId: unknown; persistent: boolean }> = [];
    const queuedUnique = new Set<string>();
    queueReader = await amqp.connect(rabbit.url);
    const queueChannel = await queueReader.createChannel();
    await queueChannel.prefetch(500);
    const { consumerTag } = await queueChannel.consume(QUEUE, (m) => {
      if (!m) return;
      const key = String(m.properties.headers?.['Idempotency-Key'] ?? '');
      queued.push({ key, messageId: m.properties.messageId, persistent: m.properties.deliveryMode === 2 });
      queuedUnique.add(key);
      queueChannel.ack(m);
    });
    await waitFor(() => [...expectedKeys].every((k) => queuedUnique.has(k)), 120_000, () => `all ${DOCUMENTS} documents on the queue (have ${queuedUnique.size})`);
    await sleep(3_000); // anything unexpected would show up now
    await queueChannel.cancel(consumerTag);
    const leftOnQueue = (await queueChannel.checkQueue(QUEUE)).messageCount;
    await queueReader.close();
    queueReader = undefined;

    const reader = new TopicReader(clientConfig);
    await reader.connect();
    const deadLetters = await reader.readAll(deadLetterTopic(organId)).finally(() => reader.disconnect());
    const reasons = deadLetters.map((r) => r.headers[HEADERS.reason]).sort();
    const poisonLetter = deadLetters.find((r) => r.value.equals(poison));
    const log = fs.readFileSync(logPath, 'utf8');
    const longestOpenMs = longestOpen(log, 'legacy-http');
    const amqpOpenMs = longestOpen(log, 'legacy-amqp');
    const figures = {
      sent: DOCUMENTS + 2,
      deliveredUnique: legacy.unique.size,
      rawDeliveries: legacy.deliveries.length,
      amqpUnique: queuedUnique.size,
      amqpRaw: queued.length,
      deadLettered: deadLetters.length,
      httpOutageMs,
      longestBreakerOpenMs: longestOpenMs,
      amqpBreakerOpenMs: amqpOpenMs,
      rabbitMqOutageMs,
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

    assert.equal(queuedUnique.size, DOCUMENTS, 'distinct idempotency keys on the queue = documents sent');
    assert.deepEqual([...queuedUnique].filter((k) => !expectedKeys.has(k)), [], 'nothing on the queue that was not sent: not the poison, not the refused package');
    assert.deepEqual(
      queued.filter((q) => q.messageId !== documentIdOfKey.get(q.key) || !q.persistent),
      [],
      'every message on the queue is persistent and its messageId is its DocumentId',
    );
    assert.equal(leftOnQueue, 0, 'the queue was drained');
    assert.ok(amqpOpenMs >= 10_000, `the AMQP sink's breaker stayed open through the RabbitMQ outage (${amqpOpenMs} ms)`);
  });
});
