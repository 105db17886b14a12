import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import { Rejection } from '../../../src/errors';
import { withDefaults } from '../../../src/limits';
import { AttachmentSource, attachmentZipDirectory, drain, openAttachment, readAll } from '../../../src/edxml/attachments';
import type { EdocPackage } from '../../../src/edxml/model';
import { readPackage } from '../../../src/edxml/reader';
import { validatePackage, validatePackageDeep } from '../../../src/edxml/validate';
import { writeEdoc } from '../../../src/edxml/writer';
import { edocWith, makeZip } from '../../support/edxml-fixtures';
import { asyncRefusal } from '../../support/rejection';

/** The collector, made callable at run time (mocha runs without --expose-gc). */
function exposeGc(): () => void {
  if (typeof global.gc === 'function') return global.gc as () => void;
  v8.setFlagsFromString('--expose-gc');
  return vm.runInNewContext('gc') as () => void;
}

function readEdoc(bytes: Buffer, limits = withDefaults()): EdocPackage {
  return readPackage(bytes, limits) as EdocPackage;
}

describe('edxml attachments', () => {
  it('decodes base64 with line breaks, stray whitespace and padding exactly', async () => {
    for (let n = 0; n < 70; n++) {
      const data = randomBytes(n);
      const wrapped = data.toString('base64').replace(/(.{7})/g, '$1\r\n ');
      const src = new AttachmentSource(Buffer.from(`  ${wrapped}\n`), 0, wrapped.length + 3, false);
      assert.equal(src.size, n);
      assert.deepEqual(await readAll(src.stream()), data);
      if (n > 5) assert.deepEqual(src.decodeRange(2, n - 1), data.subarray(2, n - 1));
    }
  });

  it('streams a large attachment without holding it: memory does not grow with its size', async function () {
    this.timeout(60_000);
    const size = 48 * 1024 * 1024;
    const data = Buffer.alloc(size, 0x5a);
    const bytes = writeEdoc(edocWith([{ attachmentName: 'big.bin', contentType: 'application/octet-stream', data }]));
    const pkg = readEdoc(bytes);
    assert.equal(pkg.attachments[0]!.size, size);
    const gc = exposeGc();
    gc();
    const before = process.memoryUsage();
    let peakExternal = 0;
    let peakHeap = 0;
    let total = 0;
    let chunks = 0;
    for await (const chunk of openAttachment(pkg.attachments[0]!)) {
      total += (chunk as Buffer).length;
      // Retained memory, measured after collection, every 16 chunks (~3 MiB of attachment).
      if (++chunks % 16 === 0) {
        gc();
        const m = process.memoryUsage();
        peakExternal = Math.max(peakExternal, m.arrayBuffers - before.arrayBuffers);
        peakHeap = Math.max(peakHeap, m.heapUsed - before.heapUsed);
      }
    }
    assert.equal(total, size);
    assert.ok(chunks >= 200);
    // What is retained while streaming is a few chunks (~192 KiB each; V8 frees backing stores
    // concurrently, so some garbage may still count), never the 48 MiB attachment.
    assert.ok(peakExternal < 16 * 1024 * 1024, `external memory grew by ${peakExternal}`);
    assert.ok(peakHeap < 16 * 1024 * 1024, `heap grew by ${peakHeap}`);
  });

  it('unzips a single-entry zip (data-descriptor layout of the Java SDK) and keeps the raw bytes available', async () => {
    const inner = Buffer.from('%PDF-1.4 nội dung '.repeat(100));
    const zip = makeZip([{ name: '5c70-uuid.PDF', data: inner, dataDescriptor: true }]);
    const pkg = readEdoc(writeEdoc(edocWith([{ attachmentName: 'a.pdf', contentType: 'application/pdf', data: zip }])));
    const a = pkg.attachments[0]!;
    assert.equal(a.zipped, true);
    assert.deepEqual(await readAll(openAttachment(a)), inner);
    assert.deepEqual(await readAll(openAttachment(a, { mode: 'raw' })), zip);
    assert.equal(attachmentZipDirectory(a)!.files[0]!.name, '5c70-uuid.PDF');
    // A multi-entry zip is handed over as is.
    const two = makeZip([
      { name: 'a.txt', data: Buffer.from('a') },
      { name: 'b.txt', data: Buffer.from('b'), method: 0 },
    ]);
    const p2 = readEdoc(writeEdoc(edocWith([{ attachmentName: 'two.zip', data: two }])));
    assert.deepEqual(await readAll(openAttachment(p2.attachments[0]!)), two);
  });

  it('refuses a zip bomb by its declared size, before inflating (limits.maxZipExpansionRatio / maxZipUncompressedBytes)', () => {
    const bomb = makeZip([{ name: 'zeros.bin', data: Buffer.alloc(8 * 1024 * 1024) }]);
    assert.ok(bomb.length < 64 * 1024);
    const bytes = writeEdoc(edocWith([{ attachmentName: 'bomb.zip', data: bomb }]));
    const pkg = readEdoc(bytes);
    assert.throws(() => openAttachment(pkg.attachments[0]!), (e: unknown) => e instanceof Rejection && e.limit === 'limits.maxZipExpansionRatio');
    const v = validatePackage(bytes);
    assert.equal(v.ok, false);
    assert.ok(v.problems.some((p) => p.rule === 'limits.maxZipExpansionRatio' && p.path.endsWith('ContentTransferEncoded')));
    const v2 = validatePackage(bytes, withDefaults({ maxZipExpansionRatio: 100_000, maxZipUncompressedBytes: 1024 * 1024 }));
    assert.ok(v2.problems.some((p) => p.rule === 'limits.maxZipUncompressedBytes'));
  });

  it('refuses a zip bomb that lies about its size while it inflates', async () => {
    const liar = makeZip([{ name: 'zeros.bin', data: Buffer.alloc(4 * 1024 * 1024), declaredSize: 1000 }]);
    const bytes = writeEdoc(edocWith([{ attachmentName: 'liar.zip', data: liar }]));
    const pkg = readEdoc(bytes);
    const r = await asyncRefusal(drain(openAttachment(pkg.attachments[0]!)));
    assert.ok(r.limit === 'limits.maxZipExpansionRatio' || r.reason === 'invalid-edxml', r.message);
    const deep = await validatePackageDeep(bytes);
    assert.equal(deep.ok, false);
    // With a generous ratio, the lie itself is caught.
    const lenient = readEdoc(bytes, withDefaults({ maxZipExpansionRatio: 100_000 }));
    const r2 = await asyncRefusal(drain(openAttachment(lenient.attachments[0]!)));
    assert.equal(r2.reason, 'invalid-edxml');
    assert.match(r2.detail, /longer than declared/);
  });

  it('refuses too many zip entries (limits.maxZipEntries) and corrupt zips with typed reasons', async () => {
    const many = makeZip(Array.from({ length: 12 }, (_, k) => ({ name: `f${k}.txt`, data: Buffer.from(`file ${k}`) })));
    const pkg = readEdoc(writeEdoc(edocWith([{ attachmentName: 'many.zip', data: many }])), withDefaults({ maxZipEntries: 10 }));
    assert.throws(() => attachmentZipDirectory(pkg.attachments[0]!), (e: unknown) => e instanceof Rejection && e.limit === 'limits.maxZipEntries');
    const truncated = Buffer.concat([Buffer.from('PK\x03\x04', 'latin1'), randomBytes(200)]);
    const p2 = readEdoc(writeEdoc(edocWith([{ attachmentName: 'broken.zip', data: truncated }])));
    assert.throws(() => openAttachment(p2.attachments[0]!), (e: unknown) => e instanceof Rejection && e.reason === 'invalid-edxml');
    const good = makeZip([{ name: 'x.txt', data: Buffer.from('hello hello hello hello') }]);
    const crcBroken = Buffer.from(good);
    crcBroken.writeUInt32LE(0xdeadbeef, good.length - 22 - 46 - 5 + 16); // the central directory's CRC
    const p3 = readEdoc(writeEdoc(edocWith([{ attachmentName: 'crc.zip', data: crcBroken }])));
    const r = await asyncRefusal(drain(openAttachment(p3.attachments[0]!)));
    assert.match(r.detail, /CRC/);
  });

  it('refuses an oversized decoded attachment before reading the model (limits.maxAttachmentBytes)', () => {
    const bytes = writeEdoc(edocWith([{ attachmentName: 'a.bin', data: randomBytes(5000) }]));
    assert.throws(() => readPackage(bytes, withDefaults({ maxAttachmentBytes: 4999 })), (e: unknown) => e instanceof Rejection && e.limit === 'limits.maxAttachmentBytes');
    readPackage(bytes, withDefaults({ maxAttachmentBytes: 5000 }));
  });
});
