/**
 * Who signed: the certificates a document carries are only candidates. The signer is trusted
 * when a path from its certificate to a configured anchor passes RFC 5280 path validation
 * (path-validation.ts) and the signer rules (signer-rules.ts); DESIGN.md §5, and the
 * CVE-2024-32962 class of bypass is a document vouching for its own key. Then dates,
 * revocation and the binding to `From/OrganId` are checked at every use.
 */
import { createHash, X509Certificate } from 'node:crypto';
import * as x509 from './x509';
import { Rejection } from '../errors';
import { CertificateReadError, factsOf, sameName, type CertificateFacts } from './certificate-facts';
import { validatePath, type PathLink } from './path-validation';
import { checkRevocation, type RevocationFailure, type RevocationGap, type RevocationMode } from './revocation';
import { assertSuitableSigner } from './signer-rules';
import { bindingOf, DEFAULT_IDENTITY_RULES, type Binding, type BoundBy, type IdentityRules } from './signer-identity';
import type { TrustStore } from './trust';

/** A path longer than this (anchor included) is refused rather than searched. */
const MAX_CHAIN_LENGTH = 6;
/** More certificates than this in one KeyInfo is not a chain but an attempt to make us work. */
export const MAX_DOCUMENT_CERTIFICATES = 8;
/** Candidate paths tried before giving up (each costs signature checks). */
const MAX_PATHS_TRIED = 16;
const UID_OID = '0.9.2342.19200300.100.1.1';

export interface SignerCertificate {
  certificate: X509Certificate;
  fingerprint: string;
  subject: string;
  /** The issuer's distinguished name, in the form trust.identityRules' `issuer` takes. */
  issuer: string;
  notAfter: Date;
  /** UID attribute values of the subject (the default OrganId binding). */
  uids: string[];
}

export interface SignerIdentity {
  organId: string;
  subject: string;
  /** SHA-256 of the signer certificate's DER, lowercase hex. */
  fingerprint: string;
  /** The certificate's serial number, upper-case hex as node:crypto gives it. */
  serialNumber: string;
  /** The issuer's distinguished name, as trust.identityRules' `issuer` may name it. */
  issuer: string;
  notAfter: Date;
  /** The trust.identityRules entry (or the UID default) that bound the certificate to organId. */
  boundBy: BoundBy;
}

/** What a use of a validated path may allow: from the sender's effective policy. */
export interface PathUse {
  allowSha1: boolean;
  revocation: RevocationMode;
  /** Under `required`: whether an unreachable OCSP responder refuses (default `hard-fail`). */
  revocationFailure?: RevocationFailure;
}

export const STRICT_USE: PathUse = { allowSha1: false, revocation: 'required' };

export interface TrustedSigner {
  signer: SignerCertificate;
  /** Certificates accepted without a revocation status (only under `revocation: best-effort` or `revocationFailure: soft-fail`). */
  revocationGaps: RevocationGap[];
}

function untrusted(detail: string): Rejection {
  return new Rejection('untrusted-chain', detail);
}

export function parseDocumentCertificates(derList: readonly Buffer[]): X509Certificate[] {
  if (derList.length === 0) throw untrusted('the signature carries no X509Certificate to identify the signer');
  if (derList.length > MAX_DOCUMENT_CERTIFICATES) {
    throw untrusted(`KeyInfo carries ${derList.length} certificates, at most ${MAX_DOCUMENT_CERTIFICATES} are read`);
  }
  return derList.map((der, i) => {
    try {
      const cert = new X509Certificate(der);
      factsOf(cert);
      return cert;
    } catch (err) {
      throw untrusted(`X509Certificate #${i + 1} in KeyInfo is not a readable certificate${err instanceof CertificateReadError ? `: ${err.message}` : ''}`);
    }
  });
}

/** The one certificate that issued none of the others. Several such candidates are ambiguous. */
export function selectLeaf(certs: readonly X509Certificate[]): X509Certificate {
  const leaves = certs.filter((c) => !certs.some((other) => other !== c && issuedBy(factsOf(other), factsOf(c))));
  if (leaves.length !== 1) throw untrusted(`KeyInfo holds ${leaves.length} unrelated end certificates; the signer is ambiguous`);
  return leaves[0]!;
}

