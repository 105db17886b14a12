/**
 * Interoperability with xmlsec1 (Debian `xmlsec1`), both ways (DESIGN.md §5):
 * xmlsec1 verifies what the connector signs, and the connector verifies what xmlsec1 signs with
 * exclusive and with inclusive C14N. xmlsec1 always runs with `--enabled-key-data x509`, without
 * which it would accept a key the document carries (TOOLING.md §3 pitfall).
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Rejection } from '../../src/errors';
import { signPackage, verifyPackage, type TrustStore } from '../../src/signature';
import { sampleFiles, REPO_ROOT } from '../support/paths';
import { makeTestPki, ORGAN_A80, ORGAN_H41, type TestCredential, type TestPki } from '../support/pki';
import { credentials, packageFrom, trustFor, withoutPlaceholder } from '../support/signature-fixtures';

const EXC = 'http://www.w3.org/2001/10/xml-exc-c14n#';
const INC = 'http://www.w3.org/TR/2001/REC-xml-c14n-20010315';

function xmlsec1(...args: string[]): { code: number; output: string } {
  const r = spawnSync('xmlsec1', args, { encoding: 'utf8' });
  if (r.error) throw r.error;
  return { code: r.status ?? -1, output: `${r.stdout}${r.stderr}` };
}

/** The signature template xmlsec1 fills in, as the last child of edXMLHeader (optionally with a `ds:` prefix). */
function template(c14n: string, prefix = ''): string {
  const unprefixed = (
    `<Signature xmlns="http://www.w3.org/2000/09/xmldsig#"><SignedInfo>` +
    `<CanonicalizationMethod Algorithm="${c14n}"/>` +
    `<SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/>` +
    `<Reference URI=""><Transforms><Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/>` +
    `<Transform Algorithm="${c14n}"/></Transforms>` +
    `<DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><DigestValue/></Reference></SignedInfo>` +
    `<SignatureValue/><KeyInfo><X509Data><X509Certificate/></X509Data></KeyInfo></Signature>`
  );
  if (!prefix) return unprefixed;
  return unprefixed.replace(/<(\/?)([A-Z])/g, `<$1${prefix}:$2`).replace('xmlns=', `xmlns:${prefix}=`);
}

describe('signature: interoperability with xmlsec1', function () {
  this.timeout(120_000);
  let pki: TestPki;
  let trust: TrustStore;
  let dir: string;
  const write = (name: string, content: string | Buffer) => {
    const p = path.join(dir, name);
    fs.writeFileSync(p, content);
    return p;
  };
  const xmlsecVerify = (file: string) => xmlsec1('--verify', '--trusted-pem', pki.rootCaPath, '--enabled-key-data', 'x509', file);
  const xmlsecSign = (xml: string, signer: TestCredential, name: string) => {
    const out = path.join(dir, `${name}.signed.xml`);
    const keys = [signer.keyPath, signer.certPath, ...(signer.chainPath ? [signer.chainPath] : [])].join(',');
    const r = xmlsec1('--sign', '--privkey-pem', keys, '--output', out, write(`${name}.tmpl.xml`, xml));
    assert.equal(r.code, 0, r.output);
    return fs.readFileSync(out);
  };

  before(async function () {
    if (spawnSync('xmlsec1', ['--version']).status !== 0) this.skip();
    pki = await makeTestPki();
    trust = await trustFor(pki);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vdxp-xmlsec1-'));
  });
  after(() => dir && fs.rmSync(dir, { recursive: true, force: true }));

  it('xmlsec1 verifies what signPackage makes, for every field sample', () => {
    for (const sample of sampleFiles()) {
      const name = path.basename(sample);
      const signed = write(`ours-${name}`, signPackage(Buffer.from(packageFrom(ORGAN_H41, sample)), credentials(pki.h41)));
      const r = xmlsecVerify(signed);
      assert.equal(r.code, 0, `${name}: ${r.output}`);
    }
  });

  it('xmlsec1 builds the chain through the intermediate signPackage puts in KeyInfo', () => {
    const signed = write('ours-a80.xml', signPackage(Buffer.from(packageFrom(ORGAN_A80)), credentials(pki.a80)));
    assert.equal(xmlsecVerify(signed).code, 0);
  });

  it('xmlsec1 refuses what it should: tampered, and signed by the self-signed attacker', () => {
    const signed = signPackage(Buffer.from(packageFrom(ORGAN_H41)), credentials(pki.h41)).toString();
    assert.notEqual(xmlsecVerify(write('tampered.xml', signed.replace('UBND Tỉnh Nghệ An', 'Attacker'))).code, 0);
    const attacker = signPackage(Buffer.from(packageFrom(ORGAN_H41)), credentials(pki.attacker));
    assert.notEqual(xmlsecVerify(write('attacker.xml', attacker)).code, 0);
  });

  for (const [label, c14n] of [['exclusive', EXC], ['inclusive', INC]] as const) {
    it(`verifyPackage accepts what xmlsec1 signs with ${label} C14N`, () => {
      const unsigned = withoutPlaceholder(packageFrom(ORGAN_H41)).replace(/(\s*)<\/edXML:edXMLHeader>/, `$1${template(c14n)}</edXML:edXMLHeader>`);
      const signed = xmlsecSign(unsigned, pki.h41, `theirs-${label}`);
      assert.equal(xmlsecVerify(write(`theirs-${label}.check.xml`, signed)).code, 0, 'xmlsec1 accepts its own output');
      const outcome = verifyPackage(signed, trust);
      assert.ok(outcome.status === 'valid' && outcome.signer.organId === ORGAN_H41);
      try {
        verifyPackage(Buffer.from(signed.toString().replace('UBND Tỉnh Nghệ An', 'Attacker')), trust);
        assert.fail('a tampered xmlsec1 signature was accepted');
      } catch (err) {
        assert.ok(err instanceof Rejection && err.reason === 'digest-mismatch', String(err));
      }
    });
  }

  it('verifyPackage accepts an xmlsec1 signature written with a ds: prefix', () => {
    const unsigned = withoutPlaceholder(packageFrom(ORGAN_H41)).replace(/(\s*)<\/edXML:edXMLHeader>/, `$1${template(EXC, 'ds')}</edXML:edXMLHeader>`);
    const signed = xmlsecSign(unsigned, pki.h41, 'theirs-ds');
    assert.match(signed.toString(), /<ds:SignatureValue>/);
    assert.equal(verifyPackage(signed, trust).status, 'valid');
  });

  it('vdxp verify (the CLI) accepts an xmlsec1 signature with an intermediate, on a large field sample', () => {
    const sample = sampleFiles().find((f) => path.basename(f) === 'vxp-sdk-example__edoc_new.edxml')!;
    const unsigned = withoutPlaceholder(packageFrom(ORGAN_A80, sample)).replace(/(\s*)<\/edXML:edXMLHeader>/, `$1${template(INC)}</edXML:edXMLHeader>`);
    const signed = write('theirs-a80.xml', xmlsecSign(unsigned, pki.a80, 'theirs-a80'));
    const r = spawnSync(process.execPath, [path.join(REPO_ROOT, 'dist/src/cli/main.js'), 'verify', signed, '--trust', pki.rootCaPath, '--crl', `${pki.crlPath},${pki.intermediateCrlPath}`, '--json'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.equal(JSON.parse(r.stdout).signer.organId, ORGAN_A80);
  });
});
