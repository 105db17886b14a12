/**
 * Issue 17 point 2: OCSP where configured, against a real responder (`openssl ocsp` serving the
 * test CA's index). Each case signs a real package and verifies it the way the receive path does
 * (`verifyPackageAsync`: the responder is asked, then the synchronous checks run).
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { Rejection } from '../../../src/errors';
import { loadTrustStore, signPackage, verifyPackageAsync, type TrustConfig, type TrustStore, type VerifyOptions } from '../../../src/signature';
import type { OcspOutcome } from '../../../src/signature/ocsp';
import { OcspResponder } from '../../support/ocsp-responder';
import { REPO_ROOT } from '../../support/paths';
import { indexWithRevoked, makeOcspPki, ORGAN_A80, ORGAN_G22, type OcspTestPki, type TestCredential } from '../../support/pki';
import { freePort, listenOnFreePort } from '../../support/ports';
import { credentials, packageFrom } from '../../support/signature-fixtures';

interface Verdict {
  reason: string;
  detail: string;
  gaps: Array<{ reason: string; acceptedBy: string }>;
}

async function verdictOf(bytes: Buffer, trust: TrustStore, options: VerifyOptions = {}): Promise<Verdict> {
  try {
    const outcome = await verifyPackageAsync(bytes, trust, options);
    return { reason: outcome.status === 'valid' ? 'valid' : outcome.status, detail: '', gaps: outcome.status === 'valid' ? outcome.revocationGaps : [] };
  } catch (err) {
    if (err instanceof Rejection) return { reason: err.reason, detail: err.detail, gaps: [] };
    throw err;
  }
}

describe('signature: OCSP against openssl ocsp (issue 17 point 2)', function () {
  this.timeout(60_000);
  let pki: OcspTestPki;
  let responder: OcspResponder | undefined;
  const outcomes: OcspOutcome[] = [];

  const signed = (who: TestCredential, organId = who.organId) => signPackage(Buffer.from(packageFrom(organId)), credentials(who));
  const trustWith = async (extra: Partial<TrustConfig> = {}, ocsp: TrustConfig['ocsp'] = {}) => {
    const trust = await loadTrustStore({ anchors: [pki.rootCaPath], crls: [pki.rootCrlPath], ...extra, ocsp: { cacheSeconds: 0, retryAfterFailureSeconds: 0, ...ocsp } });
    trust.ocsp!.observer = { request: (outcome) => outcomes.push(outcome) };
    return trust;
  };
  const serve = async (signer: { certPath: string; keyPath: string }, more: { indexPath?: string; nextUpdateMinutes?: number } = {}) => {
    await responder?.stop();
    responder = await OcspResponder.start({ port: pki.port, indexPath: more.indexPath ?? pki.indexPath, caPath: pki.issuingCaPath, signerCertPath: signer.certPath, signerKeyPath: signer.keyPath, ...more });
  };
  const issuingCa = () => ({ certPath: pki.issuingCaPath, keyPath: pki.issuingCaKeyPath });

  before(async function () {
    this.timeout(120_000);
    pki = await makeOcspPki(fs.mkdtempSync(path.join(os.tmpdir(), 'vdxp-ocsp-pki-')), await freePort());
  });
  beforeEach(() => (outcomes.length = 0));
  afterEach(async () => {
    await responder?.stop();
    responder = undefined;
  });
  after(() => fs.rmSync(pki.dir, { recursive: true, force: true }));

  it('verifies a package whose signer the responder named in its AIA says is good (delegated responder, and the CA itself)', async () => {
    await serve(pki.responder);
    const trust = await trustWith();
    assert.deepEqual(await verdictOf(signed(pki.h41), trust), { reason: 'valid', detail: '', gaps: [] });
    await serve(issuingCa());
    assert.equal((await verdictOf(signed(pki.h41), trust)).reason, 'valid');
    assert.deepEqual(outcomes, ['good', 'good'], 'one request per verification (cacheSeconds: 0)');
  });

  it('refuses the second of two packages with cert-revoked when the certificate is revoked between them', async () => {
    await serve(pki.responder);
    const trust = await trustWith();
    assert.equal((await verdictOf(signed(pki.g22), trust)).reason, 'valid');
    await serve(pki.responder, { indexPath: indexWithRevoked(pki, [pki.g22.serial]) });
    const second = await verdictOf(signed(pki.g22), trust);
    assert.equal(second.reason, 'cert-revoked', second.detail);
    assert.match(second.detail, new RegExp(`revoked according to the OCSP responder ${pki.url.replace(/\./g, '\\.')}.*keyCompromise`));
    // The other agency of the same CA is not affected.
    assert.equal((await verdictOf(signed(pki.h41), trust)).reason, 'valid');
    assert.deepEqual(outcomes, ['good', 'revoked', 'good']);
  });

  it('reuses a cached status within cacheSeconds: the responder down, the second package is still verified without a request', async () => {
    await serve(pki.responder);
    const trust = await trustWith({}, { cacheSeconds: 300 });
    assert.equal((await verdictOf(signed(pki.h41), trust)).reason, 'valid');
    await responder!.stop();
    assert.equal((await verdictOf(signed(pki.h41), trust)).reason, 'valid');
    assert.deepEqual(outcomes, ['good']);
    const stats = trust.ocsp!.cacheStats();
    assert.equal(stats.entries, 1);
    assert.ok(stats.oldestStatusAgeSeconds >= 0 && stats.oldestStatusAgeSeconds < 60, String(stats.oldestStatusAgeSeconds));
    // Past the cache's reuse the responder is asked again, and its absence counts.
    const later = new Date(Date.now() + 301_000);
    assert.equal((await verdictOf(signed(pki.h41), trust, { now: later })).reason, 'revocation-unknown');
  });

  it('responder down: hard-fail (the default) refuses with revocation-unknown; soft-fail accepts and reports the gap', async () => {
    const trust = await trustWith({ partners: { [ORGAN_G22]: { revocationFailure: 'soft-fail' } } });
    const hard = await verdictOf(signed(pki.h41), trust);
    assert.equal(hard.reason, 'revocation-unknown');
    assert.match(hard.detail, /OCSP http:\/\/127\.0\.0\.1:\d+\/: the responder .* cannot be reached \(ECONNREFUSED\)/);
    const soft = await verdictOf(signed(pki.g22), trust);
    assert.equal(soft.reason, 'valid');
    assert.deepEqual(soft.gaps.map((g) => [g.reason, g.acceptedBy]), [['ocsp-unavailable', 'soft-fail']]);
    assert.deepEqual(outcomes, ['unavailable', 'unavailable']);
    const health = trust.ocsp!.responderHealth();
    assert.equal(health.length, 1);
    assert.equal(health[0]!.consecutiveFailures, 2);
  });

  it('soft-fail never accepts a revoked certificate, nor a response signed by a key that may not sign it', async () => {
    const trust = await trustWith({ revocationFailure: 'soft-fail' });
    await serve(pki.responder, { indexPath: indexWithRevoked(pki, [pki.g22.serial]) });
    assert.equal((await verdictOf(signed(pki.g22), trust)).reason, 'cert-revoked');
    await serve(pki.responderWithoutEku);
    assert.equal((await verdictOf(signed(pki.h41), trust)).reason, 'revocation-unknown');
  });

  it('refuses a stale response: past its nextUpdate (openssl ocsp -nmin 1), or older than maxAgeSeconds', async () => {
    await serve(pki.responder, { nextUpdateMinutes: 1 });
    // The verification's clock is read before the request: a few seconds of skew absorb the responder's later thisUpdate.
    const trust = await trustWith({}, { clockSkewSeconds: 5 });
    assert.equal((await verdictOf(signed(pki.h41), trust)).reason, 'valid', 'fresh at once');
    const inTwoMinutes = new Date(Date.now() + 120_000);
    const stale = await verdictOf(signed(pki.h41), trust, { now: inTwoMinutes });
    assert.equal(stale.reason, 'revocation-unknown');
    assert.match(stale.detail, /the response is stale: its nextUpdate .* has passed/);

    await serve(pki.responder); // no nextUpdate: only maxAgeSeconds limits it
    const strict = await trustWith({}, { clockSkewSeconds: 5, maxAgeSeconds: 1 });
    const old = await verdictOf(signed(pki.h41), strict, { now: new Date(Date.now() + 10_000) });
    assert.equal(old.reason, 'revocation-unknown');
    assert.match(old.detail, /older than trust\.ocsp\.maxAgeSeconds \(1\)/);
    assert.deepEqual(outcomes, ['good', 'stale', 'stale']);
  });

  it('refuses a response signed by a responder without the OCSP-signing EKU, or by one another CA issued', async () => {
    const trust = await trustWith();
    await serve(pki.responderWithoutEku);
    const noEku = await verdictOf(signed(pki.h41), trust);
    assert.equal(noEku.reason, 'revocation-unknown');
    assert.match(noEku.detail, /may not sign OCSP responses .*does not carry the OCSP-signing extendedKeyUsage/);

    await serve(pki.foreignResponder);
    const foreign = await verdictOf(signed(pki.h41), trust);
    assert.equal(foreign.reason, 'revocation-unknown');
    assert.match(foreign.detail, /Foreign OCSP responder.* is not issued by .*VDXP OCSP Test Issuing CA/);
    assert.deepEqual(outcomes, ['unauthorized-signer', 'unauthorized-signer']);
  });

  it('falls back to a current CRL of the issuing CA when the responder is down, unless fallbackToCrl is false', async () => {
    const withCrl = { crls: [pki.rootCrlPath, pki.issuingCrlPath] };
    assert.equal((await verdictOf(signed(pki.h41), await trustWith(withCrl))).reason, 'valid');
    const noFallback = await verdictOf(signed(pki.h41), await trustWith(withCrl, { fallbackToCrl: false }));
    assert.equal(noFallback.reason, 'revocation-unknown');
    assert.match(noFallback.detail, /fallbackToCrl is false/);
  });

  it('asks the responder trust.ocsp.responders names for a certificate without AIA; without it, nothing vouches for that certificate', async () => {
    await serve(pki.responder);
    const overridden = await trustWith({}, { responders: { [pki.issuingCaFingerprint]: pki.url } });
    assert.equal((await verdictOf(signed(pki.a80NoAia, ORGAN_A80), overridden)).reason, 'valid');
    const plain = await verdictOf(signed(pki.a80NoAia, ORGAN_A80), await trustWith());
    assert.equal(plain.reason, 'revocation-unknown');
    assert.match(plain.detail, /no CRL of its issuer is configured/);
    assert.deepEqual(outcomes, ['good']);
  });

  it('without trust.ocsp, the responder is never asked (CRLs only), and OCSP alone satisfies the fail-closed load', async () => {
    await serve(pki.responder);
    const crlOnly = await loadTrustStore({ anchors: [pki.rootCaPath], crls: [pki.rootCrlPath] });
    assert.equal((await verdictOf(signed(pki.h41), crlOnly)).reason, 'revocation-unknown');
    await assert.rejects(loadTrustStore({ anchors: [pki.rootCaPath] }), /no CRL is configured, nor trust\.ocsp/);
    const ocspOnly = await loadTrustStore({ anchors: [pki.rootCaPath], ocsp: {} });
    // The issuing CA itself names no responder and no CRL covers it: refused, fail-closed.
    assert.equal((await verdictOf(signed(pki.h41), ocspOnly)).reason, 'revocation-unknown');
  });

  it('keeps G22 and H41 apart in the cache (one status per issuer and serial)', async () => {
    await serve(pki.responder, { indexPath: indexWithRevoked(pki, [pki.g22.serial]) });
    const trust = await trustWith({}, { cacheSeconds: 300 });
    assert.equal((await verdictOf(signed(pki.h41), trust)).reason, 'valid');
    assert.equal((await verdictOf(signed(pki.g22), trust)).reason, 'cert-revoked');
    assert.equal((await verdictOf(signed(pki.h41), trust)).reason, 'valid');
    assert.deepEqual(outcomes, ['good', 'revoked']);
  });

  it('vdxp verify --ocsp: exit 0 while good, 1 cert-revoked once revoked, 1 revocation-unknown with the responder down (0 under --revocation-failure soft-fail)', async () => {
    const file = path.join(pki.dir, 'g22.edxml');
    fs.writeFileSync(file, signed(pki.g22));
    const verify = (...extra: string[]) => {
      const r = spawnSync(process.execPath, [path.join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js'), 'verify', file, '--trust', pki.rootCaPath, '--crl', pki.rootCrlPath, '--ocsp', '--json', ...extra], { encoding: 'utf8', timeout: 30_000 });
      return { code: r.status, out: JSON.parse(r.stdout || '{}') as { valid?: boolean; reason?: string; revocationUnchecked?: Array<{ reason: string }> }, stderr: r.stderr };
    };
    await serve(pki.responder);
    let r = verify();
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.out.valid, true);
    await serve(pki.responder, { indexPath: indexWithRevoked(pki, [pki.g22.serial]) });
    r = verify();
    assert.deepEqual([r.code, r.out.reason], [1, 'cert-revoked']);
    await responder!.stop();
    r = verify();
    assert.deepEqual([r.code, r.out.reason], [1, 'revocation-unknown']);
    r = verify('--revocation-failure', 'soft-fail');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.out.revocationUnchecked?.[0]?.reason, 'ocsp-unavailable');
    assert.match(r.stderr, /warning: revocation not checked \(ocsp-unavailable\), accepted under soft-fail/);
  });

  it('refuses a replayed response that carries another request\'s nonce; with nonce: off the same replay is taken (the nonce is the defence)', async () => {
    await serve(pki.responder);
    // A man in the middle that forwards the first request to the responder and answers every later one with that first answer.
    let captured: Buffer | undefined;
    const replayer = http.createServer((req, res) => {
      const body: Buffer[] = [];
      req.on('data', (c: Buffer) => body.push(c));
      req.on('end', () => {
        const answer = (bytes: Buffer) => res.writeHead(200, { 'content-type': 'application/ocsp-response' }).end(bytes);
        if (captured) return answer(captured);
        const upstream = http.request(pki.url, { method: 'POST', agent: false, headers: { 'content-type': 'application/ocsp-request' } }, (r) => {
          const parts: Buffer[] = [];
          r.on('data', (c: Buffer) => parts.push(c));
          r.on('end', () => answer((captured = Buffer.concat(parts))));
        });
        upstream.end(Buffer.concat(body));
      });
    });
    const port = await listenOnFreePort(replayer);
    try {
      const via = { responders: { [pki.issuingCaFingerprint]: `http://127.0.0.1:${port}/` } };
      const trust = await trustWith({}, via);
      assert.equal((await verdictOf(signed(pki.h41), trust)).reason, 'valid');
      const replayed = await verdictOf(signed(pki.h41), trust);
      assert.equal(replayed.reason, 'revocation-unknown');
      assert.match(replayed.detail, /another nonce than the request \(a replayed response\)/);
      assert.deepEqual(outcomes, ['good', 'bad-response']);
      captured = undefined;
      const noNonce = await trustWith({}, { ...via, nonce: 'off' });
      assert.equal((await verdictOf(signed(pki.h41), noNonce)).reason, 'valid');
      assert.equal((await verdictOf(signed(pki.h41), noNonce)).reason, 'valid', 'a replay of a response without nonce passes on freshness alone');
    } finally {
      await new Promise((resolve) => replayer.close(resolve));
    }
  });
});