function issuedBy(cert: CertificateFacts, issuer: CertificateFacts): boolean {
  if (!sameName(cert.issuer, issuer.subject)) return false;
  try {
    return cert.certificate.verify(issuer.certificate.publicKey);
  } catch {
    return false;
  }
}

/**
 * Searches the paths from `leaf` to an anchor through the document's other certificates and
 * returns the first that validates (RFC 5280 §6.1 and the signer rules). Time-independent, so
 * the result can be reused; `checkPathAt` does the dates and revocation.
 */
export function buildPath(leaf: X509Certificate, documentCerts: readonly X509Certificate[], trust: TrustStore): PathLink[] {
  const leafFacts = factsOf(leaf);
  const anchorPrints = new Set(trust.anchors.map((a) => a.fingerprint));
  const carried = documentCerts.map(factsOf).filter((c) => !anchorPrints.has(c.fingerprint));
  // Configured intermediates (the national preset's issuing CAs) serve documents that carry only their own certificate.
  const documentFacts = [...carried, ...(trust.intermediates ?? []).filter((c) => !anchorPrints.has(c.fingerprint) && !carried.some((d) => d.fingerprint === c.fingerprint))];
  let firstRefusal: Rejection | undefined;
  let tried = 0;

  const attempt = (path: CertificateFacts[]): PathLink[] | undefined => {
    tried += 1;
    try {
      const links = validatePath(path, trust.signerRules);
      assertSuitableSigner(leafFacts, trust.signerRules);
      return links;
    } catch (err) {
      if (!(err instanceof Rejection)) throw err;
      firstRefusal ??= err;
      return undefined;
    }
  };
  const search = (path: CertificateFacts[]): PathLink[] | undefined => {
    const current = path[path.length - 1]!;
    if (anchorPrints.has(current.fingerprint)) return attempt(path);
    if (path.length >= MAX_CHAIN_LENGTH) return undefined;
    const issuers = [...trust.anchors.map((a) => a.facts), ...documentFacts].filter((c) => !path.includes(c) && issuedBy(current, c));
    for (const issuer of issuers) {
      if (tried >= MAX_PATHS_TRIED) return undefined;
      const found = search([...path, issuer]);
      if (found) return found;
    }
    return undefined;
  };

  const found = search([leafFacts]);
  if (found) return found;
  if (firstRefusal) throw firstRefusal;
  throw untrusted(`${leafFacts.description} does not chain to a configured trust anchor`);
}

/** Validity dates of every certificate on the path at `now`, SHA-1 permission, and revocation below the anchor. */
export function checkPathAt(links: readonly PathLink[], trust: TrustStore, now: Date, use: PathUse): RevocationGap[] {
  for (const { cert } of links) {
    if (now < cert.notBefore) throw new Rejection('cert-expired', `${cert.description} is not valid before ${cert.notBefore.toISOString()}`);
    if (now > cert.notAfter) throw new Rejection('cert-expired', `${cert.description} expired on ${cert.notAfter.toISOString()}`);
  }
  if (!use.allowSha1) {
    const sha1 = links.find((l) => l.sha1Signed);
    if (sha1) throw new Rejection('weak-algorithm', `${sha1.cert.description} is signed with SHA-1, which the sender's policy does not allow (allowSha1)`);
  }
  const gaps: RevocationGap[] = [];
  for (const { cert, issuer } of links) {
    if (!issuer) continue;
    const gap = checkRevocation(trust.revocationSources, cert, issuer, now, use.revocation, use.revocationFailure);
    if (gap) gaps.push(gap);
  }
  return gaps;
}

/** Successful path validations per trust store, keyed by the exact certificates a document carried. */
const validatedPaths = new WeakMap<TrustStore, Map<string, { signer: SignerCertificate; links: PathLink[] }>>();
const MAX_CACHED_PATHS = 1024;

/**
 * The trusted signer of a signature whose KeyInfo carried `derList`. Parsing certificates and
 * checking their signatures is most of a small package's verification cost and the same few
 * agency certificates recur, so a validated path is remembered (for this trust store and these
 * exact bytes); dates and revocation are still checked on every call.
 */
export function trustedSignerOf(derList: readonly Buffer[], trust: TrustStore, now: Date, use: PathUse = STRICT_USE): TrustedSigner {
  const entry = validatedPathOf(derList, trust);
  return { signer: entry.signer, revocationGaps: checkPathAt(entry.links, trust, now, use) };
}

