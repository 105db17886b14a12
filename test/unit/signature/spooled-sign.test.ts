import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { withDefaults } from '../../../src/limits';
import { readSpooledPackage } from '../../../src/edxml/spooled-package';
import { signPackage, signParsed, verifyPackage, verifyParsed, type TrustStore } from '../../../src/signature';
import { Spool } from '../../../src/pipeline/spool';
import { makeEdoc } from '../../support/packages';
import { makeTestPki, ORGAN_G22, ORGAN_H41, type TestPki } from '../../support/pki';
import { credentials, trustFor } from '../../support/signature-fixtures';
import { asyncRefusal } from '../../support/rejection';

/** Large packages are signed and verified with their attachment text left in the file. */
describe('signature: spooled (large) packages', function () {
  this.timeout(120_000);
  const limits = withDefaults();
  let pki: TestPki;
  let trust: TrustStore;
  let spool: Spool;
  let dir: string;
  let unsigned: Buffer;

  before(async () => {
    pki = await makeTestPki();
    trust = await trustFor(pki);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vdxp-spooled-sign-'));
    spool = await Spool.open(dir);
    unsigned = makeEdoc({ from: ORGAN_H41, to: [ORGAN_G22], number: 11, attachmentBytes: 5_000_000 });
  });
  after(async () => {
    await spool.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const write = (name: string, bytes: Buffer) => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, bytes);
    return file;
  };
  async function signSpooled(file: string) {
    const spooled = await readSpooledPackage(file, limits);
    return spool.writePieces(signParsed(spooled.parsed, credentials(pki.h41), { limits, trust }), 'signed');
  }
  async function verifySpooled(file: string) {
    return verifyParsed((await readSpooledPackage(file, limits)).parsed, trust, { limits });
  }

  it('signs from the file exactly as the in-memory signer does, and both verifiers accept it', async () => {
    const signed = await signSpooled(write('unsigned.edxml', unsigned));
    const bytes = fs.readFileSync(signed.path);
    assert.ok(bytes.equals(signPackage(unsigned, credentials(pki.h41), { limits, trust })), 'byte-identical to the in-memory signature');
    assert.equal(verifyPackage(bytes, trust).status, 'valid');
    assert.equal((await verifySpooled(signed.path)).status, 'valid');
  });

  it('digests CR LF base64 lines as a parser reads them: signed from the file, verified in memory and from the file', async () => {
    const mime = Buffer.from(unsigned.toString('utf8').replace(/(<edXML:ContentTransferEncoded[^>]*>)([^<]*)(<)/, (_m, open: string, text: string, close: string) => `${open}\r\n${text.replace(/(.{76})/g, '$1\r\n')}${close}`));
    const signed = await signSpooled(write('mime.edxml', mime));
    assert.equal(verifyPackage(fs.readFileSync(signed.path), trust).status, 'valid');
    assert.equal((await verifySpooled(signed.path)).status, 'valid');
  });

  it('finds one changed base64 character deep inside a large attachment (digest-mismatch)', async () => {
    const signed = fs.readFileSync((await signSpooled(write('to-tamper.edxml', unsigned))).path);
    const at = signed.indexOf('ContentTransferEncoded') + 3_000_000;
    signed[at] = signed[at] === 0x41 ? 0x42 : 0x41;
    assert.equal((await asyncRefusal(verifySpooled(write('tampered.edxml', signed)))).reason, 'digest-mismatch');
  });

  it('keeps long base64-like text outside attachments in the digest (a comment cannot hide a change)', async () => {
    const long = 'QUJD'.repeat(30_000);
    const withComment = Buffer.from(unsigned.toString('utf8').replace('<edXML:edXMLHeader>', `<edXML:edXMLHeader><!-- ${long} -->`));
    const signed = fs.readFileSync((await signSpooled(write('comment.edxml', withComment))).path);
    assert.equal(verifyPackage(signed, trust).status, 'valid');
    const changed = Buffer.from(signed.toString('utf8').replace(`<!-- ${long}`, `<!-- ${long.replace('QUJD', 'QUJE')}`));
    // Comments are outside canonical XML: changing one must keep the signature valid on both paths alike.
    assert.equal(verifyPackage(changed, trust).status, 'valid');
    assert.equal((await verifySpooled(write('comment-changed.edxml', changed))).status, 'valid');
    const subjectChanged = Buffer.from(signed.toString('utf8').replace(/(<edXML:Subject>)[^<]*/, `$1${long}`));
    assert.equal((await asyncRefusal(verifySpooled(write('subject-changed.edxml', subjectChanged)))).reason, 'digest-mismatch');
  });
});
