import { strict as assert } from 'node:assert';
import { loadTrustStore } from '../../../src/signature';
import { trustReadiness } from '../../../src/pipeline/signature-support';
import { makeTestPki } from '../../support/pki';

describe('readiness of the trust material', function () {
  this.timeout(60_000);

  it('is ready while the CRLs are current, and names the stale CRL once nextUpdate has passed', async () => {
    const pki = await makeTestPki();
    const trust = await loadTrustStore({ anchors: [pki.rootCaPath], crls: [pki.crlPath] });
    assert.ok(trust.crlsStaleAfter instanceof Date, 'the CRL carries a nextUpdate');
    assert.equal(trustReadiness(trust, undefined, new Date(trust.crlsStaleAfter.getTime() - 1000)), true);
    const verdict = trustReadiness(trust, undefined, new Date(trust.crlsStaleAfter.getTime() + 1000));
    assert.equal(typeof verdict, 'string');
    assert.match(verdict as string, /CRL is stale/);
  });

  it('is not ready when a reload failed, saying why', async () => {
    const pki = await makeTestPki();
    const trust = await loadTrustStore({ anchors: [pki.rootCaPath], revocation: 'best-effort' });
    assert.equal(trustReadiness(trust, undefined), true, 'no CRL configured: nothing to go stale');
    assert.match(String(trustReadiness(trust, 'ENOENT: /etc/vdxp/trust/ca.pem')), /ENOENT/);
  });
});
