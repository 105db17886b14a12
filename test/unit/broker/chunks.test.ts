import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { HEADERS } from '../../../src/broker/topics';
import { sha256Hex } from '../../../src/pipeline/identity';
import { chunkRecords, harness, pause, plainRecord, settled, removeTempDirs, until } from './chunk-fixtures';

describe('ChunkAssembler: reassembly of chunked packages with chunk 0 held unfinished', () => {
  after(removeTempDirs);

  it('reassembles chunks handled concurrently into one file and passes other records straight through', async () => {
    const h = harness();
    const { bytes, records } = await chunkRecords({ bytes: randomBytes(50_003) });
    assert.ok(records.length > 10);
    const plain = plainRecord(99, 'a status between chunks');
    const calls = h.dispatch([...records.slice(0, 5), plain, ...records.slice(5)]);
    await settled(calls);
    assert.ok(calls.every((c) => c.state === 'resolved'));
    assert.equal(h.delivered.length, 2);
    const passed = h.delivered.find((d) => !d.pkg.bodyFile)!;
    assert.equal(passed.pkg.offset, 99);
    assert.equal(passed.bytes.toString(), 'a status between chunks');
    const pkg = h.delivered.find((d) => d.pkg.bodyFile)!;
    assert.ok(pkg.bytes.equals(bytes), 'the file holds the package, byte for byte, in order');
    assert.equal(pkg.pkg.value.length, 0);
    assert.equal(pkg.pkg.bodyFile!.length, bytes.length);
    assert.equal(pkg.pkg.offset, 0, "the package is the first chunk's record");
    assert.equal(pkg.pkg.headers[HEADERS.chunk], undefined);
    assert.equal(pkg.pkg.headers[HEADERS.contentSha256], sha256Hex(bytes));
    assert.equal(pkg.pkg.headers[HEADERS.documentId], 'doc-1');
    assert.equal(fs.statSync(h.spoolDir).mode & 0o777, 0o700);
    await until(() => h.spoolFiles().length === 0, 'the spool file deleted after delivery');
    assert.deepEqual(h.broken, []);
  });

  it('keeps chunk 0 unfinished until the package handler resolved, while the other chunks finish once written', async () => {
    const h = harness();
    let release!: () => void;
    h.afterDelivery = () => new Promise<void>((r) => (release = r));
    const { records } = await chunkRecords();
    const calls = h.dispatch(records);
    await settled(calls.slice(1));
    assert.ok(calls.slice(1).every((c) => c.state === 'resolved'));
    await until(() => h.delivered.length === 1, 'the package handler called');
    await pause(50);
    assert.equal(calls[0]!.state, 'pending', 'chunk 0 holds the commit position while the package is delivered');
    release();
    await calls[0]!.promise;
    await until(() => h.spoolFiles().length === 0, 'the spool file deleted');
  });

  it('retries the package handler when it throws, with the whole file each time', async () => {
    const h = harness();
    let attempts = 0;
    h.afterDelivery = async () => {
      attempts += 1;
      if (attempts < 3) throw new Error('sink unavailable');
    };
    const { bytes, records } = await chunkRecords();
    const calls = h.dispatch(records);
    await calls[0]!.promise;
    assert.equal(attempts, 3);
    assert.ok(h.delivered.every((d) => d.bytes.equals(bytes)));
    assert.equal(h.logs.filter((l) => /retrying/.test(l.message)).length, 2);
  });

  it('skips with a warning a chunk that fits no assembly', async () => {
    const h = harness();
    const { records } = await chunkRecords();
    const orphans = h.dispatch([records[2]!, records[3]!]);
    await settled(orphans);
    assert.deepEqual(orphans.map((c) => c.state), ['resolved', 'resolved'], 'finished: a restart begins at an unfinished chunk 0 anyway');
    const gap = h.dispatch([records[0]!, records[1]!, records[3]!]);
    await settled(gap.slice(1));
    assert.deepEqual(gap.slice(1).map((c) => c.state), ['resolved', 'resolved']);
    assert.equal(h.logs.filter((l) => l.level === 'warn' && /fits no assembly/.test(l.message)).length, 3);
    assert.deepEqual(h.logs.at(-1)!.fields.expected, `2/${records.length}`);
    assert.equal(h.delivered.length, 0);
    assert.deepEqual(h.broken, []);
    await h.assembler.close();
  });

  it('lets a new chunk 0 of the same package supersede the unfinished assembly', async () => {
    const h = harness();
    const first = await chunkRecords();
    const again = await chunkRecords({ bytes: first.bytes, firstOffset: 100 });
    const partial = h.dispatch(first.records.slice(0, 3));
    await settled(partial.slice(1));
    assert.equal(h.spoolFiles().length, 1);
    const whole = h.dispatch(again.records);
    await partial[0]!.promise;
    await whole[0]!.promise;
    assert.equal(h.delivered.length, 1, 'delivered once, from the second attempt');
    assert.equal(h.delivered[0]!.pkg.offset, 100);
    assert.ok(h.delivered[0]!.bytes.equals(first.bytes));
    await until(() => h.spoolFiles().length === 0, 'both spool files deleted');
    assert.deepEqual(h.broken, []);
  });

  it('refuses as incomplete-package a package whose bytes do not match its SHA-256, and as invalid-chunks one whose last chunk is short of its declared length', async () => {
    const h = harness();
    const wrongHash = await chunkRecords({ headers: { [HEADERS.contentSha256]: sha256Hex('something else') } });
    const short = await chunkRecords({ key: 'doc-2', partition: 1 });
    for (const r of short.records) r.headers[HEADERS.packageBytes] = String(short.bytes.length + 10);
    const calls = h.dispatch([...wrongHash.records, ...short.records]);
    await settled(calls);
    assert.ok(calls.every((c) => c.state === 'resolved'), 'refused and dead-lettered is finished');
    assert.equal(h.delivered.length, 0);
    assert.deepEqual(h.broken.map((b) => [b.first.key, b.first.offset, b.rejection.reason]).sort(), [
      ['doc-1', 0, 'incomplete-package'],
      ['doc-2', 0, 'invalid-chunks'],
    ]);
    assert.match(h.broken.find((b) => b.first.key === 'doc-1')!.rejection.detail, /SHA-256/);
    assert.match(h.broken.find((b) => b.first.key === 'doc-2')!.rejection.detail, /chunk 12 of 13 has 848 bytes, not 858/);
    await until(() => h.spoolFiles().length === 0, 'spool files deleted');
  });

  it('refuses as limit-exceeded a package declared over maxPackageBytes at chunk 0, and ignores its other chunks', async () => {
    const h = harness({ maxPackageBytes: 20_000 });
    const { records } = await chunkRecords({ bytes: Buffer.alloc(50_000, 1) });
    const zero = h.dispatch([records[0]!]);
    await zero[0]!.promise;
    assert.equal(h.broken.length, 1);
    assert.equal(h.broken[0]!.rejection.reason, 'limit-exceeded');
    assert.equal(h.broken[0]!.rejection.limit, 'limits.maxPackageBytes');
    const rest = h.dispatch(records.slice(1));
    await settled(rest);
    assert.ok(rest.every((c) => c.state === 'resolved'));
    assert.equal(h.logs.filter((l) => l.level === 'warn' && /fits no assembly/.test(l.message)).length, 0, 'its chunks are dropped quietly');
    assert.equal(h.broken.length, 1);
    assert.equal(h.delivered.length, 0);
    assert.deepEqual(h.spoolFiles(), []);
  });

  it('refuses as invalid-chunks a package whose chunks run past its declared length', async () => {
    const h = harness();
    const { bytes, records } = await chunkRecords();
    for (const r of records) r.headers[HEADERS.packageBytes] = String(bytes.length - 100);
    const calls = h.dispatch(records);
    await settled(calls);
    assert.deepEqual(h.broken.map((b) => [b.first.offset, b.rejection.reason]), [[0, 'invalid-chunks']]);
    assert.equal(h.delivered.length, 0);
    await until(() => h.spoolFiles().length === 0, 'the spool file deleted');
  });

  it('refuses an open package by its total age (limits.maxPackageAgeMs), not counting the time consumption was paused', async () => {
    let paused = true;
    const h = harness({ maxPackageAgeMs: 100, isPaused: () => paused });
    const { records } = await chunkRecords({ bytes: Buffer.alloc(4096 * 5, 2) });
    const calls = h.dispatch(records.slice(0, 2));
    await pause(400);
    assert.equal(h.broken.length, 0, 'a sink breaker held consumption: the missing chunks are not late');
    assert.equal(calls[0]!.state, 'pending');
    paused = false;
    await calls[0]!.promise;
    assert.equal(h.broken.length, 1);
    assert.equal(h.broken[0]!.rejection.reason, 'incomplete-package');
    assert.equal(h.broken[0]!.rejection.limit, 'limits.maxPackageAgeMs');
    assert.match(h.broken[0]!.rejection.detail, /chunks 2\.\.4 of 5 did not arrive within 100 ms/);
    const late = h.dispatch(records.slice(2));
    await settled(late);
    assert.equal(h.delivered.length, 0, 'the chunks after the expiry are dropped');
    await until(() => h.spoolFiles().length === 0, 'the spool file deleted');
  });

  it('expires a package kept alive by a chunk every little while: the age counts from chunk 0, not from the last chunk', async () => {
    const h = harness({ maxPackageAgeMs: 300 });
    const { records } = await chunkRecords({ bytes: Buffer.alloc(4096 * 40, 3) });
    const calls = h.dispatch([records[0]!]);
    let sent = 1;
    for (; sent < 39 && h.broken.length === 0; sent++) {
      await pause(50);
      calls.push(...h.dispatch([records[sent]!]));
    }
    assert.equal(h.broken.length, 1, 'refused while chunks kept coming, no gap longer than 50 ms');
    assert.ok(sent < 39, `refused after ${sent} chunks, before the keep-alive stopped`);
    assert.equal(h.broken[0]!.rejection.limit, 'limits.maxPackageAgeMs');
    await calls[0]!.promise;
  });

  it('abandons the assemblies of revoked partitions and keeps the others', async () => {
    const h = harness();
    const lost = await chunkRecords({ key: 'lost', partition: 0 });
    const kept = await chunkRecords({ key: 'kept', partition: 1 });
    const lostCalls = h.dispatch(lost.records.slice(0, 2));
    const keptCalls = h.dispatch(kept.records.slice(0, 2));
    await settled(lostCalls.slice(1));
    h.assembler.revoked([{ topic: lost.records[0]!.topic, partition: 0 }]);
    await lostCalls[0]!.promise;
    keptCalls.push(...h.dispatch(kept.records.slice(2)));
    await settled(keptCalls);
    assert.deepEqual(h.delivered.map((d) => d.pkg.key), ['kept']);
    assert.ok(h.delivered[0]!.bytes.equals(kept.bytes));
    await until(() => h.spoolFiles().length === 0, 'the abandoned spool file deleted');
    assert.deepEqual(h.broken, [], 'abandoned, not refused: the new owner reassembles it');
  });

  it('rejects chunk 0 when the signal aborts, while receiving or while delivering, and close() deletes the spool files', async () => {
    const receiving = harness();
    const a = await chunkRecords();
    const calls = receiving.dispatch(a.records.slice(0, 3));
    await settled(calls.slice(1));
    receiving.controller.abort();
    await assert.rejects(calls[0]!.promise, /aborted/);
    assert.equal(receiving.spoolFiles().length, 1);
    await receiving.assembler.close();
    assert.deepEqual(receiving.spoolFiles(), []);

    const delivering = harness();
    delivering.afterDelivery = (_pkg, signal) => new Promise((_, reject) => signal.addEventListener('abort', () => reject(new Error('sink call aborted'))));
    const whole = delivering.dispatch((await chunkRecords()).records);
    await until(() => delivering.delivered.length === 1, 'the package handler called');
    delivering.controller.abort();
    await assert.rejects(whole[0]!.promise, /aborted/);
    await pause(20);
    assert.equal(delivering.delivered.length, 1, 'not retried after the abort');
    await delivering.assembler.close();
    assert.deepEqual(delivering.spoolFiles(), []);
  });

  it('rejects on close() a chunk 0 still open, so nothing more is committed', async () => {
    const h = harness();
    const calls = h.dispatch((await chunkRecords()).records.slice(0, 2));
    await settled(calls.slice(1));
    await h.assembler.close();
    await assert.rejects(calls[0]!.promise, /closed/);
    assert.deepEqual(h.spoolFiles(), []);
  });

  it('refuses a chunk whose vdxp-chunk header is malformed, and a chunk 0 without its declared length', async () => {
    const h = harness();
    const malformed = await chunkRecords({ headers: { [HEADERS.chunk]: '3/2' } });
    const unsized = await chunkRecords({ key: 'doc-2', headers: { [HEADERS.packageBytes]: '' } });
    const calls = h.dispatch([malformed.records[0]!, unsized.records[0]!]);
    await settled(calls);
    assert.deepEqual(calls.map((c) => c.state), ['resolved', 'resolved']);
    assert.deepEqual(h.broken.map((b) => b.rejection.reason), ['invalid-chunks', 'invalid-chunks']);
    assert.match(h.broken[0]!.rejection.detail, /not <index>\/<count>/);
    assert.match(h.broken[1]!.rejection.detail, /lacks a valid vdxp-package-bytes/);
    assert.deepEqual(h.spoolFiles(), []);
  });
});
