/**
 * Binds the agency config's `signing:` and `trust:` sections to the pipeline (DESIGN.md §5):
 * `sign` for a legacy system that cannot sign, `verify` per partner policy before delivery, and
 * readiness checks: the trust material is loaded and fresh, and the agency's own signing
 * certificate can sign for its OrganId. Both are re-read periodically, so a rotated CRL, anchor
 * or signing certificate in a mounted secret takes effect without a restart. The signing key is a
 * PEM file or a key in a PKCS#11 token (src/signature/pkcs11): a token that cannot be used makes
 * the connector not ready, with the typed failure on /readyz, in the log and in the metrics.
 *
 * With `trust.ocsp`, one OCSP client (and its cache) serves every reload; the responders are asked
 * before each verification whose path the cache cannot answer for, and their outages show on
 * /readyz (see `trustReadiness`).
 *
 * `trust: { insecureSkipVerification: true }` (test setups only) turns verification off, loudly:
 * a warning at start, a note on /readyz and vdxp_trust_opt_out{setting="skip_verification"} 1.
 */
import * as fs from 'node:fs';
import { X509Certificate, type KeyObject } from 'node:crypto';
import type { AgencyConfig, SigningConfig } from '../config/types';
import { isRejection } from '../errors';
import type { Logger } from '../observability/log';
import type { Metrics } from '../observability/metrics';
import type { ReadinessCheck } from '../observability/server';
import type { ParsedXml } from '../edxml/safe-xml';
import { loadTrustStore, ocspClientFor, signPackage, signParsed, verifyPackageAsync, verifyParsedAsync, type RenderedPiece, type TrustConfig, type TrustStore } from '../signature';
import type { OcspClient, ResponderHealth } from '../signature/ocsp-source';
import { sameName } from '../signature/certificate-facts';
import type { SignerCredentials } from '../signature/sign';
import { reusableParse, type PackageFacts } from './package-facts';
import { KEY_NOT_OF_CERTIFICATE, ownCertificateProblem, TOKEN_KEY_NOT_OF_CERTIFICATE } from './own-certificate';
import { isTokenError } from '../signature/pkcs11/token-failure';
import { TokenKey } from '../signature/pkcs11/token-key';
import { effectivePolicy } from '../signature/trust';
import type { CertificateEvidence } from '../trail/record';
import type { VerificationEvidence } from './trail-steps';

export interface SignatureSupport {
  /** Signs a package in memory (statuses the connector writes). */
  sign?: (edxml: Buffer) => Buffer;
  /** Signs a package already parsed for its facts, in memory or spooled (the send pipeline). */
  signParsed?: (parsed: ParsedXml) => RenderedPiece[];
  verify?: (edxml: Buffer, facts: PackageFacts) => Promise<VerificationEvidence>;
  /** The certificate the connector signs with, for the trail. */
  signingCertificate?: CertificateEvidence;
  readiness: ReadinessCheck[];
  /** Stops the periodic reload. */
  close(): void;
}

const TRUST_RELOAD_MS = 5 * 60_000;

export const SKIP_VERIFICATION_NOTE =
  'trust.insecureSkipVerification is true: signatures of received packages are NOT verified (a test setup, never production)';

/** The PEM key and certificate, or the token key with its certificate from a file or from the token. */
function readCredentials(signing: SigningConfig, token: TokenKey | undefined): SignerCredentials {
  const chainPem = signing.chainFile ? fs.readFileSync(signing.chainFile) : undefined;
  if (token) {
    // certificateDer() opens the token: a TokenError while it cannot be.
    const certPem = signing.certFile ? fs.readFileSync(signing.certFile) : new X509Certificate(token.certificateDer()!).toString();
    return { key: token, certPem, chainPem };
  }
  return { keyPem: fs.readFileSync(signing.keyFile!), certPem: fs.readFileSync(signing.certFile!), chainPem };
}

function sameCredentials(a: SignerCredentials, b: SignerCredentials): boolean {
  const eq = (x: string | Buffer | undefined, y: string | Buffer | undefined) => (x === undefined || y === undefined ? x === y : Buffer.from(x).equals(Buffer.from(y)));
  const sameKey = 'keyPem' in a && 'keyPem' in b ? eq(a.keyPem, b.keyPem) : 'key' in a && 'key' in b && a.key === b.key;
  return sameKey && eq(a.certPem, b.certPem) && eq(a.chainPem, b.chainPem);
}