/** The validated path of a KeyInfo's certificates, from the cache or built now; throws its Rejection. */
function validatedPathOf(derList: readonly Buffer[], trust: TrustStore): { signer: SignerCertificate; links: PathLink[] } {
  let cache = validatedPaths.get(trust);
  if (!cache) validatedPaths.set(trust, (cache = new Map()));
  const key = derList.length <= MAX_DOCUMENT_CERTIFICATES ? cacheKey(derList) : undefined;
  let entry = key !== undefined ? cache.get(key) : undefined;
  if (!entry) {
    const certs = parseDocumentCertificates(derList);
    const leaf = selectLeaf(certs);
    entry = { links: buildPath(leaf, certs, trust), signer: describeSigner(leaf) };
    if (key !== undefined) {
      if (cache.size >= MAX_CACHED_PATHS) cache.clear();
      cache.set(key, entry);
    }
  }
  return entry;
}

/**
 * Asks the OCSP responders (trust.ocsp) about every certificate of the signer's path below the
 * anchor that the cache cannot answer for at `now`, so that the synchronous checks that follow
 * (`trustedSignerOf`) have the answers. Never throws: a path that does not validate is refused by
 * those checks, and an answer that does not come is theirs to judge.
 */
export async function fetchRevocationStatus(derList: readonly Buffer[], trust: TrustStore, now: Date): Promise<void> {
  const ocsp = trust.ocsp;
  if (!ocsp) return;
  let links: PathLink[];
  try {
    links = validatedPathOf(derList, trust).links;
  } catch {
    return;
  }
  await Promise.all(links.filter((l) => l.issuer).map((l) => ocsp.refresh(l.cert, l.issuer!, now)));
}

function cacheKey(derList: readonly Buffer[]): string {
  const hash = createHash('sha256');
  for (const der of derList) hash.update(`${der.length}:`).update(der);
  return hash.digest('hex');
}

export function describeSigner(cert: X509Certificate): SignerCertificate {
  const parsed = new x509.X509Certificate(cert.raw);
  const facts = factsOf(cert);
  return {
    certificate: cert,
    fingerprint: facts.fingerprint,
    subject: new x509.Name(parsed.subjectName.toArrayBuffer(), { UID: UID_OID }).toString(),
    issuer: new x509.Name(parsed.issuerName.toArrayBuffer(), { UID: UID_OID }).toString(),
    notAfter: facts.notAfter,
    uids: [...facts.uids],
  };
}

/** The identity rules of a store; a caller without a store (signing without trust) gets the UID default. */
type WithIdentity = { identity?: IdentityRules; organBindings?: unknown };

/** Whether `signer` may sign for `organId` under the trust config's identity rules (signer-identity.ts), and by which rule. */
export function signerBinding(signer: SignerCertificate, organId: string, trust: WithIdentity): Binding {
  return bindingOf(factsOf(signer.certificate), organId, trust.identity ?? DEFAULT_IDENTITY_RULES);
}

export function isBoundTo(signer: SignerCertificate, organId: string, trust: WithIdentity): boolean {
  return signerBinding(signer, organId, trust).bound;
}

export const BINDING_HINT =
  'a certificate is bound to an OrganId by UID=<OrganId> in its subject (the default rule), by a trust.identityRules entry ' +
  '(its fingerprint, a subject attribute such as UID=MST:…, or its issuer and serial number), or by its SHA-256 fingerprint under trust.organBindings.<OrganId>';

export function assertSignerIsSender(signer: SignerCertificate, organId: string | undefined, trust: TrustStore): SignerIdentity {
  if (organId === undefined) throw new Rejection('signer-not-sender', 'the package names no From/OrganId to bind the signer to');
  const binding = signerBinding(signer, organId, trust);
  if (!binding.bound) {
    throw new Rejection('signer-not-sender', `certificate ${signer.subject} is not bound to sender ${organId}: ${binding.why} (${BINDING_HINT})`);
  }
  return {
    organId,
    subject: signer.subject,
    fingerprint: signer.fingerprint,
    serialNumber: signer.certificate.serialNumber,
    issuer: signer.issuer,
    notAfter: signer.notAfter,
    boundBy: binding.by,
  };
}
