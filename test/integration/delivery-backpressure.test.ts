/**
 * Issue 6, item 7 against real Kafka: a backlog far above what the legacy system can take is
 * worked off with at most delivery.maxInFlight deliveries at a time (the poll loop waits for a
 * slot instead of queueing more), at the sink's own pace, and the slow sink causes no rebalance.
 * Peak RSS is printed as a figure.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { TEST_BROKERS, uniqueOrganId, waitFor, writeHttpSinkAgencyConfig } from '../support/agency';
import { makeEdoc } from '../support/packages';
import { FaultLegacyServer } from '../support/fault-legacy-server';
import { ReceiverProcess } from '../support/fault-process';
import { BackboneProducer } from '../../src/broker/producer';
import { commonClientConfig } from '../../src/broker/client-config';
import { docsTopic, HEADERS } from '../../src/broker/topics';

const MAX_IN_FLIGHT = 8;
const DOCUMENTS = 600;
const ATTACHMENT_BYTES = 200_000;

/** Peak resident memory of a process so far (Linux VmHWM), in MB. */
function peakRssMb(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

describe('backpressure: a backlog beyond the sink’s rate', function () {
  this.timeout(180_000);
  const legacy = new FaultLegacyServer();
  let receiver: ReceiverProcess | undefined;
  let producer: BackboneProducer;

  before(async () => {
    await legacy.up();
    producer = new BackboneProducer(commonClientConfig({ brokers: [TEST_BROKERS] }, 'vdxp-test-backpressure'));
    await producer.connect();
  });
  after(async () => {
    await receiver?.kill('SIGKILL');
    await producer.disconnect();
    await legacy.down();
  });

  it(`keeps at most ${MAX_IN_FLIGHT} deliveries in flight at the sink's own pace, with no rebalance`, async () => {
    const base = fs.mkdtempSync(path.join(os.tmpdir(), 'vdxp-backpressure-'));
    const organId = uniqueOrganId('G22');
    const configPath = writeHttpSinkAgencyConfig(base, {
      organId,
      brokers: TEST_BROKERS,
      sinkUrl: legacy.url,
      delivery: { maxInFlight: MAX_IN_FLIGHT, breaker: { timeoutMs: 5_000 } },
    });
    // Built before anything runs: this process also plays the legacy system and must stay responsive.
    const documents = Array.from({ length: DOCUMENTS }, (_, i) => makeEdoc({ from: '000.00.00.H41', to: [organId], number: i + 1, attachmentBytes: ATTACHMENT_BYTES }));
    receiver = await ReceiverProcess.start(configPath, path.join(base, 'g22.log'));
    const rssAtStart = peakRssMb(receiver.child.pid!);

    // The sink takes ~80 documents/s (8 at a time, 100 ms each); the backlog arrives all at once,
    // 600 × 200 KB = 120 MB — far more than twice the sustainable rate.
    legacy.delayMs = 100;
    await Promise.all(documents.map((doc, i) => producer.send({ topic: docsTopic(organId), key: `doc-${i}`, value: doc, headers: { [HEADERS.kind]: 'edoc' } })));
    const started = Date.now();
    let peak = 0;
    await waitFor(
      () => {
        peak = Math.max(peak, peakRssMb(receiver!.child.pid!));
        return legacy.unique.size >= DOCUMENTS;
      },
      120_000,
      `all ${DOCUMENTS} delivered (have ${legacy.unique.size})`,
    );
    const log = receiver.ownLog();
    const seconds = (Date.now() - started) / 1000;
    process.stdout.write(`      backpressure: ${DOCUMENTS} in ${seconds.toFixed(1)} s, peak RSS ${peak.toFixed(0)} MB (at start ${rssAtStart.toFixed(0)} MB), max concurrent deliveries ${legacy.maxConcurrent}\n`);
    assert.ok(legacy.maxConcurrent <= MAX_IN_FLIGHT, `at most ${MAX_IN_FLIGHT} deliveries at once, saw ${legacy.maxConcurrent}`);
    assert.ok(legacy.maxConcurrent >= MAX_IN_FLIGHT - 1, `the sink was kept busy (${legacy.maxConcurrent} at once)`);
    assert.ok(seconds < 3 * (DOCUMENTS / (MAX_IN_FLIGHT * 10)) + 10, `close to the sink's own rate: ${seconds.toFixed(1)} s`);
    assert.doesNotMatch(log, /partitions revoked/, 'no rebalance while the sink was slow');
  });
});
