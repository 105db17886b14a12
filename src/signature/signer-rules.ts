/**
 * What a certificate must be to sign edXML packages, beyond a valid path (docs/SECURITY.md,
 * "Signatures and trust"): an end-entity certificate (not CA:TRUE), an RSA key of at least
 * 2048 bits (the XML signature methods are RSA), a keyUsage that allows signing, and an
 * extendedKeyUsage, when there is one, naming a document-signing purpose. A CA in the path
 * whose extendedKeyUsage names none of these purposes may not issue signing certificates
 * (the rule OpenSSL applies to S/MIME purposes).
 */
import { Rejection } from '../errors';
import { KU, type CertificateFacts } from './certificate-facts';

/** id-kp-documentSigning (RFC 9336). */
export const EKU_DOCUMENT_SIGNING = '1.3.6.1.5.5.7.3.36';
/** id-kp-emailProtection: the purpose of S/MIME and of many signing tokens in the field. */
export const EKU_EMAIL_PROTECTION = '1.3.6.1.5.5.7.3.4';
/** Microsoft's document signing purpose, found on Windows-issued signing certificates. */
export const EKU_MS_DOCUMENT_SIGNING = '1.3.6.1.4.1.311.10.3.12';
/** anyExtendedKeyUsage (RFC 5280 §4.2.1.12): the CA meant no restriction. */
export const EKU_ANY = '2.5.29.37.0';

export const DEFAULT_SIGNING_EKUS: readonly string[] = [EKU_DOCUMENT_SIGNING, EKU_EMAIL_PROTECTION, EKU_MS_DOCUMENT_SIGNING, EKU_ANY];

export const MIN_RSA_BITS = 2048;
export const MIN_EC_BITS = 256;

export interface SignerRules {
  /** ExtendedKeyUsage OIDs of which a signer certificate carrying the extension must name one. */
  signingExtendedKeyUsages: readonly string[];
}

export const DEFAULT_SIGNER_RULES: SignerRules = { signingExtendedKeyUsages: DEFAULT_SIGNING_EKUS };

const unsuitable = (detail: string) => new Rejection('untrusted-chain', detail);

/** The checks on the certificate whose key signs the package. */
export function assertSuitableSigner(leaf: CertificateFacts, rules: SignerRules): void {
  if (leaf.basicConstraints?.cA) {
    throw unsuitable(`${leaf.description} is a CA certificate (basicConstraints CA:TRUE); a CA key does not sign documents`);
  }
  if (leaf.publicKeyType === 'rsa' && (leaf.rsaBits ?? 0) < MIN_RSA_BITS) {
    throw new Rejection('weak-algorithm', `${leaf.description} holds a ${leaf.rsaBits}-bit RSA key; at least ${MIN_RSA_BITS} bits are required`);
  }
  if (leaf.keyUsage !== undefined && (leaf.keyUsage & (KU.digitalSignature | KU.nonRepudiation)) === 0) {
    throw unsuitable(`${leaf.description} is not allowed to sign (keyUsage has neither digitalSignature nor nonRepudiation)`);
  }
  if (leaf.extKeyUsage !== undefined && !allowsSigning(leaf.extKeyUsage, rules)) {
    throw unsuitable(`${leaf.description} is not for document signing (extendedKeyUsage ${leaf.extKeyUsage.join(', ')}; one of ${rules.signingExtendedKeyUsages.join(', ')} is required)`);
  }
}

/** A CA's extendedKeyUsage, when present, must leave the signing purposes open. */
export function caAllowsSigning(ca: CertificateFacts, rules: SignerRules): boolean {
  return ca.extKeyUsage === undefined || allowsSigning(ca.extKeyUsage, rules);
}

function allowsSigning(ekus: readonly string[], rules: SignerRules): boolean {
  return ekus.some((oid) => rules.signingExtendedKeyUsages.includes(oid));
}

/** Key strength of any certificate on a path (anchors included). Undefined when acceptable. */
export function weakKeyOf(cert: CertificateFacts): string | undefined {
  switch (cert.publicKeyType) {
    case 'rsa':
    case 'rsa-pss':
      return (cert.rsaBits ?? 0) < MIN_RSA_BITS ? `a ${cert.rsaBits}-bit RSA key (at least ${MIN_RSA_BITS} bits are required)` : undefined;
    case 'ec':
      return (cert.ecBits ?? 0) < MIN_EC_BITS ? `an EC key on a curve under ${MIN_EC_BITS} bits` : undefined;
    case 'ed25519':
    case 'ed448':
      return undefined;
    default:
      return `a ${cert.publicKeyType ?? 'unknown'} key, which is not accepted`;
  }
}
