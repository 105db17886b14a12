/**
 * Who signed: the certificates a document carries are only candidates. The signer is trusted
 * when its certificate chains, signature by signature, to a configured anchor (DESIGN.md §5;
 * the CVE-2024-32962 class of bypass is a document vouching for its own key). Then dates,
 * CRLs and the binding to `From/OrganId` are checked.
 */
import { createHash, X509Certificate } from 'node:crypto';
import * as x509 from './x509';
import { Rejection } from '../errors';
import { fingerprintOf, normalizeSerial, type TrustAnchor, type TrustStore } from './trust';

/** A chain longer than this is refused rather than walked. */
const MAX_CHAIN_LENGTH = 6;
/** More certificates than this in one KeyInfo is not a chain but an attempt to make us work. */
export const MAX_DOCUMENT_CERTIFICATES = 8;
const UID_OID = '0.9.2342.19200300.100.1.1';

export interface SignerCertificate {
  certificate: X509Certificate;
  fingerprint: string;
  subject: string;
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
  notAfter: Date;
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
      return new X509Certificate(der);
    } catch {
      throw untrusted(`X509Certificate #${i + 1} in KeyInfo is not a readable certificate`);
    }
  });
}

/** The one certificate that issued none of the others. Several such candidates are ambiguous. */
export function selectLeaf(certs: readonly X509Certificate[]): X509Certificate {
  const leaves = certs.filter((c) => !certs.some((other) => other !== c && issuedBy(other, c)));
  if (leaves.length !== 1) throw untrusted(`KeyInfo holds ${leaves.length} unrelated end certificates; the signer is ambiguous`);
  return leaves[0]!;
}

function issuedBy(cert: X509Certificate, issuer: X509Certificate): boolean {
  return cert.checkIssued(issuer) && cert.verify(issuer.publicKey);
}

function describe(cert: X509Certificate): string {
  return cert.subject.replace(/\n/g, ', ');
}

/** One certificate of a validated path, reduced to what must be re-checked at every use. */
interface ChainLink {
  description: string;
  notBefore: Date;
  notAfter: Date;
  serial: string;
  /** Fingerprint of the certificate that issued this one; undefined for the anchor itself. */
  issuerFingerprint: string | undefined;
}

/**
 * Walks from the leaf to an anchor through the document's other certificates, checking each
 * signature on the way, the issuers' CA flag and the leaf's key usage. Time-independent, so the
 * result can be reused; `checkChainAt` does the dates and CRLs.
 */
export function buildChain(leaf: X509Certificate, documentCerts: readonly X509Certificate[], trust: TrustStore): ChainLink[] {
  const path: X509Certificate[] = [leaf];
  let anchor: TrustAnchor | undefined = trust.anchors.find((a) => a.fingerprint === fingerprintOf(leaf));
  let current = leaf;
  while (!anchor) {
    if (path.length >= MAX_CHAIN_LENGTH) throw untrusted(`no trust anchor within ${MAX_CHAIN_LENGTH} certificates of ${describe(leaf)}`);
    anchor = trust.anchors.find((a) => a.certificate.ca && issuedBy(current, a.certificate));
    if (anchor) {
      path.push(anchor.certificate);
      break;
    }
    const next = documentCerts.find((c) => !path.includes(c) && c.ca && issuedBy(current, c));
    if (!next) throw untrusted(`${describe(current)} does not chain to a configured trust anchor`);
    path.push(next);
    current = next;
  }
  assertSigningKeyUsage(leaf);
  return path.map((cert, i) => ({
    description: describe(cert),
    notBefore: new Date(cert.validFrom),
    notAfter: new Date(cert.validTo),
    serial: normalizeSerial(cert.serialNumber),
    issuerFingerprint: i + 1 < path.length ? fingerprintOf(path[i + 1]!) : undefined,
  }));
}

