/**
 * RFC 5280 §6.1 basic path validation, for a path already built from a trust anchor to the
 * signer. It follows the algorithm's steps and state (working issuer name and key,
 * max_path_length, the name constraints so far) and keeps what depends on the time (validity,
 * revocation, SHA-1 permission) for `checkPathAt`, so that a validated path can be cached.
 *
 * Inputs fixed by this product: any policy is acceptable and none is required (so the policy
 * tree cannot fail a path; a path that carries policyConstraints, policyMappings or
 * inhibitAnyPolicy is refused instead of half-processed), and the trust anchor's own
 * basicConstraints, nameConstraints and keyUsage constrain the path (RFC 5937, as OpenSSL does).
 * test/unit/signature/openssl-differential.test.ts holds every rule against `openssl verify`.
 */
import { Rejection } from '../errors';
import { isSelfIssued, KU, REFUSED_EXTENSIONS, sameName, UNDERSTOOD_CRITICAL_EXTENSIONS, type CertificateFacts } from './certificate-facts';
import { nameConstraintViolation } from './name-constraints';
import { caAllowsSigning, weakKeyOf, type SignerRules } from './signer-rules';
import type * as asn1 from '@peculiar/asn1-x509';

/** Hash families of certificate signature algorithms (by OID). */
const SHA1_SIGNATURES = new Set(['1.2.840.113549.1.1.5', '1.2.840.10045.4.1', '1.3.14.3.2.29']);
const BROKEN_SIGNATURES = new Map([
  ['1.2.840.113549.1.1.2', 'MD2'],
  ['1.2.840.113549.1.1.3', 'MD4'],
  ['1.2.840.113549.1.1.4', 'MD5'],
]);

/** One certificate of a validated path, with its issuer (undefined for the anchor). */
export interface PathLink {
  cert: CertificateFacts;
  issuer: CertificateFacts | undefined;
  /** The issuer signed this certificate with SHA-1 (accepted only where the partner policy allows it). */
  sha1Signed: boolean;
}

const untrusted = (detail: string) => new Rejection('untrusted-chain', detail);

/**
 * `path` runs from the signer (index 0) to the trust anchor (last); a path of one is a pinned
 * anchor used directly. Throws the first rule the path breaks; returns the links leaf first.
 */
export function validatePath(path: readonly CertificateFacts[], rules: SignerRules): PathLink[] {
  const anchor = path[path.length - 1]!;
  const n = path.length - 1; // certificates below the anchor
  assertAnchorUsable(anchor, n > 0, rules);

  let maxPathLength = anchor.basicConstraints?.pathLen ?? n;
  const constraints: Array<{ from: string; nc: asn1.NameConstraints }> = anchor.nameConstraints ? [{ from: anchor.description, nc: anchor.nameConstraints }] : [];
  const links: PathLink[] = [{ cert: anchor, issuer: undefined, sha1Signed: false }];

  for (let i = n - 1; i >= 0; i--) {
    const cert = path[i]!;
    const issuer = path[i + 1]!;
    const isLeaf = i === 0;
    // §6.1.3 (a): signature, issuer name; (a)(2) dates and (a)(3) revocation are checkPathAt's.
    const broken = BROKEN_SIGNATURES.get(cert.signatureAlgorithm);
    if (broken) throw new Rejection('weak-algorithm', `${cert.description} is signed with ${broken}`);
    if (!sameName(cert.issuer, issuer.subject)) throw untrusted(`the issuer name of ${cert.description} is not the subject of ${issuer.description}`);
    if (!signedBy(cert, issuer)) throw untrusted(`the signature on ${cert.description} does not verify with the key of ${issuer.description}`);
    assertWellFormed(cert);
    const weak = weakKeyOf(cert);
    if (weak) throw new Rejection('weak-algorithm', `${cert.description} holds ${weak}`);
    // (b), (c): name constraints of every CA above, except on a self-issued intermediate.
    if (isLeaf || !isSelfIssued(cert)) {
      for (const { from, nc } of constraints) {
        const violation = nameConstraintViolation(cert, nc, from);
        if (violation) throw untrusted(violation);
      }
    }
    links.unshift({ cert, issuer, sha1Signed: SHA1_SIGNATURES.has(cert.signatureAlgorithm) });
    if (isLeaf) break;
    // §6.1.4: preparation for the next certificate.
    assertCa(cert, rules);
    if (!isSelfIssued(cert)) {
      if (maxPathLength <= 0) {
        throw untrusted(`path length constraint exceeded: ${cert.description} is a CA below a CA whose pathLenConstraint allows no further CA`);
      }
      maxPathLength -= 1;
    }
    const pathLen = cert.basicConstraints?.pathLen;
    if (pathLen !== undefined && pathLen < maxPathLength) maxPathLength = pathLen;
    if (cert.nameConstraints) constraints.push({ from: cert.description, nc: cert.nameConstraints });
  }
  return links;
}

function signedBy(cert: CertificateFacts, issuer: CertificateFacts): boolean {
  try {
    return cert.certificate.verify(issuer.certificate.publicKey);
  } catch {
    return false;
  }
}

/** §6.1.4 (o) and §6.1.5 (f): no critical extension we do not process; §6.1.3 (d)-(f) and §6.1.4 (a),(b),(i),(j): see the file comment. */
function assertWellFormed(cert: CertificateFacts): void {
  if (cert.duplicateExtensions.length > 0) throw untrusted(`${cert.description} carries extension ${cert.duplicateExtensions[0]} more than once`);
  for (const ext of cert.extensions) {
    const refused = REFUSED_EXTENSIONS.get(ext.id);
    if (refused) throw untrusted(`${cert.description} carries ${refused}; certificate policy processing is not supported, so such a path is refused`);
    if (ext.critical && !UNDERSTOOD_CRITICAL_EXTENSIONS.has(ext.id)) throw untrusted(`${cert.description} carries the unknown critical extension ${ext.id}`);
  }
}

/** §6.1.4 (k), (n), and the signing purpose of a CA's extendedKeyUsage. */
function assertCa(cert: CertificateFacts, rules: SignerRules): void {
  if (!cert.basicConstraints?.cA) {
    throw untrusted(`${cert.description} issued a certificate but is not a CA (${cert.basicConstraints ? 'basicConstraints CA:FALSE' : 'no basicConstraints'})`);
  }
  if (cert.keyUsage !== undefined && (cert.keyUsage & KU.keyCertSign) === 0) {
    throw untrusted(`${cert.description} is a CA whose keyUsage does not allow keyCertSign`);
  }
  if (!caAllowsSigning(cert, rules)) throw untrusted(`${cert.description} is a CA whose extendedKeyUsage excludes document signing`);
}

function assertAnchorUsable(anchor: CertificateFacts, issuesOthers: boolean, rules: SignerRules): void {
  assertWellFormed(anchor);
  const weak = weakKeyOf(anchor);
  if (weak) throw new Rejection('weak-algorithm', `trust anchor ${anchor.description} holds ${weak}`);
  if (!issuesOthers) return;
  // A version 1 self-signed root has no extensions and is a CA by being configured as an anchor.
  const v1Root = anchor.version === 1 && isSelfIssued(anchor);
  if (!v1Root) assertCa(anchor, rules);
}
