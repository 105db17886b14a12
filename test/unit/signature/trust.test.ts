import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { X509Certificate } from 'node:crypto';
import { effectivePolicy, loadTrustStore } from '../../../src/signature';
import { normalizeFingerprint } from '../../../src/signature/trust';
import { readTrustConfigFile } from '../../../src/signature/trust-config-file';
import { makeTestPki, ORGAN_G22, ORGAN_H41, type TestPki } from '../../support/pki';

describe('signature: trust store', function () {
  this.timeout(30_000);
  let pki: TestPki;
  before(async () => {
    pki = await makeTestPki();
  });

  it('loads anchors, the root\'s CRL and the intermediate\'s own CRL (issue 13 hole 4: an intermediate\'s CRL was refused at load)', async () => {
    const store = await loadTrustStore({ anchors: [pki.rootCaPath], crls: [pki.crlPath, pki.intermediateCrlPath] });
    assert.equal(store.anchors.length, 1);
    assert.equal(store.crls.length, 2);
    const revokedSerial = new X509Certificate(fs.readFileSync(pki.revokedUnderIntermediate.certPath)).serialNumber;
    assert.ok(store.crls.some((crl) => crl.revoked.has(revokedSerial.toUpperCase().replace(/^0+/, ''))));
  });

  it('refuses a CRL that names an anchor as its issuer but is not signed by that anchor', async () => {
    const forged = path.join(pki.dir, 'forged-root.crl.pem');
    // The root's name on a certificate of another key (the intermediate's), which then signs a CRL.
    const { execFileSync } = await import('node:child_process');
    const impostor = path.join(pki.dir, 'impostor-root.pem');
    const interKey = path.join(pki.dir, 'inter', 'ca.key');
    execFileSync('openssl', ['req', '-x509', '-key', interKey, '-subj', '/C=VN/O=VDXP Test Root CA/CN=VDXP Test Root CA', '-days', '30', '-out', impostor]);
    const cnf = path.join(pki.dir, 'forge.cnf');
    fs.writeFileSync(path.join(pki.dir, 'forge-index.txt'), '');
    fs.writeFileSync(path.join(pki.dir, 'forge-crlnumber'), '01\n');
    fs.writeFileSync(cnf, `[ca]\ndefault_ca=f\n[f]\ndatabase=${path.join(pki.dir, 'forge-index.txt')}\ncrlnumber=${path.join(pki.dir, 'forge-crlnumber')}\ndefault_md=sha256\ndefault_crl_days=30\n`);
    execFileSync('openssl', ['ca', '-config', cnf, '-gencrl', '-cert', impostor, '-keyfile', interKey, '-out', forged], { stdio: 'ignore' });
    await assert.rejects(loadTrustStore({ anchors: [pki.rootCaPath], crls: [forged] }), /not signed by that trust anchor's key/);
  });

  it('refuses a store without any CRL unless revocation: best-effort says so (issue 13 hole 4)', async () => {
    await assert.rejects(loadTrustStore({ anchors: [pki.rootCaPath] }), /no CRL is configured.*revocation: best-effort/);
    const lenient = await loadTrustStore({ anchors: [pki.rootCaPath], revocation: 'best-effort' });
    assert.equal(lenient.revocation, 'best-effort');
  });

  it('refuses a binding that is not a SHA-256 fingerprint', async () => {
    assert.equal(normalizeFingerprint(pki.h41.fingerprint.toUpperCase().replace(/(..)(?!$)/g, '$1:')), pki.h41.fingerprint);
    await assert.rejects(loadTrustStore({ anchors: [pki.rootCaPath], revocation: 'best-effort', organBindings: { [ORGAN_H41]: ['abc'] } }), /not a SHA-256 fingerprint/);
  });

  it('resolves policy: explicit override, then partner entry, then default (required)', async () => {
    const store = await loadTrustStore({ anchors: [pki.rootCaPath], revocation: 'best-effort', partners: { [ORGAN_H41]: { policy: 'accept-unsigned', allowSha1: true, revocationFailure: 'soft-fail' } } });
    const hard = { revocationFailure: 'hard-fail' };
    assert.deepEqual(effectivePolicy(store, ORGAN_H41), { policy: 'accept-unsigned', allowSha1: true, revocation: 'best-effort', revocationFailure: 'soft-fail' });
    assert.deepEqual(effectivePolicy(store, ORGAN_G22), { policy: 'required', allowSha1: false, revocation: 'best-effort', ...hard });
    assert.deepEqual(effectivePolicy(store, undefined), { policy: 'required', allowSha1: false, revocation: 'best-effort', ...hard });
    assert.deepEqual(effectivePolicy(store, ORGAN_H41, { policy: 'required', allowSha1: false, revocation: 'required', revocationFailure: 'hard-fail' }), { policy: 'required', allowSha1: false, revocation: 'required', ...hard });
    const lenient = await loadTrustStore({ anchors: [pki.rootCaPath], revocation: 'best-effort', defaultPolicy: 'accept-unsigned' });
    assert.equal(effectivePolicy(lenient, ORGAN_G22).policy, 'accept-unsigned');
    assert.equal(effectivePolicy(lenient, 'constructor').policy, 'accept-unsigned', 'no prototype keys as partners');
  });

  it('reads a --trust-config file: bare section or a whole agency config, paths relative to the file', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vdxp-trustcfg-'));
    try {
      fs.writeFileSync(path.join(dir, 'bare.yaml'), 'anchors: [ca.pem]\npartners:\n  "000.00.00.H41": { allowSha1: true }\n');
      fs.writeFileSync(path.join(dir, 'agency.yaml'), 'organId: 000.00.00.G22\ntrust:\n  anchors: [/etc/ca.pem]\n  defaultPolicy: accept-unsigned\n');
      fs.writeFileSync(path.join(dir, 'bad.yaml'), 'anchors: [ca.pem]\ndefaultPolicy: sometimes\n');
      const bare = readTrustConfigFile(path.join(dir, 'bare.yaml'));
      assert.deepEqual(bare.anchors, [path.join(dir, 'ca.pem')]);
      assert.deepEqual(bare.partners, { [ORGAN_H41]: { allowSha1: true } });
      const agency = readTrustConfigFile(path.join(dir, 'agency.yaml'));
      assert.deepEqual(agency.anchors, ['/etc/ca.pem']);
      assert.equal(agency.defaultPolicy, 'accept-unsigned');
      assert.throws(() => readTrustConfigFile(path.join(dir, 'bad.yaml')), /defaultPolicy: expected one of required, accept-unsigned/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
