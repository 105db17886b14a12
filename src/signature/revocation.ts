/**
 * Revocation (RFC 5280 §6.1.3 (a)(3)), checked for every certificate of a path below the trust
 * anchor at every use. Sources answer per certificate and its validated issuer: CRLs
 * (`CrlRevocationSource`), and OCSP where `trust.ocsp` is configured (ocsp-source.ts, which
 * falls back to the CRLs by policy).
 *
 * The verdict fails closed: a certificate no source can vouch for is `unknown`, and unknown
 * refuses the signature (`revocation-unknown`) unless the partner's policy is
 * `revocation: best-effort`, or `revocationFailure: soft-fail` and the one thing missing is an
 * OCSP responder that could not be reached.
 */
import { Rejection } from '../errors';
import { sameName, KU, type CertificateFacts } from './certificate-facts';
import type { Crl } from './crl';

export type RevocationMode = 'required' | 'best-effort';
export const REVOCATION_MODES: readonly RevocationMode[] = ['required', 'best-effort'];

/** Under `required`: `hard-fail` (default) refuses when the OCSP responder cannot be reached; `soft-fail` accepts, warned and counted. */
export type RevocationFailure = 'hard-fail' | 'soft-fail';
export const REVOCATION_FAILURES: readonly RevocationFailure[] = ['hard-fail', 'soft-fail'];

/** Why a certificate's status could not be established (the `reason` of vdxp_revocation_unchecked_total). */
export const REVOCATION_GAP_REASONS = [
  /** No CRL of the issuer (or none signed by it) is configured, and no OCSP responder applies. */
  'no-crl',
  'stale-crl',
  /** The responder could not be reached, timed out, answered an HTTP error, tryLater or internalError. */
  'ocsp-unavailable',
  /** The response is past its nextUpdate, older than maxAgeSeconds, or dated in the future. */
  'ocsp-stale',
  /** The response is signed by a key that may not sign it, echoes another nonce, answers for another certificate, or is unreadable. */
  'ocsp-refused',
  /** The responder answered certStatus unknown. */
  'ocsp-unknown',
  /** A synchronous check ran without fetching OCSP first (never on the receive path). */
  'ocsp-not-fetched',
] as const;
export type RevocationGapReason = (typeof REVOCATION_GAP_REASONS)[number];

/** The one gap `soft-fail` accepts: an answer that did not come, not an answer that is wrong. */
const SOFT_FAILABLE: ReadonlySet<RevocationGapReason> = new Set(['ocsp-unavailable']);

export type RevocationStatus =
  | { status: 'good'; source?: 'crl' | 'ocsp' }
  | { status: 'revoked'; detail: string }
  | { status: 'unknown'; reason: RevocationGapReason; detail: string };

export interface RevocationSource {
  /** The status of `cert`, whose signature `issuer` has already been checked, at `now`. */
  status(cert: CertificateFacts, issuer: CertificateFacts, now: Date): RevocationStatus;
}

/** A certificate accepted without an established revocation status (best-effort mode, or soft-fail). */
export interface RevocationGap {
  certificate: string;
  reason: RevocationGapReason;
  detail: string;
  /** The policy that let it through. */
  acceptedBy: 'best-effort' | 'soft-fail';
}

export class CrlRevocationSource implements RevocationSource {
  /** Whether a CRL verified with an issuer's key, per CRL and issuer fingerprint: checked once, not per document. */
  private readonly verified = new Map<Crl, Map<string, boolean>>();

  constructor(private readonly crls: readonly Crl[]) {}

  private signedBy(crl: Crl, issuer: CertificateFacts): boolean {
    let byIssuer = this.verified.get(crl);
    if (!byIssuer) this.verified.set(crl, (byIssuer = new Map()));
    let ok = byIssuer.get(issuer.fingerprint);
    if (ok === undefined) {
      ok = crl.signedWith(issuer.certificate.publicKey);
      if (byIssuer.size < 64) byIssuer.set(issuer.fingerprint, ok);
    }
    return ok;
  }

  status(cert: CertificateFacts, issuer: CertificateFacts, now: Date): RevocationStatus {
    const named = this.crls.filter((crl) => sameName(crl.issuer, cert.issuer));
    const mayIssueCrls = issuer.keyUsage === undefined || (issuer.keyUsage & KU.cRLSign) !== 0;
    const verified = mayIssueCrls ? named.filter((crl) => this.signedBy(crl, issuer)) : [];
    const revokedBy = verified.find((crl) => crl.revoked.has(cert.serial));
    if (revokedBy) return { status: 'revoked', detail: `${cert.description} (serial ${cert.serial}) is revoked by the CRL of ${issuer.description}` };
    if (verified.length === 0) {
      const why =
        named.length === 0
          ? 'no CRL of its issuer is configured'
          : !mayIssueCrls
            ? 'its issuer\'s keyUsage does not allow cRLSign'
            : `the configured CRL ${named.map((c) => c.source).join(', ')} is not signed by its issuer's key`;
      return { status: 'unknown', reason: 'no-crl', detail: `the revocation status of ${cert.description} is unknown: ${why} (${issuer.description})` };
    }
    const current = verified.find((crl) => crl.thisUpdate <= now && (!crl.nextUpdate || now <= crl.nextUpdate));
    if (current) return { status: 'good', source: 'crl' };
    const latest = verified.reduce((a, b) => (a.thisUpdate > b.thisUpdate ? a : b));
    const when = latest.thisUpdate > now ? `is not valid before ${latest.thisUpdate.toISOString()}` : `is stale since ${latest.nextUpdate!.toISOString()} (nextUpdate passed)`;
    return { status: 'unknown', reason: 'stale-crl', detail: `the revocation status of ${cert.description} is unknown: the CRL of ${issuer.description} ${when}` };
  }
}

/**
 * The status of `cert` from every source: revoked by any wins, then good from any; otherwise
 * unknown, which refuses the path in `required` mode (unless `soft-fail` and the gap is an
 * unreachable responder) and is returned as a gap otherwise.
 */
export function checkRevocation(
  sources: readonly RevocationSource[],
  cert: CertificateFacts,
  issuer: CertificateFacts,
  now: Date,
  mode: RevocationMode,
  failure: RevocationFailure = 'hard-fail',
): RevocationGap | undefined {
  const answers = sources.map((s) => s.status(cert, issuer, now));
  const revoked = answers.find((a) => a.status === 'revoked');
  if (revoked) throw new Rejection('cert-revoked', revoked.detail);
  if (answers.some((a) => a.status === 'good')) return undefined;
  const unknown = answers.filter((a): a is Extract<RevocationStatus, { status: 'unknown' }> => a.status === 'unknown');
  const reason: RevocationGapReason = unknown.some((a) => a.reason === 'stale-crl') && unknown.every((a) => a.reason === 'no-crl' || a.reason === 'stale-crl') ? 'stale-crl' : (unknown[0]?.reason ?? 'no-crl');
  const detail = unknown[0] ? unknown.map((a) => a.detail).join('; ') : `the revocation status of ${cert.description} is unknown: no revocation source is configured`;
  const softFailed = failure === 'soft-fail' && unknown.length > 0 && unknown.every((a) => SOFT_FAILABLE.has(a.reason));
  if (mode === 'required' && !softFailed) throw new Rejection('revocation-unknown', detail);
  return { certificate: cert.description, reason, detail, acceptedBy: mode === 'required' ? 'soft-fail' : 'best-effort' };
}
