import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
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

  it('loads anchors and the revoked serials of a CRL an anchor signed', async () => {
    const store = await loadTrustStore({ anchors: [pki.rootCaPath, pki.intermediateCaPath], crls: [pki.crlPath] });
    assert.equal(store.anchors.length, 2);
    const revokedSerial = new (await import('node:crypto')).X509Certificate(fs.readFileSync(pki.revoked.certPath)).serialNumber;
    const [serials] = [...store.revokedSerials.values()];
    assert.ok(serials!.has(revokedSerial.toUpperCase().replace(/^0+/, '')));
  });

  it('refuses a CRL no configured anchor signed', async () => {
    await assert.rejects(loadTrustStore({ anchors: [pki.intermediateCaPath], crls: [pki.crlPath] }), /not signed by any configured trust anchor/);
  });

  it('refuses a binding that is not a SHA-256 fingerprint', async () => {
    assert.equal(normalizeFingerprint(pki.h41.fingerprint.toUpperCase().replace(/(..)(?!$)/g, '$1:')), pki.h41.fingerprint);
    await assert.rejects(loadTrustStore({ anchors: [pki.rootCaPath], organBindings: { [ORGAN_H41]: ['abc'] } }), /not a SHA-256 fingerprint/);
  });

  it('resolves policy: explicit override, then partner entry, then default (required)', async () => {
    const store = await loadTrustStore({ anchors: [pki.rootCaPath], partners: { [ORGAN_H41]: { policy: 'accept-unsigned', allowSha1: true } } });
    assert.deepEqual(effectivePolicy(store, ORGAN_H41), { policy: 'accept-unsigned', allowSha1: true });
    assert.deepEqual(effectivePolicy(store, ORGAN_G22), { policy: 'required', allowSha1: false });
    assert.deepEqual(effectivePolicy(store, undefined), { policy: 'required', allowSha1: false });
    assert.deepEqual(effectivePolicy(store, ORGAN_H41, { policy: 'required', allowSha1: false }), { policy: 'required', allowSha1: false });
    const lenient = await loadTrustStore({ anchors: [pki.rootCaPath], defaultPolicy: 'accept-unsigned' });
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
