import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { main } from '../../../src/cli/main';
import { withDefaults } from '../../../src/limits';
import { validatePackage, validatePackageDeep } from '../../../src/edxml/validate';
import { writeEdoc } from '../../../src/edxml/writer';
import { fullEdocModel, makeZip, edocWith } from '../../support/edxml-fixtures';
import { SAMPLES_DIR, sampleFiles } from '../../support/paths';

const sample = (name: string): string => path.join(SAMPLES_DIR, name);

/** Runs `vdxp …` in-process; returns exit code and what it printed. */
async function vdxp(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const ow = process.stdout.write.bind(process.stdout);
  const ew = process.stderr.write.bind(process.stderr);
  (process.stdout as { write: unknown }).write = (s: string | Uint8Array): boolean => ((out += String(s)), true);
  (process.stderr as { write: unknown }).write = (s: string | Uint8Array): boolean => ((err += String(s)), true);
  try {
    const code = await main(args);
    return { code, out, err };
  } finally {
    (process.stdout as { write: unknown }).write = ow;
    (process.stderr as { write: unknown }).write = ew;
  }
}

describe('edxml validatePackage', () => {
  it('accepts the official SDK samples and the field packages that are complete', () => {
    const notAcceptable = new Set([
      // Placeholder `${__StringFromFile(test.txt,,,)}` where the base64 should be.
      'vxp-sdk-example__edoc.edxml',
      // A gateway test stub: no Code, PromulgationDate, DocumentType, Priority, SteeringType.
      'vxp-sdk-example__test_user_edxml.xml',
    ]);
    for (const file of sampleFiles()) {
      const v = validatePackage(fs.readFileSync(file));
      const name = path.basename(file);
      assert.equal(v.ok, !notAcceptable.has(name), `${name}: ${JSON.stringify(v.problems)}`);
      assert.ok(v.kind === 'edoc' || v.kind === 'status');
      assert.ok(v.organIds && v.organIds.length > 0);
    }
  });

  it('lists every problem with its element path and rule', () => {
    const v = validatePackage(fs.readFileSync(sample('vxp-sdk-example__test_user_edxml.xml')));
    const rules = v.problems.map((p) => `${p.path.replace('/edXML/edXMLEnvelope/edXMLHeader/MessageHeader/', '')} ${p.rule}`);
    assert.deepEqual(rules, [
      'Code/CodeNumber required',
      'Code/CodeNotation required',
      'PromulgationInfo/PromulgationDate required',
      'DocumentType/Type required',
      'DocumentType/TypeName required',
      'OtherInfo/Priority required',
      'SteeringType required',
    ]);
    const bad = validatePackage(fs.readFileSync(sample('vxp-sdk-example__edoc.edxml')));
    assert.ok(bad.problems.every((p) => p.path === '/edXML/AttachmentEncoded/Attachment/ContentTransferEncoded' && p.rule === 'base64'));
    assert.ok(bad.warnings.some((w) => w.rule === 'repaired'));
  });

  it('reports OrganId forms (QCVN 102, Decision 20, other) without enforcing them', () => {
    const m = fullEdocModel();
    m.header.to.push({ organId: 'vxp.saas.02' });
    const v = validatePackage(writeEdoc(m));
    assert.equal(v.ok, true, JSON.stringify(v.problems));
    const forms = Object.fromEntries(v.organIds!.map((o) => [o.value, o.form]));
    assert.equal(forms['000.00.00.G22'], 'qcvn102');
    assert.equal(forms['H37.02.02'], 'qd20');
    assert.equal(forms['vxp.saas.02'], 'other');
  });

  it('gives a typed reason for unreadable and hostile input, never throwing', () => {
    const cases: Array<[Buffer, string]> = [
      [Buffer.from('<!DOCTYPE edXML [<!ENTITY a "b">]><edXML/>'), 'dtd-forbidden'],
      [Buffer.from('<edXML><unclosed></edXML>'), 'malformed-xml'],
      [Buffer.from('not xml at all'), 'malformed-xml'],
      [Buffer.alloc(0), 'malformed-xml'],
      [Buffer.from('<a>'.repeat(100) + '</a>'.repeat(100)), 'limit-exceeded'],
      [Buffer.from('<root/>'), 'invalid-edxml'],
    ];
    for (const [bytes, reason] of cases) {
      const v = validatePackage(bytes);
      assert.equal(v.ok, false);
      assert.equal(v.rejection?.reason, reason, bytes.toString('latin1', 0, 40));
      assert.equal(v.problems.length, 1);
    }
    const tooBig = validatePackage(writeEdoc(fullEdocModel()), withDefaults({ maxPackageBytes: 1000 }));
    assert.equal(tooBig.rejection?.limit, 'limits.maxPackageBytes');
    assert.equal(tooBig.problems[0]!.rule, 'limits.maxPackageBytes');
  });

  it('checks the manifest against the attachments', () => {
    const xml = writeEdoc(fullEdocModel()).toString('utf8').replace(/<edXML:Reference>[\s\S]*<\/edXML:Reference>/, '');
    const v = validatePackage(Buffer.from(xml));
    assert.equal(v.ok, false);
    assert.deepEqual(
      v.problems.map((p) => p.rule),
      ['manifest-pairing'],
    );
  });

  it('validatePackageDeep inflates zips and catches what the directory hid', async () => {
    const liar = makeZip([{ name: 'zeros.bin', data: Buffer.alloc(2 * 1024 * 1024), declaredSize: 100 }]);
    const bytes = writeEdoc(edocWith([{ attachmentName: 'liar.zip', data: liar }]));
    assert.equal(validatePackage(bytes, withDefaults({ maxZipExpansionRatio: 1_000_000 })).ok, true, 'the directory alone looks fine');
    const deep = await validatePackageDeep(bytes, withDefaults({ maxZipExpansionRatio: 1_000_000 }));
    assert.equal(deep.ok, false);
    assert.match(deep.problems[0]!.message, /longer than declared/);
    const ok = await validatePackageDeep(fs.readFileSync(sample('vxp-sdk-example__uploads_1da394ba.edxml')));
    assert.equal(ok.ok, true);
  });
});

