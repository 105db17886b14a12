/** The command-line contract of issue 4: `vdxp verify` and `vdxp sign`, exit codes and JSON. */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { REPO_ROOT } from '../../support/paths';
import { makeTestPki, ORGAN_G22, ORGAN_H41, type TestPki } from '../../support/pki';
import { credentials, packageFrom, signWithXmlCrypto, withoutPlaceholder } from '../../support/signature-fixtures';

const MAIN = path.join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js');

function vdxp(...args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8' });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

describe('signature: vdxp verify / vdxp sign', function () {
  this.timeout(60_000);
  let pki: TestPki;
  let dir: string;
  const file = (name: string, content: string | Buffer) => {
    const p = path.join(dir, name);
    fs.writeFileSync(p, content);
    return p;
  };
  before(async () => {
    pki = await makeTestPki();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vdxp-sig-cli-'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('signs a placeholder package and verifies it: exit 0, signer in the JSON', () => {
    const input = file('in.edxml', packageFrom(ORGAN_H41));
    const out = path.join(dir, 'signed.edxml');
    const signed = vdxp('sign', input, '--key', pki.h41.keyPath, '--cert', pki.h41.certPath, '-o', out);
    assert.equal(signed.code, 0, signed.stderr);
    const verified = vdxp('verify', out, '--trust', pki.rootCaPath, '--crl', pki.crlPath, '--json');
    assert.equal(verified.code, 0, verified.stdout + verified.stderr);
    const json = JSON.parse(verified.stdout);
    assert.equal(json.valid, true);
    assert.equal(json.signer.organId, ORGAN_H41);
    assert.equal(json.signer.fingerprint, pki.h41.fingerprint);
  });

  it('rejects with exit 1 and {"valid":false,"reason","detail"}', () => {
    const placeholder = file('placeholder.edxml', packageFrom(ORGAN_H41));
    const r = vdxp('verify', placeholder, '--trust', pki.rootCaPath, '--crl', pki.crlPath, '--json');
    assert.equal(r.code, 1);
    const json = JSON.parse(r.stdout);
    assert.deepEqual(Object.keys(json).sort(), ['detail', 'reason', 'valid']);
    assert.equal(json.valid, false);
    assert.equal(json.reason, 'placeholder-signature');
  });

  it('checks --crl: a revoked signer is rejected; no CRL at all is a usage error unless --revocation best-effort (issue 13 hole 4)', () => {
    const out = path.join(dir, 'revoked.edxml');
    assert.equal(vdxp('sign', file('g22.edxml', packageFrom(ORGAN_G22)), '--key', pki.revoked.keyPath, '--cert', pki.revoked.certPath, '-o', out).code, 0);
    const noCrl = vdxp('verify', out, '--trust', pki.rootCaPath);
    assert.equal(noCrl.code, 2);
    assert.match(noCrl.stderr, /no CRL given.*--crl.*--revocation best-effort/s);
    const optedOut = vdxp('verify', out, '--trust', pki.rootCaPath, '--revocation', 'best-effort', '--json');
    assert.equal(optedOut.code, 0, optedOut.stderr);
    assert.match(optedOut.stderr, /warning: revocation not checked \(no-crl\)/);
    assert.equal(JSON.parse(optedOut.stdout).revocationUnchecked[0].reason, 'no-crl');
    const r = vdxp('verify', out, '--trust', pki.rootCaPath, '--crl', pki.crlPath, '--json');
    assert.equal(r.code, 1);
    assert.equal(JSON.parse(r.stdout).reason, 'cert-revoked');
  });

  it('refuses a package when the only CRL is past its nextUpdate, instead of accepting it silently (issue 13 hole 4)', () => {
    const out = path.join(dir, 'h41-stale.edxml');
    assert.equal(vdxp('sign', file('h41s.edxml', packageFrom(ORGAN_H41)), '--key', pki.h41.keyPath, '--cert', pki.h41.certPath, '-o', out).code, 0);
    const stale = vdxp('verify', out, '--trust', pki.rootCaPath, '--crl', pki.staleCrlPath, '--json');
    assert.equal(stale.code, 1, stale.stdout + stale.stderr);
    assert.equal(JSON.parse(stale.stdout).reason, 'revocation-unknown');
    assert.match(JSON.parse(stale.stdout).detail, /stale since 2020-02-01/);
    const optedOut = vdxp('verify', out, '--trust', pki.rootCaPath, '--crl', pki.staleCrlPath, '--revocation', 'best-effort', '--json');
    assert.equal(optedOut.code, 0);
    assert.equal(JSON.parse(optedOut.stdout).revocationUnchecked[0].reason, 'stale-crl');
    assert.equal(vdxp('verify', out, '--trust', pki.rootCaPath, '--crl', pki.crlPath).code, 0);
  });

  it('--policy accept-unsigned accepts the placeholder (flagged), --allow-sha1 accepts SHA-1', () => {
    const placeholder = file('p2.edxml', packageFrom(ORGAN_H41));
    const lenient = vdxp('verify', placeholder, '--trust', pki.rootCaPath, '--crl', pki.crlPath, '--policy', 'accept-unsigned', '--json');
    assert.equal(lenient.code, 0);
    assert.equal(JSON.parse(lenient.stdout).flagged, 'placeholder-signature');
    const sha1 = file('sha1.edxml', signWithXmlCrypto(withoutPlaceholder(packageFrom(ORGAN_H41)), credentials(pki.h41), {
      signatureAlgorithm: 'http://www.w3.org/2000/09/xmldsig#rsa-sha1',
      digestAlgorithm: 'http://www.w3.org/2000/09/xmldsig#sha1',
    }));
    assert.equal(JSON.parse(vdxp('verify', sha1, '--trust', pki.rootCaPath, '--crl', pki.crlPath, '--json').stdout).reason, 'weak-algorithm');
    assert.equal(vdxp('verify', sha1, '--trust', pki.rootCaPath, '--crl', pki.crlPath, '--allow-sha1').code, 0);
  });

  it('--trust-config: anchors relative to the YAML file, partner policy, fingerprint bindings', () => {
    const yamlPath = file('trust.yaml', [
      `anchors: [${path.relative(dir, pki.rootCaPath)}]`,
      `crls: [${pki.crlPath}]`,
      'partners:',
      `  "${ORGAN_H41}": { policy: accept-unsigned }`,
      'organBindings:',
      `  "${ORGAN_G22}": ["${pki.h41.fingerprint}"]`,
    ].join('\n'));
    const unsignedH41 = file('u.edxml', withoutPlaceholder(packageFrom(ORGAN_H41)));
    assert.equal(vdxp('verify', unsignedH41, '--trust-config', yamlPath).code, 0);
    const h41ForG22 = file('map.edxml', signWithXmlCrypto(withoutPlaceholder(packageFrom(ORGAN_G22)), credentials(pki.h41)));
    assert.equal(vdxp('verify', h41ForG22, '--trust', pki.rootCaPath, '--crl', pki.crlPath, '--json').code, 1);
    const mapped = vdxp('verify', h41ForG22, '--trust-config', yamlPath, '--json');
    assert.equal(mapped.code, 0, mapped.stdout);
    assert.equal(JSON.parse(mapped.stdout).signer.organId, ORGAN_G22);
  });

  it('usage errors exit 2: no trust anchors, an unknown policy, an unreadable file', () => {
    const placeholder = file('p3.edxml', packageFrom(ORGAN_H41));
    assert.equal(vdxp('verify', placeholder).code, 2);
    assert.equal(vdxp('verify', placeholder, '--trust', pki.rootCaPath, '--crl', pki.crlPath, '--policy', 'sometimes').code, 2);
    assert.equal(vdxp('verify', placeholder, '--trust', pki.rootCaPath, '--crl', pki.crlPath, '--revocation', 'never').code, 2);
    assert.equal(vdxp('verify', path.join(dir, 'missing.edxml'), '--trust', pki.rootCaPath, '--crl', pki.crlPath).code, 2);
    assert.equal(vdxp('sign', placeholder, '--key', pki.h41.keyPath).code, 2);
  });

  it('sign refuses (exit 1) to re-sign a package validly signed by another agency', () => {
    const byG22 = file('byg22.edxml', signWithXmlCrypto(withoutPlaceholder(packageFrom(ORGAN_H41)), credentials(pki.g22)));
    const r = vdxp('sign', byG22, '--key', pki.h41.keyPath, '--cert', pki.h41.certPath, '-o', path.join(dir, 'never.edxml'));
    assert.equal(r.code, 1);
    assert.match(r.stderr, /signed-by-another-agency/);
    assert.equal(fs.existsSync(path.join(dir, 'never.edxml')), false);
  });
});