/** Validity dates of every certificate on the path at `now`, and the CRLs of every issuer that has one. */
export function checkChainAt(links: readonly ChainLink[], trust: TrustStore, now: Date): void {
  for (const link of links) {
    if (now < link.notBefore) throw new Rejection('cert-expired', `${link.description} is not valid before ${link.notBefore.toISOString()}`);
    if (now > link.notAfter) throw new Rejection('cert-expired', `${link.description} expired on ${link.notAfter.toISOString()}`);
  }
  for (const link of links) {
    if (link.issuerFingerprint === undefined) continue;
    if (trust.revokedSerials.get(link.issuerFingerprint)?.has(link.serial)) {
      throw new Rejection('cert-revoked', `${link.description} (serial ${link.serial}) is revoked`);
    }
  }
}

/** Successful path validations per trust store, keyed by the exact certificates a document carried. */
const validatedChains = new WeakMap<TrustStore, Map<string, { signer: SignerCertificate; links: ChainLink[] }>>();
const MAX_CACHED_CHAINS = 1024;

/**
 * The trusted signer of a signature whose KeyInfo carried `derList`. Parsing certificates and
 * checking their signatures is most of a small package's verification cost and the same few
 * agency certificates recur, so a successful path is remembered (for this trust store and these
 * exact bytes); dates and revocation are still checked on every call.
 */
export function trustedSignerOf(derList: readonly Buffer[], trust: TrustStore, now: Date): SignerCertificate {
  let cache = validatedChains.get(trust);
  if (!cache) validatedChains.set(trust, (cache = new Map()));
  const key = derList.length <= MAX_DOCUMENT_CERTIFICATES ? cacheKey(derList) : undefined;
  let entry = key !== undefined ? cache.get(key) : undefined;
  if (!entry) {
    const certs = parseDocumentCertificates(derList);
    const leaf = selectLeaf(certs);
    entry = { links: buildChain(leaf, certs, trust), signer: describeSigner(leaf) };
    if (key !== undefined) {
      if (cache.size >= MAX_CACHED_CHAINS) cache.clear();
      cache.set(key, entry);
    }
  }
  checkChainAt(entry.links, trust, now);
  return entry.signer;
}

function cacheKey(derList: readonly Buffer[]): string {
  const hash = createHash('sha256');
  for (const der of derList) hash.update(`${der.length}:`).update(der);
  return hash.digest('hex');
}

function assertSigningKeyUsage(leaf: X509Certificate): void {
  const usage = new x509.X509Certificate(leaf.raw).getExtension(x509.KeyUsagesExtension);
  if (!usage) return;
  const signing = x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.nonRepudiation;
  if ((usage.usages & signing) === 0) throw untrusted(`${describe(leaf)} is not allowed to sign (keyUsage)`);
}

export function describeSigner(cert: X509Certificate): SignerCertificate {
  const parsed = new x509.X509Certificate(cert.raw);
  return {
    certificate: cert,
    fingerprint: fingerprintOf(cert),
    subject: new x509.Name(parsed.subjectName.toArrayBuffer(), { UID: UID_OID }).toString(),
    notAfter: parsed.notAfter,
    uids: parsed.subjectName.getField(UID_OID),
  };
}

/**
 * The OrganIds a certificate may sign for: the trust config's fingerprint mapping where one
 * exists for that OrganId, otherwise the subject's UID attribute.
 */
export function isBoundTo(signer: SignerCertificate, organId: string, trust: Pick<TrustStore, 'organBindings'>): boolean {
  const mapped = trust.organBindings.get(organId);
  if (mapped) return mapped.has(signer.fingerprint);
  return signer.uids.includes(organId);
}

export function assertSignerIsSender(signer: SignerCertificate, organId: string | undefined, trust: TrustStore): SignerIdentity {
  if (organId === undefined) throw new Rejection('signer-not-sender', 'the package names no From/OrganId to bind the signer to');
  if (!isBoundTo(signer, organId, trust)) {
    throw new Rejection('signer-not-sender', `certificate ${signer.subject} is not bound to sender ${organId}`);
  }
  return { organId, subject: signer.subject, fingerprint: signer.fingerprint, serialNumber: signer.certificate.serialNumber, notAfter: signer.notAfter };
}
