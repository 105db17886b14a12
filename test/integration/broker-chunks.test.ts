/**
 * Rule 6 against real Kafka: a 30 MB package crosses in chunks on one partition, interleaved with
 * small records of other keys, and is reassembled whole by a receiving process whose memory does
 * not grow with the package; a receiver killed half-way through a package leaves chunk 0
 * uncommitted, so the next one in the group reassembles it from chunk 0.
 */
import { strict as assert } from 'node:assert';
import { fork, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { TEST_BROKERS, waitFor } from '../support/agency';
import type { ReceiverReport, ReceiverSpec } from '../support/chunk-receiver';
import { ensureTopics } from '../../src/broker/admin';
import { CHUNK_BYTES, sendChunked } from '../../src/broker/chunks';
import { commonClientConfig } from '../../src/broker/client-config';
import { BackboneProducer, type OutgoingRecord } from '../../src/broker/producer';
import { HEADERS } from '../../src/broker/topics';

/** 30 MB; VDXP_TEST_CHUNKS_PACKAGE_MB lets one compare the receiver's memory for other sizes. */
const PACKAGE_BYTES = Number(process.env.VDXP_TEST_CHUNKS_PACKAGE_MB ?? 30) * 1024 * 1024;
/**
 * Peak RSS growth allowed to the receiver. What it holds by design (librdkafka's 16 MB prefetch
 * queue, 16 chunk records in flight) measured 34-46 MB here; the 30 MB package held in memory
 * twice, on top of that, would exceed this bound.
 */
const MAX_RSS_GROWTH = 75 * 1024 * 1024;

class Receiver {
  readonly reports: ReceiverReport[] = [];
  readonly exited: Promise<void>;
  private constructor(readonly child: ChildProcess) {
    child.on('message', (m) => this.reports.push(m as ReceiverReport));
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
  }

  static async start(spec: ReceiverSpec): Promise<Receiver> {
    const script = path.join(__dirname, '..', 'support', 'chunk-receiver.js');
    const child = fork(script, [], { env: { ...process.env, VDXP_CHUNK_RECEIVER: JSON.stringify(spec) }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const r = new Receiver(child);
    await waitFor(() => r.of('ready').length > 0, 30_000, 'the receiver to connect', () => child.exitCode !== null);
    return r;
  }

  of<T extends ReceiverReport['type']>(type: T): Array<Extract<ReceiverReport, { type: T }>> {
    return this.reports.filter((m): m is Extract<ReceiverReport, { type: T }> => m.type === type);
  }

  async stop(): Promise<Extract<ReceiverReport, { type: 'stopped' }>> {
    this.child.send('stop');
    await waitFor(() => this.of('stopped').length > 0, 30_000, 'the receiver to stop');
    await this.exited;
    return this.of('stopped')[0]!;
  }

  kill(): Promise<void> {
    this.child.kill('SIGKILL');
    return this.exited;
  }
}

/** A random file written and hashed 1 MB at a time, never whole in this process's memory. */
function randomPackage(dir: string, name: string): { path: string; length: number; sha256: string } {
  const file = path.join(dir, name);
  const hash = createHash('sha256');
  const fd = fs.openSync(file, 'w');
  for (let written = 0; written < PACKAGE_BYTES; written += 1024 * 1024) {
    const piece = randomBytes(Math.min(1024 * 1024, PACKAGE_BYTES - written));
    hash.update(piece);
    fs.writeSync(fd, piece);
  }
  fs.closeSync(fd);
  return { path: file, length: PACKAGE_BYTES, sha256: hash.digest('hex') };
}

const packageHeaders = (key: string, sha256: string) => ({
  [HEADERS.kind]: 'edoc',
  [HEADERS.documentId]: key,
  [HEADERS.fromOrganId]: '000.00.00.H41',
  [HEADERS.contentSha256]: sha256,
  [HEADERS.trace]: 'test',
});

describe('chunked packages over real Kafka: same partition, reassembled with bounded memory', function () {
  this.timeout(240_000);
  const config = commonClientConfig({ brokers: [TEST_BROKERS] }, 'vdxp-test-chunks');
  const run = `${process.pid}-${Date.now()}`;
  let dir: string;
  let producer: BackboneProducer;
  const receivers: Receiver[] = [];

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vdxp-chunks-it-'));
    producer = new BackboneProducer(config);
    await producer.connect();
  });
  after(async () => {
    for (const r of receivers) if (r.child.exitCode === null && r.child.signalCode === null) await r.kill();
    await producer.disconnect();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function topicFor(name: string): Promise<string> {
    const topic = `vdxp.test.chunks.${name}.${run}`;
    await ensureTopics(config, [topic], { partitions: 3, replicationFactor: 1 });
    return topic;
  }

  async function startReceiver(spec: Omit<ReceiverSpec, 'brokers' | 'maxInFlight'>): Promise<Receiver> {
    const r = await Receiver.start({ brokers: TEST_BROKERS, maxInFlight: 16, ...spec });
    receivers.push(r);
    return r;
  }

  it('moves a 30 MB package interleaved with small records of other keys and reassembles it byte for byte', async () => {
    const topic = await topicFor('whole');
    const file = randomPackage(dir, 'big-1.edxml');
    // After each chunk, a small record with a fresh key: those that hash to the package's partition
    // land between its chunks.
    const smalls: Array<Promise<unknown>> = [];
    const interleaving = {
      send(record: OutgoingRecord) {
        const acked = producer.send(record);
        const i = smalls.length;
        smalls.push(producer.send({ topic, key: `small-${i}`, value: Buffer.from(`small ${i}`), headers: { [HEADERS.kind]: 'status' } }));
        return acked;
      },
    };
    await sendChunked(interleaving, { topic, key: 'big-1', headers: packageHeaders('big-1', file.sha256) }, file);
    await Promise.all(smalls);
    const chunks = Math.ceil(PACKAGE_BYTES / CHUNK_BYTES);
    assert.equal(smalls.length, chunks);

    const receiver = await startReceiver({ topic, groupId: `vdxp.test.chunks.whole.${run}`, spoolDir: path.join(dir, 'spool-whole') });
    await waitFor(() => receiver.of('package').length === 1 && receiver.of('record').length === chunks, 120_000, () => `the package and ${chunks} small records (${receiver.reports.length} reports)`);
    const stopped = await receiver.stop();

    const [pkg] = receiver.of('package');
    assert.equal(pkg!.length, PACKAGE_BYTES);
    assert.equal(pkg!.sha256, file.sha256, 'the reassembled file is the package');
    assert.equal(pkg!.headers[HEADERS.chunk], undefined);
    assert.equal(pkg!.headers[HEADERS.documentId], 'big-1');
    const packageChunks = receiver.of('chunk-called').filter((c) => c.key === 'big-1');
    assert.equal(packageChunks.length, chunks);
    assert.equal(new Set(packageChunks.map((c) => c.partition)).size, 1, 'every chunk on one partition');
    const [low, high] = [Math.min(...packageChunks.map((c) => c.offset)), Math.max(...packageChunks.map((c) => c.offset))];
    const between = receiver.of('record').filter((r) => r.partition === pkg!.partition && r.offset > low && r.offset < high);
    assert.ok(between.length > 0, 'small records of other keys sat between the chunks on their partition');
    assert.deepEqual(receiver.of('record').map((r) => r.value).sort(), smalls.map((_, i) => `small ${i}`).sort());
    assert.deepEqual(receiver.of('broken'), []);
    assert.deepEqual(stopped.spoolFilesLeft, []);

    const growth = stopped.peakRss - stopped.baselineRss;
    console.log(
      `      receiver RSS: baseline ${mb(stopped.baselineRss)} MB, peak ${mb(stopped.peakRss)} MB, growth ${mb(growth)} MB for a ${mb(PACKAGE_BYTES)} MB package (${between.length} small records between its chunks)`,
    );
    assert.ok(growth < MAX_RSS_GROWTH, `peak RSS grew by ${mb(growth)} MB, limit ${mb(MAX_RSS_GROWTH)} MB`);
  });

  it('reassembles from chunk 0 after a receiver is killed half-way through a package', async () => {
    const topic = await topicFor('crash');
    const file = randomPackage(dir, 'big-2.edxml');
    await sendChunked(producer, { topic, key: 'big-2', headers: packageHeaders('big-2', file.sha256) }, file);
    const chunks = Math.ceil(PACKAGE_BYTES / CHUNK_BYTES);
    const half = Math.floor(chunks / 2);
    const groupId = `vdxp.test.chunks.crash.${run}`;

    const first = await startReceiver({ topic, groupId, spoolDir: path.join(dir, 'spool-crash-1'), gateKey: 'big-2', gateAt: half });
    const handled = () => first.of('chunk-done').filter((c) => c.index > 0).length;
    await waitFor(() => handled() === half - 1, 60_000, () => `chunks 1..${half - 1} handled (${handled()})`);
    await first.kill();
    assert.equal(first.of('package').length, 0, 'killed before the package was complete');

    const second = await startReceiver({ topic, groupId, spoolDir: path.join(dir, 'spool-crash-2') });
    await waitFor(() => second.of('package').length === 1, 60_000, () => `the package through the second receiver (chunks it saw: ${second.of('chunk-called').map((c) => c.index).join(',')}; refused: ${JSON.stringify(second.of('broken'))})`);
    const stopped = await second.stop();
    const seen = second.of('chunk-called');
    assert.equal(seen[0]?.index, 0, 'the group resumed at chunk 0: nothing past it had been committed');
    assert.equal(seen.filter((c) => c.index === 0).length, 1);
    assert.equal(second.of('package')[0]!.sha256, file.sha256, 'the package arrived whole');
    assert.deepEqual(second.of('broken'), []);
    assert.deepEqual(stopped.spoolFilesLeft, []);
  });
});

function mb(bytes: number): string {
  return (bytes / (1024 * 1024)).toFixed(1);
}
