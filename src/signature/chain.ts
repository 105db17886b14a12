/**
 * Who signed: the certificates a document carries are only candidates. The signer is trusted
 * when its certificate chains, signature by signature, to a configured anchor (DESIGN.md §5;
 * the CVE-2024-32962 class of bypass is a document vouching for its own key). Then dates,
 * CRLs and the binding to `From/OrganId` are checked.
 */
import { X509Certificate } from 'node:crypto';
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

/**
 * Walks from the leaf to an anchor through the document's other certificates, then checks the
 * validity dates of every certificate on the path and the CRLs of every issuer that has one.
 */
export function validateChain(leaf: X509Certificate, documentCerts: readonly X509Certificate[], trust: TrustStore, now: Date): X509Certificate[] {
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
  for (const cert of path) {
    const notBefore = new Date(cert.validFrom);
    const notAfter = new Date(cert.validTo);
    if (now < notBefore) throw new Rejection('cert-expired', `${describe(cert)} is not valid before ${notBefore.toISOString()}`);
    if (now > notAfter) throw new Rejection('cert-expired', `${describe(cert)} expired on ${notAfter.toISOString()}`);
  }
  for (let i = 0; i + 1 < path.length; i++) {
    const revoked = trust.revokedSerials.get(fingerprintOf(path[i + 1]!));
    if (revoked?.has(normalizeSerial(path[i]!.serialNumber))) {
      throw new Rejection('cert-revoked', `${describe(path[i]!)} (serial ${path[i]!.serialNumber}) is revoked`);
    }
  }
  assertSigningKeyUsage(leaf);
  return path;
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
  return { organId, subject: signer.subject, fingerprint: signer.fingerprint, notAfter: signer.notAfter };
}
