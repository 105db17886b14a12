import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { withDefaults } from '../../../src/limits';
import { drain, openAttachment, readAll } from '../../../src/edxml/attachments';
import type { EdocPackage } from '../../../src/edxml/model';
import { readPackage, readParsedPackage } from '../../../src/edxml/reader';
import { readSpooledPackage } from '../../../src/edxml/spooled-package';
import { makeEdoc } from '../../support/packages';
import { asyncRefusal } from '../../support/rejection';

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/** Rewrites the (first) attachment's base64 text. */
function withAttachmentText(edxml: Buffer, rewrite: (base64: string) => string): Buffer {
  return Buffer.from(edxml.toString('utf8').replace(/(<edXML:ContentTransferEncoded[^>]*>)([^<]*)(<\/edXML:ContentTransferEncoded>)/, (_m, open: string, text: string, close: string) => open + rewrite(text) + close));
}

describe('edxml spooled packages (large documents read from a file)', function () {
  this.timeout(60_000);
  let dir: string;
  let big: Buffer;
  const limits = withDefaults();
  const write = (name: string, bytes: Buffer) => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, bytes);
    return file;
  };

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vdxp-spooled-'));
    big = makeEdoc({ from: '000.00.00.H41', to: ['000.00.00.G22'], number: 7, attachmentBytes: 6_000_000 });
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('refuses a large UTF-16 package as unsupported-encoding: it is delivered from its file, so it must be its own UTF-8 reading', async () => {
    const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(big.toString('utf8').replace('encoding="UTF-8"', 'encoding="UTF-16"'), 'utf16le')]);
    assert.equal((await asyncRefusal(readSpooledPackage(write('big-utf16.edxml', utf16), limits))).reason, 'unsupported-encoding');
  });

  it('keeps the attachment text in the file: the parse holds only the markup, the reader streams the attachment from the file', async () => {
    const spooled = await readSpooledPackage(write('big.edxml', big), limits);
    assert.equal(spooled.length, big.length);
    assert.equal(spooled.sha256, sha256(big));
    assert.ok(spooled.parsed.scan.bytes.length < 20_000, `skeleton of ${spooled.parsed.scan.bytes.length} bytes`);
    assert.equal(spooled.parsed.externalText?.size, 1);

    const fromFile = readParsedPackage(spooled.parsed, limits) as EdocPackage;
    const inMemory = readPackage(big, limits) as EdocPackage;
    assert.equal(fromFile.documentId, inMemory.documentId);
    assert.deepEqual(fromFile.to, inMemory.to);
    assert.equal(fromFile.attachments[0]!.size, inMemory.attachments[0]!.size);
    const decoded = await readAll(openAttachment(fromFile.attachments[0]!));
    assert.equal(sha256(decoded), sha256(await readAll(openAttachment(inMemory.attachments[0]!))));
  });

  it('reads base64 broken into CR LF lines (MIME style) to the same bytes', async () => {
    const mime = withAttachmentText(big, (b64) => `\r\n${b64.replace(/(.{76})/g, '$1\r\n')}\r\n`);
    const spooled = await readSpooledPackage(write('mime.edxml', mime), limits);
    assert.equal(spooled.parsed.externalText?.size, 1);
    assert.ok(spooled.parsed.externalText!.get(0)!.carriageReturns > 70_000);
    const att = (readParsedPackage(spooled.parsed, limits) as EdocPackage).attachments[0]!;
    const original = (readPackage(big, limits) as EdocPackage).attachments[0]!;
    assert.equal(sha256(await readAll(openAttachment(att))), sha256(await readAll(openAttachment(original))));
  });

  it('puts long base64-like text that is not attachment content back where it was (a header field, a comment)', async () => {
    const long = 'QUJD'.repeat(30_000); // 120 KB of base64 characters
    const tricky = Buffer.from(
      big
        .toString('utf8')
        .replace(/<edXML:Subject>[^<]*<\/edXML:Subject>/, `<edXML:Subject>${long}</edXML:Subject>`)
        .replace('<edXML:edXMLHeader>', `<edXML:edXMLHeader><!-- <edXML:ContentTransferEncoded>${long}</edXML:ContentTransferEncoded> -->`),
    );
    assert.notEqual(tricky.length, big.length, 'the fixture changed');
    const spooled = await readSpooledPackage(write('tricky.edxml', tricky), limits);
    const pkg = readParsedPackage(spooled.parsed, limits) as EdocPackage;
    assert.equal(pkg.header.subject, long);
    assert.equal(spooled.parsed.externalText?.size, 1, 'only the real attachment stays in the file');
    assert.match(spooled.parsed.scan.bytes.toString('utf8'), /<!-- <edXML:ContentTransferEncoded>(QUJD)+<\/edXML:ContentTransferEncoded> -->/);
  });

  it('enforces the attachment limits on text it never holds, naming the limit', async () => {
    const file = write('limits.edxml', big);
    const one = await asyncRefusal(readSpooledPackage(file, { ...limits, maxAttachmentBytes: 5_000_000 }));
    assert.deepEqual([one.reason, one.limit], ['limit-exceeded', 'limits.maxAttachmentBytes']);
    const total = await asyncRefusal(readSpooledPackage(file, { ...limits, maxTotalAttachmentBytes: 5_000_000 }));
    assert.deepEqual([total.reason, total.limit], ['limit-exceeded', 'limits.maxTotalAttachmentBytes']);
    const whole = await asyncRefusal(readSpooledPackage(file, { ...limits, maxPackageBytes: 1_000_000 }));
    assert.deepEqual([whole.reason, whole.limit], ['limit-exceeded', 'limits.maxPackageBytes']);
  });

  it('refuses a package whose markup outside attachment text exceeds maxMarkupBytes (memory stays bounded)', async () => {
    // Short base64 lines separated by '&#10;' are never cut: all of it would have to be held.
    const entityLines = withAttachmentText(big, (b64) => b64.replace(/(.{1000})/g, '$1&#10;'));
    const refused = await asyncRefusal(readSpooledPackage(write('markup.edxml', entityLines), { ...limits, maxMarkupBytes: 4 * 1024 * 1024 }));
    assert.deepEqual([refused.reason, refused.limit], ['limit-exceeded', 'limits.maxMarkupBytes']);
  });

  it('reports broken base64 in the file (padding in the middle) as the in-memory reader does', async () => {
    const broken = withAttachmentText(big, (b64) => `${b64.slice(0, 100_000)}==${b64.slice(100_000)}`);
    const spooled = await readSpooledPackage(write('broken.edxml', broken), limits);
    const pkg = readParsedPackage(spooled.parsed, limits) as EdocPackage;
    assert.ok(pkg.notes.some((n) => n.rule === 'base64' && /padding/.test(n.message)), JSON.stringify(pkg.notes));
    assert.ok((await drain(openAttachment(pkg.attachments[0]!))) > 0);
  });

  it('refuses malformed XML around the attachment text as malformed-xml', async () => {
    const cut = Buffer.from(big.toString('utf8').replace('</edXML:edXMLBody>', ''));
    const refused = await asyncRefusal(readSpooledPackage(write('malformed.edxml', cut), limits));
    assert.equal(refused.reason, 'malformed-xml');
  });
});
