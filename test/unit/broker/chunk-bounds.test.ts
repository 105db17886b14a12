import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { HEADERS } from '../../../src/broker/topics';
import { ScratchBudget, scratchWriteRejection } from '../../../src/broker/scratch-budget';
import { BudgetExhausted } from '../../../src/broker/record-budget';
import { BackboneUnavailable } from '../../../src/broker/producer';
import { chunkRecords, harness, pause, removeTempDirs, settled, tempDir, until, TOPIC } from './chunk-fixtures';
import type { IncomingRecord } from '../../../src/broker/consumer';

const from = (sender: string) => ({ [HEADERS.fromOrganId]: sender });

/** A chunk 0 of a package that never completes: what a hostile partner writes. */
function danglingChunkZero(offset: number, sender = '000.00.00.X99', headers: Record<string, string> = {}): IncomingRecord {
  return {
    topic: TOPIC,
    partition: 0,
    offset,
    key: `dangling-${offset}`,
    value: Buffer.from('7 bytes'),
    headers: { [HEADERS.chunk]: '0/2', [HEADERS.packageBytes]: '14', [HEADERS.contentSha256]: 'a'.repeat(64), [HEADERS.fromOrganId]: sender, ...headers },
    timestamp: Date.now(),
  };
}

describe('ChunkAssembler: what a partner cannot make an open package hold', () => {
  after(removeTempDirs);

  it('parks chunk 0 while its chunks are awaited (no in-flight slot held) and unparks it once the package is whole', async () => {
    const h = harness();
    let release!: () => void;
    h.afterDelivery = () => new Promise<void>((r) => (release = r));
    const { records } = await chunkRecords();
    const first = h.dispatch(records.slice(0, 3));
    await settled(first.slice(1));
    assert.deepEqual([...h.parked], [0], 'chunk 0 gave its slot back while waiting');
    h.dispatch(records.slice(3));
    await until(() => h.delivered.length === 1, 'the package handler called');
    assert.deepEqual([...h.parked], [], 'delivering the whole package is work like any record: it takes a slot again');
    release();
    await first[0]!.promise;
  });

  it('takes chunk 1 in order even when the consumer starts it from inside chunk 0’s park (a slot freed synchronously)', async () => {
    const h = harness();
    const { bytes, records } = await chunkRecords();
    const calls: Array<Promise<void>> = [];
    const handle = h.assembler.wrap(async (pkg) => void h.delivered.push({ pkg, bytes: fs.readFileSync(pkg.bodyFile!.path) }));
    // What a consumer does whose slot release starts the next waiting record at once.
    const startNext = (i: number): void => {
      if (i >= records.length) return;
      calls.push(handle(records[i]!, h.controller.signal, { park: () => startNext(i + 1), unpark: () => undefined }));
      if (i > 0) startNext(i + 1);
    };
    startNext(0);
    await Promise.all(calls);
    assert.equal(h.delivered.length, 1);
    assert.ok(h.delivered[0]!.bytes.equals(bytes));
  });

  it('opens at most maxOpenPackages at once: the next chunk 0 is refused at once and its chunks are dropped quietly', async () => {
    const h = harness({ maxOpenPackages: 2 });
    const a = await chunkRecords({ key: 'a', headers: from('S1') });
    const b = await chunkRecords({ key: 'b', headers: from('S2'), firstOffset: 100 });
    const c = await chunkRecords({ key: 'c', headers: from('S3'), firstOffset: 200 });
    const open = h.dispatch([a.records[0]!, b.records[0]!]);
    const third = h.dispatch(c.records);
    await settled(third);
    assert.deepEqual(third.map((t) => t.state), third.map(() => 'resolved'), 'refused and dead-lettered: finished, so the partition moves on');
    assert.deepEqual(h.broken.map((x) => [x.first.key, x.rejection.reason, x.rejection.limit]), [['c', 'limit-exceeded', 'limits.maxOpenPackages']]);
    assert.equal(h.logs.filter((l) => /fits no assembly/.test(l.message)).length, 0, 'its other chunks are dropped without a word');
    assert.deepEqual(h.assembler.openPackages(), { packages: 2, senders: 2 });
    // One of the open packages completes: a new one may open again.
    const rest = h.dispatch(a.records.slice(1));
    await open[0]!.promise;
    await settled(rest);
    const again = await chunkRecords({ key: 'c', headers: from('S3'), firstOffset: 300 });
    const calls = h.dispatch(again.records);
    await calls[0]!.promise;
    assert.deepEqual(h.delivered.map((d) => d.pkg.key).sort(), ['a', 'c']);
    await h.assembler.close();
  });

  it('opens at most maxOpenPackagesPerSender of one sender, while another sender still gets in', async () => {
    const h = harness({ maxOpenPackagesPerSender: 2 });
    const calls = h.dispatch([0, 1, 2].map((i) => danglingChunkZero(i)));
    await settled([calls[2]!]);
    assert.deepEqual(h.broken.map((x) => [x.first.offset, x.rejection.limit]), [[2, 'limits.maxOpenPackagesPerSender']]);
    const other = await chunkRecords({ key: 'good', headers: from('000.00.00.H41'), firstOffset: 50 });
    const good = h.dispatch(other.records);
    await good[0]!.promise;
    assert.deepEqual(h.delivered.map((d) => d.pkg.key), ['good']);
    await h.assembler.close();
  });

  it('refuses absurd counts at chunk 0: a count that does not match the declared length, or more than maxChunksPerPackage', async () => {
    const h = harness({ maxChunksPerPackage: 100 });
    const mismatched = danglingChunkZero(0, 'X', { [HEADERS.chunk]: '0/50' });
    const absurd = danglingChunkZero(1, 'X', { [HEADERS.chunk]: '0/999999999' });
    const tooMany = (await chunkRecords({ key: 'many', bytes: Buffer.alloc(4096 * 101, 1), firstOffset: 10 })).records[0]!;
    const calls = h.dispatch([mismatched, absurd, tooMany]);
    await settled(calls);
    assert.deepEqual(
      h.broken.map((x) => [x.first.offset, x.rejection.reason, x.rejection.limit]),
      [
        [0, 'invalid-chunks', undefined],
        [1, 'limit-exceeded', 'limits.maxChunksPerPackage'],
        [10, 'limit-exceeded', 'limits.maxChunksPerPackage'],
      ],
    );
    assert.match(h.broken[0]!.rejection.detail, /make 2 chunks, not the 50 declared/);
    assert.deepEqual(h.parked.size, 0);
    assert.deepEqual(h.spoolFiles(), [], 'nothing written for either');
  });

  it('refuses a 0-byte chunk 0, and a 0-byte (or otherwise mis-sized) chunk in the middle', async () => {
    const h = harness();
    const empty = danglingChunkZero(0, 'X');
    empty.value = Buffer.alloc(0);
    const { records } = await chunkRecords({ firstOffset: 10 });
    records[3] = { ...records[3]!, value: Buffer.alloc(0) };
    const calls = h.dispatch([empty, ...records]);
    await settled(calls);
    assert.deepEqual(h.broken.map((x) => [x.first.offset, x.rejection.reason]), [
      [0, 'invalid-chunks'],
      [10, 'invalid-chunks'],
    ]);
    assert.match(h.broken[1]!.rejection.detail, /chunk 3 of \d+ has 0 bytes, not 4096/);
    assert.equal(h.delivered.length, 0);
    await until(() => h.spoolFiles().length === 0, 'the spool file deleted');
  });

  it('reserves the declared length in the scratch budget before writing: refused over the total, over a sender’s share, or beyond the free disk space', async () => {
    let free = 1_000_000;
    const dir = path.join(tempDir('vdxp-scratch-'), 'spool');
    const scratch = new ScratchBudget({ dir, maxBytes: 150_000, maxBytesPerSender: 100_000, freeBytes: () => free });
    const h = harness({ spoolDir: dir, scratch });
    const a = await chunkRecords({ key: 'a', bytes: Buffer.alloc(60_000, 1), headers: from('S1') });
    const b = await chunkRecords({ key: 'b', bytes: Buffer.alloc(60_000, 2), headers: from('S1'), firstOffset: 100 });
    const c = await chunkRecords({ key: 'c', bytes: Buffer.alloc(60_000, 3), headers: from('S2'), firstOffset: 200 });
    const d = await chunkRecords({ key: 'd', bytes: Buffer.alloc(60_000, 4), headers: from('S3'), firstOffset: 300 });
    const calls = h.dispatch([a.records[0]!, b.records[0]!, c.records[0]!, d.records[0]!]);
    await settled(calls.slice(1, 2));
    await settled(calls.slice(3));
    assert.deepEqual(h.broken.map((x) => [x.first.key, x.rejection.reason, x.rejection.limit]), [
      ['b', 'limit-exceeded', 'limits.maxScratchBytesPerSender'],
      ['d', 'limit-exceeded', 'limits.maxScratchBytes'],
    ]);
    assert.equal(scratch.snapshot().reservedBytes, 120_000);
    // The disk is smaller than the budget: what is promised to open packages is not free.
    await h.assembler.close();
    free = 150_000;
    const budget2 = new ScratchBudget({ dir, maxBytes: 1_000_000, maxBytesPerSender: 1_000_000, freeBytes: () => free });
    budget2.reserve('S1', 100_000);
    assert.throws(() => budget2.reserve('S2', 60_000), (err: Error & { reason?: string }) => err.reason === 'scratch-full' && /150000 bytes free, 100000 of them promised/.test(err.message));
  });

  it('releases the reservation of a package that ends, however it ends', async () => {
    const dir = path.join(tempDir('vdxp-scratch-'), 'spool');
    const scratch = new ScratchBudget({ dir, maxBytes: 10_000_000, maxBytesPerSender: 10_000_000, freeBytes: () => 1e12 });
    const h = harness({ spoolDir: dir, scratch, maxPackageAgeMs: 100 });
    const whole = await chunkRecords({ key: 'whole' });
    const expired = await chunkRecords({ key: 'expired', firstOffset: 100 });
    const wrongHash = await chunkRecords({ key: 'hash', firstOffset: 200, headers: { [HEADERS.contentSha256]: 'b'.repeat(64) } });
    const calls = h.dispatch([...whole.records, expired.records[0]!, ...wrongHash.records]);
    await settled(calls);
    assert.equal(scratch.snapshot().reservedBytes, 0);
    assert.deepEqual(h.broken.map((x) => x.first.key).sort(), ['expired', 'hash']);
  });

  it('fails a package whose spool write fails (never retried in place), releasing its reservation, and the next package is reassembled', async () => {
    const base = tempDir('vdxp-scratch-');
    const dir = path.join(base, 'spool');
    const scratch = new ScratchBudget({ dir, maxBytes: 10_000_000, maxBytesPerSender: 10_000_000, freeBytes: () => 1e12 });
    const h = harness({ spoolDir: dir, scratch });
    fs.writeFileSync(dir, 'not a folder: every write fails');
    const broken = await chunkRecords({ key: 'broken' });
    const calls = h.dispatch(broken.records);
    await settled(calls);
    assert.deepEqual(h.broken.map((x) => [x.first.key, x.rejection.reason]), [['broken', 'scratch-unavailable']]);
    assert.equal(h.logs.filter((l) => /retrying/.test(l.message)).length, 0, 'no retry in place');
    assert.equal(scratch.snapshot().reservedBytes, 0);
    fs.rmSync(dir);
    const next = await chunkRecords({ key: 'next', firstOffset: 100 });
    await h.dispatch(next.records)[0]!.promise;
    assert.deepEqual(h.delivered.map((d) => d.pkg.key), ['next']);
  });

  it('types a full disk (ENOSPC, EDQUOT) as scratch-full and other write errors as scratch-unavailable', () => {
    const enospc = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    assert.equal(scratchWriteRejection(enospc, 'writing chunk 3').reason, 'scratch-full');
    assert.equal(scratchWriteRejection(Object.assign(new Error('quota'), { code: 'EDQUOT' }), 'x').reason, 'scratch-full');
    assert.equal(scratchWriteRejection(Object.assign(new Error('EIO'), { code: 'EIO' }), 'x').reason, 'scratch-unavailable');
  });

  it('gives a package up when its handler keeps failing: chunk 0 rejects with BudgetExhausted after maxAttempts, transient backbone failures not counted', async () => {
    const h = harness({ maxAttempts: 3, isTransient: (err) => err instanceof BackboneUnavailable });
    let calls = 0;
    h.afterDelivery = async () => {
      calls += 1;
      if (calls <= 2) throw new BackboneUnavailable('broker down', -195);
      throw new Error('the status writer throws');
    };
    const { records } = await chunkRecords();
    const dispatched = h.dispatch(records);
    await assert.rejects(dispatched[0]!.promise, (err: unknown) => err instanceof BudgetExhausted && err.attempts === 3);
    assert.equal(calls, 5, '2 transient failures waited out, then 3 counted ones');
    await until(() => h.spoolFiles().length === 0, 'the spool file deleted');
  });

  it('gives a refused package up when even its dead letter keeps failing', async () => {
    const h = harness({ maxAttempts: 2, onBroken: async () => Promise.reject(new Error('dead-letter topic not writable')) });
    const calls = h.dispatch([danglingChunkZero(0, 'X', { [HEADERS.chunk]: '0/999' })]);
    await assert.rejects(calls[0]!.promise, BudgetExhausted);
    await pause(10);
  });
});
