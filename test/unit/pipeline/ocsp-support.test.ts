/**
 * Issue 17 point 2, as the receive path runs it (`loadSignatureSupport`, what agency.ts hands to
 * the receive handler): OCSP answers from a real `openssl ocsp`, counted in the metrics, a
 * soft-fail acceptance counted, and a responder outage on the `trust` readiness check.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { AgencyConfig } from '../../../src/config/types';
import { isRejection } from '../../../src/errors';
import { withDefaults } from '../../../src/limits';
import { createLogger } from '../../../src/observability/log';
import { createMetrics, type Metrics } from '../../../src/observability/metrics';
import { readPackageFacts } from '../../../src/pipeline/package-facts';
import { loadSignatureSupport, type SignatureSupport } from '../../../src/pipeline/signature-support';
import { signPackage } from '../../../src/signature';
import { OcspResponder } from '../../support/ocsp-responder';
import { makeOcspPki, ORGAN_G22, type OcspTestPki, type TestCredential } from '../../support/pki';
import { freePort } from '../../support/ports';
import { credentials, packageFrom } from '../../support/signature-fixtures';

describe('pipeline: OCSP in the receive path — metrics and readiness (issue 17 point 2)', function () {
  this.timeout(60_000);
  let pki: OcspTestPki;
  let responder: OcspResponder | undefined;
  let support: SignatureSupport;
  let metrics: Metrics;
  let config: AgencyConfig;

  before(async function () {
    this.timeout(120_000);
    pki = await makeOcspPki(fs.mkdtempSync(path.join(os.tmpdir(), 'vdxp-ocsp-support-')), await freePort());
    config = {
      organId: '000.00.00.A80',
      kafka: { brokers: ['127.0.0.1:1'], topics: { partitions: 1, replicationFactor: 1 } },
      trust: {
        anchors: [pki.rootCaPath],
        crls: [pki.rootCrlPath],
        ocsp: { cacheSeconds: 300, retryAfterFailureSeconds: 0 },
        partners: { [ORGAN_G22]: { revocationFailure: 'soft-fail' } },
      },
      connectors: [],
      limits: withDefaults(),
      ops: { port: 0, host: '127.0.0.1' },
    } as unknown as AgencyConfig;
    metrics = createMetrics({ defaultMetrics: false });
    support = await loadSignatureSupport(config, createLogger({ level: 'silent' }), metrics);
  });
  after(async () => {
    support?.close();
    await responder?.stop();
    fs.rmSync(pki.dir, { recursive: true, force: true });
  });

  const receive = async (who: TestCredential): Promise<string> => {
    const bytes = signPackage(Buffer.from(packageFrom(who.organId)), credentials(who));
    try {
      const evidence = await support.verify!(bytes, readPackageFacts(bytes, config.limits));
      return evidence.result;
    } catch (err) {
      if (isRejection(err)) return err.reason;
      throw err;
    }
  };
  const trustCheck = () => support.readiness.find((c) => c.name === 'trust')!.check();

  it('counts requests by outcome, reuses the cached status, soft-fails a partner and fails readiness while the responder is down', async () => {
    responder = await OcspResponder.start({ port: pki.port, indexPath: pki.indexPath, caPath: pki.issuingCaPath, signerCertPath: pki.responder.certPath, signerKeyPath: pki.responder.keyPath });
    assert.equal(await receive(pki.h41), 'valid');
    let text = await metrics.exposition();
    assert.match(text, /^vdxp_ocsp_requests_total\{outcome="good"\} 1$/m);
    assert.match(text, /^vdxp_ocsp_cached_statuses 1$/m);
    assert.match(text, /^vdxp_ocsp_cached_status_max_age_seconds \d/m);
    assert.match(text, /^vdxp_ocsp_request_duration_seconds_count 1$/m);
    assert.equal(await trustCheck(), true);

    await responder.stop();
    assert.equal(await receive(pki.h41), 'valid', 'H41 is answered from the cache');
    assert.equal(await receive(pki.g22), 'valid', 'G22 is soft-fail: accepted with the responder down');
    text = await metrics.exposition();
    assert.match(text, /^vdxp_ocsp_requests_total\{outcome="unavailable"\} 1$/m);
    assert.match(text, /^vdxp_revocation_unchecked_total\{reason="ocsp-unavailable"\} 1$/m);
    const down = await trustCheck();
    assert.equal(typeof down, 'string', 'the store is hard-fail: not ready while its responder is down');
    assert.match(down as string, /OCSP responder http:\/\/127\.0\.0\.1:\d+\/: the responder .* cannot be reached \(ECONNREFUSED\).*refused \(revocation-unknown; revocationFailure: hard-fail\)/);

    await responder.restart();
    // No package needs the responder now: the readiness check asks it again by itself.
    const deadline = Date.now() + 10_000;
    while ((await trustCheck()) !== true && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    assert.equal(await trustCheck(), true, 'ready again once the responder answers');
    assert.equal(await receive(pki.g22), 'valid');
    text = await metrics.exposition();
    assert.match(text, /^vdxp_ocsp_requests_total\{outcome="good"\} 2$/m);
  });
});