/** The token key of `signing.pkcs11`, its failures logged and counted (docs/OPERATIONS.md, "Keys in a token"). */
function openTokenKey(signing: SigningConfig, log: Logger, metrics: Metrics): TokenKey {
  const settings = signing.pkcs11!;
  const token: TokenKey = new TokenKey(settings, {
    certificateFromToken: signing.certFile === undefined,
    retryIntervalMs: (settings.retryIntervalSeconds ?? 10) * 1000,
    events: {
      login: (outcome) => {
        metrics.signingTokenLogin(outcome);
        if (outcome === 'ok') log.info({ step: 'signing', check: 'signing' }, `logged in to ${token.describe()}`);
      },
      failed: (err) => {
        metrics.signingTokenFailure(err.failure);
        log.error({ step: 'signing', check: 'signing', tokenFailure: err.failure, ...(err.ckr ? { ckr: err.ckr } : {}) }, `PKCS#11 signing key: ${err.message}`);
      },
      recovered: () => log.info({ step: 'signing', check: 'signing' }, `PKCS#11 signing key usable again: ${token.describe()}`),
    },
  });
  return token;
}

export async function loadSignatureSupport(config: AgencyConfig, log: Logger, metrics: Metrics): Promise<SignatureSupport> {
  const skipVerification = config.trust.insecureSkipVerification === true;
  const trustConfig = config.trust as TrustConfig;
  let trust: TrustStore | undefined;
  let trustError: string | undefined;
  let ownProblem: true | string = true;

  metrics.setTrustOptOut('skip_verification', skipVerification);
  let ocsp: OcspClient | undefined;
  if (skipVerification) {
    log.warn({ step: 'startup' }, SKIP_VERIFICATION_NOTE);
  } else {
    if (trustConfig.ocsp) {
      ocsp = ocspClientFor(trustConfig.ocsp);
      ocsp.observer = { request: (outcome, seconds) => metrics.ocspRequest(outcome, seconds) };
      const client = ocsp;
      metrics.observeOcspCache(() => client.cacheStats());
    }
    trust = await loadTrustStore(trustConfig, { ocsp }); // a broken trust config stops the start: nothing is accepted unchecked
    reportTrust(trust, trustConfig, metrics, log);
  }

  let credentials: SignerCredentials | undefined;
  let signingCertificate: CertificateEvidence | undefined;
  let token: TokenKey | undefined;
  let tokenKeyChecked: KeyObject | undefined;
  const checkOwnCertificate = () => {
    if (!credentials || !config.signing) return;
    const before = ownProblem;
    ownProblem = ownCertificateProblem(credentials, config.organId, trust);
    if (ownProblem !== true && ownProblem !== before) log.error({ step: 'readiness', check: 'signing' }, `own signing certificate: ${ownProblem}`);
    const certificate = new X509Certificate(credentials.certPem);
    metrics.setCertificateExpiry('signing', new Date(certificate.validTo));
    signingCertificate = { subject: certificate.subject.replace(/\n/g, ', '), serialNumber: certificate.serialNumber, fingerprint: certificate.fingerprint256.replace(/:/g, '').toLowerCase() };
  };
  /**
   * The credentials to sign with. With a token that could not be opened yet (at start, or since),
   * reading them opens it: a TokenError until it can be, and the source keeps the item.
   */
  const currentCredentials = (): SignerCredentials => {
    if (!credentials) {
      credentials = readCredentials(config.signing!, token);
      checkOwnCertificate();
    }
    return credentials;
  };
  let sign: SignatureSupport['sign'];
  let signParsedPackage: SignatureSupport['signParsed'];
  if (config.signing) {
    if (config.signing.pkcs11) {
      token = openTokenKey(config.signing, log, metrics);
      // A token that cannot be opened does not stop the start: the connector runs, not ready,
      // and /readyz says why (a restart loop would try the PIN again at every start).
      try {
        currentCredentials();
      } catch (err) {
        if (!isTokenError(err)) throw err;
      }
    } else {
      currentCredentials();
    }
    sign = (edxml) => signPackage(edxml, currentCredentials(), { limits: config.limits, trust });
    signParsedPackage = (parsed) => signParsed(parsed, currentCredentials(), { limits: config.limits, trust });
  }
  /** The `signing` readiness check: the token is there (probed, opened again when due), and our certificate can sign for us. */
  const signingReadiness = (): true | string => {
    if (token) {
      const problem = token.check();
      if (problem) return `PKCS#11 signing key: ${problem.message}`;
      try {
        currentCredentials();
        const key = token.publicKey();
        // Opened again (or replaced): the key is checked against the certificate once more.
        if (key !== tokenKeyChecked) {
          tokenKeyChecked = key;
          checkOwnCertificate();
        }
      } catch (err) {
        if (isTokenError(err)) return `PKCS#11 signing key: ${err.message}`;
        throw err;
      }
    }
    return ownProblem;
  };
  if (config.kafka.tls?.certFile) {
    metrics.setCertificateExpiry('kafka_client', new Date(new X509Certificate(fs.readFileSync(config.kafka.tls.certFile)).validTo));
  }

  const reload = async () => {
    if (!skipVerification) {
      try {
        const fresh = await loadTrustStore(trustConfig, { ocsp });
        trust = fresh;
        trustError = undefined;
        reportTrust(fresh, trustConfig, metrics);
      } catch (err) {
        trustError = (err as Error).message;
        log.error({ step: 'readiness', err }, 'reloading trust material failed; keeping the previous one');
      }
    }
    if (config.signing) {
      try {
        const fresh = readCredentials(config.signing, token);
        // A rotated pair is taken only once it is consistent (key and certificate of one another).
        const problem = ownCertificateProblem(fresh, config.organId, trust);
        if ((!credentials || !sameCredentials(fresh, credentials)) && problem !== KEY_NOT_OF_CERTIFICATE && problem !== TOKEN_KEY_NOT_OF_CERTIFICATE) {
          credentials = fresh;
          log.info({ step: 'readiness', check: 'signing' }, 'signing key and certificate reloaded');
        }
      } catch (err) {
        if (!isTokenError(err)) log.error({ step: 'readiness', err }, 'reading the signing key and certificate failed; keeping the previous ones');
      }
      checkOwnCertificate();
    }
  };
  const reloadTimer = setInterval(() => void reload(), TRUST_RELOAD_MS);
  reloadTimer.unref();

  const verify: SignatureSupport['verify'] = skipVerification
    ? undefined
    : async (edxml, facts) => {
        try {
          // One parse per package: the DOM the facts were read from is the one whose signature is checked.
          const parsed = reusableParse(facts, edxml, config.limits);
          const options = { limits: config.limits };
          const outcome = parsed ? await verifyParsedAsync(parsed, trust!, options) : await verifyPackageAsync(edxml, trust!, options);
          metrics.signatureResult(outcome.status === 'valid' ? 'valid' : 'accepted_unsigned');
          const policy = effectivePolicy(trust!, facts.fromOrganId).policy;
          if (outcome.status === 'unsigned-accepted') {
            log.warn({ step: 'verify', flagged: outcome.flagged }, 'accepted without a valid signature under the partner policy');
            return { result: 'accepted-unsigned', policy, flagged: outcome.flagged };
          }
          for (const gap of outcome.revocationGaps) {
            metrics.revocationUnchecked(gap.reason);
            const why = gap.acceptedBy === 'soft-fail' ? 'revocationFailure: soft-fail' : 'revocation: best-effort';
            log.warn({ step: 'verify', signer: outcome.signer.organId, revocation: gap.reason }, `accepted without a revocation check (${why}): ${gap.detail}`);
          }
          const { subject, serialNumber, fingerprint, organId } = outcome.signer;
          return { result: 'valid', policy, signer: { subject, serialNumber, fingerprint, organId } };
        } catch (err) {
          if (isRejection(err)) metrics.signatureResult('rejected');
          throw err;
        }
      };

  const readiness: ReadinessCheck[] = [
    {
      name: 'trust',
      check: async () => {
        if (skipVerification) return { ok: true, note: SKIP_VERIFICATION_NOTE };
        trust?.ocsp?.recheckFailing(); // a responder back up makes the next evaluation pass
        return trustReadiness(trust, trustError, new Date(), trustConfig);
      },
    },
  ];
  if (config.signing) readiness.push({ name: 'signing', check: async () => signingReadiness() });
  return {
    sign,
    signParsed: signParsedPackage,
    // A getter: a rotated signing certificate is what the trail records from then on.
    get signingCertificate() {
      return signingCertificate;
    },
    verify,
    readiness,
    close: () => {
      clearInterval(reloadTimer);
      token?.close();
    },
  };
}

