/**
 * A receiving process for test/integration/broker-chunks.test.ts: a BackboneConsumer with a
 * ChunkAssembler, in its own process so that its memory is measured alone and it can be killed.
 * It reports over IPC what its handlers saw, and its peak RSS growth when told to stop.
 * With `gateKey`, chunks of that key from index `gateAt` on never finish (a stuck disk), so the
 * test can kill it part-way through a package.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import * as fs from 'node:fs';
import { ChunkAssembler } from '../../src/broker/chunks';
import { commonClientConfig } from '../../src/broker/client-config';
import { BackboneConsumer } from '../../src/broker/consumer';
import { HEADERS } from '../../src/broker/topics';

export interface ReceiverSpec {
  brokers: string;
  topic: string;
  groupId: string;
  spoolDir: string;
  maxInFlight: number;
  gateKey?: string;
  gateAt?: number;
}

export type ReceiverReport =
  | { type: 'ready' }
  | { type: 'chunk-called'; key: string; index: number; partition: number; offset: number }
  | { type: 'chunk-done'; key: string; index: number; partition: number; offset: number }
  | { type: 'package'; key: string; partition: number; offset: number; length: number; sha256: string; headers: Record<string, string> }
  | { type: 'record'; key: string; partition: number; offset: number; value: string }
  | { type: 'broken'; key: string; reason: string; detail: string }
  | { type: 'stopped'; baselineRss: number; peakRss: number; spoolFilesLeft: string[] };

const spec = JSON.parse(process.env.VDXP_CHUNK_RECEIVER ?? '{}') as ReceiverSpec;
const report = (m: ReceiverReport): void => void process.send!(m);

function sha256OfFile(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(path)
      .on('data', (b) => hash.update(b))
      .on('error', reject)
      .on('end', () => resolve(hash.digest('hex')));
  });
}

async function main(): Promise<void> {
  const assembler = new ChunkAssembler({
    spoolDir: spec.spoolDir,
    maxPackageBytes: 256 * 1024 * 1024,
    onBroken: async (first, rejection) => report({ type: 'broken', key: first.key ?? '', reason: rejection.reason, detail: rejection.detail }),
  });
  const consumer = new BackboneConsumer(commonClientConfig({ brokers: [spec.brokers] }, 'vdxp-test-chunk-receiver'), {
    groupId: spec.groupId,
    topics: [spec.topic],
    maxInFlight: spec.maxInFlight,
    onRebalance: (event, partitions) => event === 'revoked' && assembler.revoked(partitions),
  });
  await consumer.connect();
  const baselineRss = process.memoryUsage.rss();
  let peakRss = baselineRss;
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage.rss())), 20);

  const handle = assembler.wrap(async (pkg) => {
    const where = { key: pkg.key ?? '', partition: pkg.partition, offset: pkg.offset };
    if (!pkg.bodyFile) return report({ type: 'record', ...where, value: pkg.value.toString('utf8') });
    report({ type: 'package', ...where, length: pkg.bodyFile.length, sha256: await sha256OfFile(pkg.bodyFile.path), headers: pkg.headers });
  });
  consumer.start(async (record, signal, control) => {
    const chunk = record.headers[HEADERS.chunk];
    if (chunk === undefined) return handle(record, signal, control);
    const where = { key: record.key ?? '', index: Number(chunk.split('/')[0]), partition: record.partition, offset: record.offset };
    report({ type: 'chunk-called', ...where });
    if (where.key === spec.gateKey && where.index >= (spec.gateAt ?? Infinity)) {
      await new Promise((_, reject) => signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true }));
    }
    await handle(record, signal, control);
    report({ type: 'chunk-done', ...where });
  });
  report({ type: 'ready' });

  process.on('message', async (message) => {
    if (message !== 'stop') return;
    clearInterval(sampler);
    await consumer.stop(2_000);
    await assembler.close();
    const spoolFilesLeft = fs.existsSync(spec.spoolDir) ? fs.readdirSync(spec.spoolDir) : [];
    report({ type: 'stopped', baselineRss, peakRss, spoolFilesLeft });
    process.disconnect();
  });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
