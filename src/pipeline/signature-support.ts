/**
 * Binds the agency config's `signing:` and `trust:` sections to the pipeline (DESIGN.md §5):
 * `sign` for a legacy system that cannot sign, `verify` per partner policy before delivery, and a
 * readiness check that the trust material is loaded and fresh (it is re-read periodically, so a
 * rotated CRL or anchor in a mounted secret takes effect without a restart).
 */
import * as fs from 'node:fs';
import { X509Certificate } from 'node:crypto';
import type { AgencyConfig } from '../config/types';
import { isRejection } from '../errors';
import type { Logger } from '../observability/log';
import type { Metrics } from '../observability/metrics';
import type { ReadinessCheck } from '../observability/server';
import type { ParsedXml } from '../edxml/safe-xml';
import { loadTrustStore, signPackage, signParsed, verifyPackage, verifyParsed, type RenderedPiece, type TrustStore } from '../signature';
import { reusableParse, type PackageFacts } from './package-facts';
import { effectivePolicy } from '../signature/trust';
import type { CertificateEvidence } from '../trail/record';
import type { VerificationEvidence } from './trail-steps';

export interface SignatureSupport {
  /** Signs a package in memory (statuses the connector writes). */
  sign?: (edxml: Buffer) => Buffer;
  /** Signs a package already parsed for its facts, in memory or spooled (the send pipeline). */
  signParsed?: (parsed: ParsedXml) => RenderedPiece[];
  verify?: (edxml: Buffer, facts: PackageFacts) => VerificationEvidence;
  /** The certificate the connector signs with, for the trail. */
  signingCertificate?: CertificateEvidence;
  readiness?: ReadinessCheck;
  /** Stops the periodic trust reload. */
  close(): void;
}

const TRUST_RELOAD_MS = 5 * 60_000;

export async function loadSignatureSupport(config: AgencyConfig, log: Logger, metrics: Metrics): Promise<SignatureSupport> {
  let trust: TrustStore | undefined;
  let trustError: string | undefined;
  let reloadTimer: NodeJS.Timeout | undefined;

  if (config.trust) {
    const section = config.trust;
    trust = await loadTrustStore(section); // a broken trust config stops the start: nothing is accepted unchecked
    reportAnchorExpiry(trust, metrics);
    reloadTimer = setInterval(() => {
      loadTrustStore(section).then(
        (fresh) => {
          trust = fresh;
          trustError = undefined;
          reportAnchorExpiry(fresh, metrics);
        },
        (err: Error) => {
          trustError = err.message;
          log.error({ step: 'readiness', err }, 'reloading trust material failed; keeping the previous one');
        },
      );
    }, TRUST_RELOAD_MS);
    reloadTimer.unref();
  } else {
    log.warn({ step: 'startup' }, 'no trust: section in the config: incoming signatures are NOT verified');
  }

  let sign: SignatureSupport['sign'];
  let signParsedPackage: SignatureSupport['signParsed'];
  let signingCertificate: CertificateEvidence | undefined;
  if (config.signing) {
    const credentials = {
      keyPem: fs.readFileSync(config.signing.keyFile),
      certPem: fs.readFileSync(config.signing.certFile),
      chainPem: config.signing.chainFile ? fs.readFileSync(config.signing.chainFile) : undefined,
    };
    sign = (edxml) => signPackage(edxml, credentials, { limits: config.limits, trust });
    signParsedPackage = (parsed) => signParsed(parsed, credentials, { limits: config.limits, trust });
    const certificate = new X509Certificate(credentials.certPem);
    metrics.setCertificateExpiry('signing', new Date(certificate.validTo));
    signingCertificate = { subject: certificate.subject.replace(/\n/g, ', '), serialNumber: certificate.serialNumber, fingerprint: certificate.fingerprint256.replace(/:/g, '').toLowerCase() };
  }
  if (config.kafka.tls?.certFile) {
    metrics.setCertificateExpiry('kafka_client', new Date(new X509Certificate(fs.readFileSync(config.kafka.tls.certFile)).validTo));
  }

  const verify: SignatureSupport['verify'] = trust
    ? (edxml, facts) => {
        try {
          // One parse per package: the DOM the facts were read from is the one whose signature is checked.
          const parsed = reusableParse(facts, edxml, config.limits);
          const options = { limits: config.limits };
          const outcome = parsed ? verifyParsed(parsed, trust!, options) : verifyPackage(edxml, trust!, options);
          metrics.signatureResult(outcome.status === 'valid' ? 'valid' : 'accepted_unsigned');
          const policy = effectivePolicy(trust!, facts.fromOrganId).policy;
          if (outcome.status === 'unsigned-accepted') {
            log.warn({ step: 'verify', flagged: outcome.flagged }, 'accepted without a valid signature under the partner policy');
            return { result: 'accepted-unsigned', policy, flagged: outcome.flagged };
          }
          const { subject, serialNumber, fingerprint, organId } = outcome.signer;
          return { result: 'valid', policy, signer: { subject, serialNumber, fingerprint, organId } };
        } catch (err) {
          if (isRejection(err)) metrics.signatureResult('rejected');
          throw err;
        }
      }
    : undefined;

  return {
    sign,
    signParsed: signParsedPackage,
    signingCertificate,
    verify,
    readiness: config.trust ? { name: 'trust', check: async () => trustReadiness(trust, trustError) } : undefined,
    close: () => clearInterval(reloadTimer),
  };
}

function reportAnchorExpiry(trust: TrustStore, metrics: Metrics): void {
  const expiries = trust.anchors.map((a) => new Date(a.certificate.validTo).getTime());
  if (expiries.length > 0) metrics.setCertificateExpiry('trust_anchor', new Date(Math.min(...expiries)));
}

/** Trust material is usable when it loaded and its CRLs are not past their nextUpdate. */
export function trustReadiness(trust: TrustStore | undefined, reloadError: string | undefined, now = new Date()): boolean | string {
  if (reloadError) return `trust material: ${reloadError}`;
  if (!trust) return 'trust material not loaded';
  if (trust.crlsStaleAfter && now > trust.crlsStaleAfter) {
    return `a CRL is stale since ${trust.crlsStaleAfter.toISOString()} (nextUpdate passed): refresh the CRL files`;
  }
  return true;
}