function reportTrust(trust: TrustStore, config: TrustConfig, metrics: Metrics, log?: Logger): void {
  const expiries = trust.anchors.map((a) => new Date(a.certificate.validTo).getTime());
  if (expiries.length > 0) metrics.setCertificateExpiry('trust_anchor', new Date(Math.min(...expiries)));
  const bestEffort = trust.revocation === 'best-effort' || Object.values(config.partners ?? {}).some((p) => p.revocation === 'best-effort');
  metrics.setTrustOptOut('revocation_best_effort', bestEffort);
  if (log && bestEffort) {
    const who = trust.revocation === 'best-effort' ? 'every sender' : Object.entries(config.partners ?? {}).filter(([, p]) => p.revocation === 'best-effort').map(([o]) => o).join(', ');
    log.warn({ step: 'startup', crls: trust.crls.length }, `revocation: best-effort for ${who}: signatures whose path no current CRL covers are accepted (counted in vdxp_revocation_unchecked_total)`);
  }
  const softFail = trust.revocationFailure === 'soft-fail' ? 'every sender' : Object.entries(config.partners ?? {}).filter(([, p]) => p.revocationFailure === 'soft-fail').map(([o]) => o).join(', ');
  if (log && trust.ocsp && softFail) {
    log.warn({ step: 'startup' }, `revocationFailure: soft-fail for ${softFail}: when the OCSP responder cannot be reached, signatures are accepted (counted in vdxp_revocation_unchecked_total{reason="ocsp-unavailable"})`);
  }
  if (log && trust.ocsp) {
    const s = trust.ocsp.settings;
    log.info({ step: 'startup', responders: Object.fromEntries(s.responders), fallbackToCrl: s.fallbackToCrl, nonce: s.nonce, cacheSeconds: s.cacheSeconds }, 'OCSP is on: responders from each certificate\'s authorityInfoAccess unless trust.ocsp.responders names one for its CA');
  }
}

