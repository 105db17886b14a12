/**
 * Issue 16 point 2: a connector whose own signing certificate cannot sign for its OrganId is not
 * ready, and says why; and issue 13 hole 4: the explicit opt-out of verification is visible on
 * /readyz and in a metric.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import type { AgencyConfig } from '../../../src/config/types';
import { withDefaults } from '../../../src/limits';
import { createLogger } from '../../../src/observability/log';
import { createMetrics } from '../../../src/observability/metrics';
import { startOpsServer } from '../../../src/observability/server';
import { ownCertificateProblem } from '../../../src/pipeline/own-certificate';
import { loadSignatureSupport } from '../../../src/pipeline/signature-support';
import { loadTrustStore, signPackage } from '../../../src/signature';
import { readPackageFacts } from '../../../src/pipeline/package-facts';
import { freePort } from '../../support/ports';
import { makeTestPki, ORGAN_A80, ORGAN_G22, ORGAN_H41, type TestCredential, type TestPki } from '../../support/pki';
import { credentials, packageFrom } from '../../support/signature-fixtures';

function agencyConfig(_pki: TestPki, organId: string, signer: TestCredential | undefined, trust: AgencyConfig['trust']): AgencyConfig {
  return {
    organId,
    kafka: { brokers: ['127.0.0.1:1'], topics: { partitions: 1, replicationFactor: 1 } },
    ...(signer ? { signing: { keyFile: signer.keyPath, certFile: signer.certPath, ...(signer.chainPath ? { chainFile: signer.chainPath } : {}) } } : {}),
    trust,
    connectors: [],
    limits: withDefaults(),
    ops: { port: 0, host: '127.0.0.1' },
  } as unknown as AgencyConfig;
}

const quiet = createLogger({ level: 'silent' });

describe('pipeline: the agency\'s own signing certificate (issue 16 point 2)', function () {
  this.timeout(60_000);
  let pki: TestPki;
  before(async () => {
    pki = await makeTestPki();
  });
  const trustOf = () => loadTrustStore({ anchors: [pki.rootCaPath], crls: [pki.crlPath, pki.intermediateCrlPath] });

  it('is fit when it is bound to the OrganId, valid, allowed to sign and chains to our anchors', async () => {
    const trust = await trustOf();
    assert.equal(ownCertificateProblem(credentials(pki.h41), ORGAN_H41, trust), true);
    assert.equal(ownCertificateProblem(credentials(pki.a80), ORGAN_A80, trust), true, 'through the intermediate in signing.chainFile');
  });

  it('names each reason it cannot sign: another OrganId, expired, revoked, a key of another certificate, no chain', async () => {
    const trust = await trustOf();
    assert.match(String(ownCertificateProblem(credentials(pki.h41), ORGAN_G22, trust)), /not bound to this agency's OrganId 000\.00\.00\.G22.*UID=<OrganId>.*organBindings.*signer-not-sender/);
    assert.match(String(ownCertificateProblem(credentials(pki.expired), ORGAN_H41, trust)), /expired on 2021-01-01/);
    assert.match(String(ownCertificateProblem(credentials(pki.revoked), ORGAN_G22, trust)), /partners would refuse our signatures: cert-revoked/);
    assert.match(String(ownCertificateProblem({ ...credentials(pki.h41), keyPem: fs.readFileSync(pki.g22.keyPath) }, ORGAN_H41, trust)), /keyFile does not belong to signing.certFile/);
    assert.match(String(ownCertificateProblem(credentials(pki.attacker), ORGAN_H41, trust)), /partners would refuse our signatures: untrusted-chain/);
  });

  it('fails /readyz with the reason instead of sending everything to rejected/ (signer-not-sender)', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const misbound = await loadSignatureSupport(agencyConfig(pki, ORGAN_G22, pki.h41, { anchors: [pki.rootCaPath], crls: [pki.crlPath] }), quiet, metrics);
    const port = await freePort();
    const ops = await startOpsServer({ port, host: '127.0.0.1', metrics, readinessChecks: misbound.readiness });
    try {
      const res = await fetch(`http://127.0.0.1:${port}/readyz`);
      assert.equal(res.status, 503);
      const body = (await res.json()) as { failed: string[]; checks: Array<{ name: string; detail?: string }> };
      assert.deepEqual(body.failed, ['signing']);
      assert.match(body.checks.find((c) => c.name === 'signing')!.detail!, /not bound to this agency's OrganId 000\.00\.00\.G22/);
    } finally {
      await ops.close();
      misbound.close();
    }
    const fit = await loadSignatureSupport(agencyConfig(pki, ORGAN_H41, pki.h41, { anchors: [pki.rootCaPath], crls: [pki.crlPath] }), quiet, createMetrics({ defaultMetrics: false }));
    assert.equal(await fit.readiness.find((c) => c.name === 'signing')!.check(), true);
    fit.close();
  });
});

describe('pipeline: trust opt-outs are visible (issue 13 hole 4)', function () {
  this.timeout(60_000);

  it('insecureSkipVerification: no verify step, a note on /readyz, vdxp_trust_opt_out{setting="skip_verification"} 1', async () => {
    const pki = await makeTestPki();
    const metrics = createMetrics({ defaultMetrics: false });
    const support = await loadSignatureSupport(agencyConfig(pki, ORGAN_H41, undefined, { insecureSkipVerification: true } as AgencyConfig['trust']), quiet, metrics);
    try {
      assert.equal(support.verify, undefined);
      const verdict = await support.readiness.find((c) => c.name === 'trust')!.check();
      assert.deepEqual(verdict, { ok: true, note: 'trust.insecureSkipVerification is true: signatures of received packages are NOT verified (a test setup, never production)' });
      const text = await metrics.exposition();
      assert.match(text, /^vdxp_trust_opt_out\{setting="skip_verification"\} 1$/m);
      assert.match(text, /^vdxp_trust_opt_out\{setting="revocation_best_effort"\} 0$/m);
    } finally {
      support.close();
    }
  });

  it('revocation: best-effort for a partner: the gauge says so, and each signature accepted without a revocation status is counted', async () => {
    const pki = await makeTestPki();
    const metrics = createMetrics({ defaultMetrics: false });
    const config = agencyConfig(pki, ORGAN_G22, undefined, { anchors: [pki.rootCaPath], crls: [pki.crlPath], partners: { [ORGAN_A80]: { revocation: 'best-effort' } } });
    const support = await loadSignatureSupport(config, quiet, metrics);
    try {
      // A80's issuing CA publishes no CRL in this config: accepted under best-effort, and counted.
      const signed = signPackage(Buffer.from(packageFrom(ORGAN_A80)), credentials(pki.a80));
      await support.verify!(signed, readPackageFacts(signed, config.limits));
      const text = await metrics.exposition();
      assert.match(text, /^vdxp_trust_opt_out\{setting="revocation_best_effort"\} 1$/m);
      assert.match(text, /^vdxp_revocation_unchecked_total\{reason="no-crl"\} 1$/m);
    } finally {
      support.close();
    }
  });
});