describe('vdxp validate', () => {
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vdxp-validate-'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('exits 0 for an acceptable package', async () => {
    const r = await vdxp(['validate', sample('vxp-sdk-example__edoc_new.edxml')]);
    assert.equal(r.code, 0, r.out + r.err);
    assert.match(r.out, /acceptable \(edoc, DocumentId 000\.00\.00\.G22,2015\/09\/30,7816\/VPCP-TTĐT\)/);
    assert.match(r.out, /signature element Signature in namespace http:\/\/www\.mic\.gov\.vn/);
  });

  it('exits 1 and lists every problem with path and rule', async () => {
    const r = await vdxp(['validate', sample('vxp-sdk-example__test_user_edxml.xml')]);
    assert.equal(r.code, 1);
    assert.match(r.out, /NOT ACCEPTABLE/);
    assert.match(r.out, /problem {2}\/edXML\/edXMLEnvelope\/edXMLHeader\/MessageHeader\/Code\/CodeNumber {2}\[required\]/);
    const json = await vdxp(['validate', '--json', sample('vxp-sdk-example__test_user_edxml.xml')]);
    assert.equal(json.code, 1);
    const parsed = JSON.parse(json.out) as { ok: boolean; problems: Array<{ path: string; rule: string; message: string }> };
    assert.equal(parsed.ok, false);
    assert.equal(parsed.problems.length, 7);
  });

  it('exits 1 with a typed reason for a hostile file', async () => {
    const file = path.join(dir, 'xxe.edxml');
    fs.writeFileSync(file, '<?xml version="1.0"?><!DOCTYPE edXML [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><edXML>&xxe;</edXML>');
    const r = await vdxp(['validate', '--json', file]);
    assert.equal(r.code, 1);
    assert.equal((JSON.parse(r.out) as { rejection: { reason: string } }).rejection.reason, 'dtd-forbidden');
    const text = await vdxp(['validate', file]);
    assert.match(text.out, /NOT ACCEPTABLE — dtd-forbidden/);
    const unreadable = await vdxp(['validate', dir]);
    assert.equal(unreadable.code, 1);
  });

  it('exits 2 for usage errors', async () => {
    assert.equal((await vdxp(['validate'])).code, 2);
    assert.equal((await vdxp(['validate', path.join(dir, 'missing.edxml')])).code, 2);
    assert.equal((await vdxp(['validate', '--no-such-flag', sample('vxp-sdk-example__edoc_new.edxml')])).code, 2);
  });
});