/**
 * Trust material is usable when it loaded, where revocation is required its CRLs are not past
 * their nextUpdate, and no OCSP responder is failing. A failing responder fails the check under
 * `hard-fail` (the signatures it must vouch for are refused) and is a note under `soft-fail`.
 */
export function trustReadiness(
  trust: TrustStore | undefined,
  reloadError: string | undefined,
  now = new Date(),
  config: Pick<TrustConfig, 'partners'> = {},
): boolean | string | { ok: true; note: string } {
  if (reloadError) return `trust material: ${reloadError}`;
  if (!trust) return 'trust material not loaded';
  if (trust.crlsStaleAfter && now > trust.crlsStaleAfter && trust.revocation === 'required') {
    return `a CRL is stale since ${trust.crlsStaleAfter.toISOString()} (nextUpdate passed): signatures it covers are refused (revocation-unknown) until the CRL files are refreshed`;
  }
  const failing = (trust.ocsp?.responderHealth() ?? []).filter((h) => h.consecutiveFailures > 0);
  if (failing.length > 0) {
    const what = failing.map((h) => `OCSP responder ${h.url}: ${h.lastFailureDetail} (${h.consecutiveFailures} failed request(s) in a row, last at ${h.lastFailure?.toISOString()})`).join('; ');
    const hardFailSomewhere =
      trust.revocation === 'required' &&
      (trust.revocationFailure === 'hard-fail' || Object.values(config.partners ?? {}).some((p) => (p.revocation ?? 'required') === 'required' && p.revocationFailure === 'hard-fail'));
    const currentCrlOf = (issuer: ResponderHealth['lastFailureIssuer']) =>
      issuer !== undefined && trust.crls.some((crl) => sameName(crl.issuer, issuer) && crl.thisUpdate <= now && (!crl.nextUpdate || now <= crl.nextUpdate));
    const crlsStandIn = trust.ocsp!.settings.fallbackToCrl && failing.every((h) => currentCrlOf(h.lastFailureIssuer));
    if (hardFailSomewhere && !crlsStandIn) return `${what}: the signatures it must vouch for are refused (revocation-unknown; revocationFailure: hard-fail)`;
    return {
      ok: true,
      note: crlsStandIn
        ? `${what}: the configured CRLs stand in (trust.ocsp.fallbackToCrl); a certificate no current CRL covers is refused (revocation-unknown)`
        : `${what}: the signatures it must vouch for are accepted unchecked (revocationFailure: soft-fail), counted in vdxp_revocation_unchecked_total{reason="ocsp-unavailable"}`,
    };
  }
  return true;
}
