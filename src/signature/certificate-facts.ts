/**
 * A certificate read once into what RFC 5280 path validation and the signer rules look at:
 * names, validity, key, and the extensions decoded by @peculiar/asn1-x509. Node's
 * X509Certificate (OpenSSL) still does the signature checks.
 */
import { createHash, X509Certificate } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import * as asn1 from '@peculiar/asn1-x509';

export const OID = {
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
  extKeyUsage: '2.5.29.37',
  nameConstraints: '2.5.29.30',
  subjectAltName: '2.5.29.17',
  certificatePolicies: '2.5.29.32',
  policyConstraints: '2.5.29.36',
  policyMappings: '2.5.29.33',
  inhibitAnyPolicy: '2.5.29.54',
  emailAddress: '1.2.840.113549.1.9.1',
  uid: '0.9.2342.19200300.100.1.1',
} as const;

/**
 * Extensions this validator understands and may therefore meet marked critical (RFC 5280
 * §6.1.4(o)). certificatePolicies is understood in the sense of §6.1 with the default inputs
 * (any policy acceptable, no explicit policy required): without policyConstraints in the path,
 * the policy tree cannot make a path fail. The same set OpenSSL supports, less what this
 * validator refuses outright (policy constraints and mappings) and nsCertType.
 */
export const UNDERSTOOD_CRITICAL_EXTENSIONS: ReadonlySet<string> = new Set([
  OID.basicConstraints,
  OID.keyUsage,
  OID.extKeyUsage,
  OID.nameConstraints,
  OID.subjectAltName,
  OID.certificatePolicies,
]);

/** Extensions whose processing (the RFC 5280 policy tree) this validator does not do: their presence refuses the path. */
export const REFUSED_EXTENSIONS: ReadonlyMap<string, string> = new Map([
  [OID.policyConstraints, 'policyConstraints'],
  [OID.policyMappings, 'policyMappings'],
  [OID.inhibitAnyPolicy, 'inhibitAnyPolicy'],
]);

/** KeyUsage bits as @peculiar/asn1-x509 numbers them. */
export const KU = asn1.KeyUsageFlags;

/** One RDN: its attributes as `type=canonical value`, sorted (a multi-valued RDN is a set). */
export type CanonicalRdn = string[];

export interface CertificateFacts {
  readonly certificate: X509Certificate;
  readonly der: Buffer;
  /** SHA-256 of the DER, lowercase hex. */
  readonly fingerprint: string;
  /** One-line subject, for messages. */
  readonly description: string;
  readonly version: number;
  readonly serial: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly subject: readonly CanonicalRdn[];
  readonly issuer: readonly CanonicalRdn[];
  /** The raw subject, for name constraints on attribute values. */
  readonly subjectName: asn1.Name;
  /** The OID of the algorithm the issuer signed this certificate with. */
  readonly signatureAlgorithm: string;
  readonly publicKeyType: string | undefined;
  /** RSA modulus length in bits; undefined for other key types. */
  readonly rsaBits: number | undefined;
  /** EC curve size in bits; undefined for other key types. */
  readonly ecBits: number | undefined;
  readonly extensions: ReadonlyArray<{ id: string; critical: boolean }>;
  /** Extension OIDs present more than once (RFC 5280 §4.2 forbids it). */
  readonly duplicateExtensions: readonly string[];
  readonly basicConstraints: { cA: boolean; pathLen: number | undefined } | undefined;
  /** KeyUsage bits; undefined when the extension is absent. */
  readonly keyUsage: number | undefined;
  /** ExtendedKeyUsage OIDs; undefined when the extension is absent. */
  readonly extKeyUsage: readonly string[] | undefined;
  readonly nameConstraints: asn1.NameConstraints | undefined;
  readonly subjectAltNames: readonly asn1.GeneralName[];
  /** UID attribute values of the subject. */
  readonly uids: readonly string[];
}

export class CertificateReadError extends Error {}

const cache = new WeakMap<X509Certificate, CertificateFacts>();

export function factsOf(certificate: X509Certificate): CertificateFacts {
  let facts = cache.get(certificate);
  if (!facts) cache.set(certificate, (facts = readFacts(certificate)));
  return facts;
}

function readFacts(certificate: X509Certificate): CertificateFacts {
  const der = certificate.raw;
  let parsed: asn1.Certificate;
  try {
    parsed = AsnConvert.parse(der, asn1.Certificate);
  } catch (err) {
    throw new CertificateReadError(`not a readable X.509 certificate: ${(err as Error).message}`);
  }
  const tbs = parsed.tbsCertificate;
  const seen = new Set<string>();
  const duplicates = new Set<string>();
  const extensions = (tbs.extensions ?? []).map((e) => {
    if (seen.has(e.extnID)) duplicates.add(e.extnID);
    seen.add(e.extnID);
    return { id: e.extnID, critical: e.critical, value: Buffer.from(e.extnValue.buffer, e.extnValue.byteOffset, e.extnValue.byteLength) };
  });
  const decode = <T>(id: string, type: new () => T): T | undefined => {
    const ext = extensions.find((e) => e.id === id);
    if (!ext) return undefined;
    try {
      return AsnConvert.parse(ext.value, type);
    } catch (err) {
      throw new CertificateReadError(`extension ${id} of ${oneLine(certificate)} cannot be decoded: ${(err as Error).message}`);
    }
  };
  const bc = decode(OID.basicConstraints, asn1.BasicConstraints);
  const ku = decode(OID.keyUsage, asn1.KeyUsage);
  const eku = decode(OID.extKeyUsage, asn1.ExtendedKeyUsage);
  const san = decode(OID.subjectAltName, asn1.SubjectAlternativeName);
  const key = certificate.publicKey;
  const details = key.asymmetricKeyDetails;
  return {
    certificate,
    der,
    fingerprint: createHash('sha256').update(der).digest('hex'),
    description: oneLine(certificate),
    version: tbs.version + 1,
    serial: certificate.serialNumber.toUpperCase().replace(/^0+(?=.)/, ''),
    notBefore: new Date(certificate.validFrom),
    notAfter: new Date(certificate.validTo),
    subject: canonicalName(tbs.subject),
    issuer: canonicalName(tbs.issuer),
    subjectName: tbs.subject,
    signatureAlgorithm: parsed.signatureAlgorithm.algorithm,
    publicKeyType: key.asymmetricKeyType,
    rsaBits: key.asymmetricKeyType === 'rsa' || key.asymmetricKeyType === 'rsa-pss' ? details?.modulusLength : undefined,
    ecBits: key.asymmetricKeyType === 'ec' ? curveBits(details?.namedCurve) : undefined,
    extensions: extensions.map(({ id, critical }) => ({ id, critical })),
    duplicateExtensions: [...duplicates],
    basicConstraints: bc ? { cA: bc.cA, pathLen: bc.pathLenConstraint } : undefined,
    keyUsage: ku ? ku.toNumber() : undefined,
    extKeyUsage: eku ? eku.map(String) : undefined,
    nameConstraints: decode(OID.nameConstraints, asn1.NameConstraints),
    subjectAltNames: san ? [...san] : [],
    uids: attributeValues(tbs.subject, OID.uid),
  };
}

function oneLine(certificate: X509Certificate): string {
  return certificate.subject.replace(/\n/g, ', ') || '(empty subject)';
}

function curveBits(curve: string | undefined): number | undefined {
  const bits: Record<string, number> = { prime256v1: 256, 'P-256': 256, secp384r1: 384, 'P-384': 384, secp521r1: 521, 'P-521': 521 };
  return curve ? (bits[curve] ?? 0) : undefined;
}

export function attributeValues(name: asn1.Name, type: string): string[] {
  return name.flatMap((rdn) => rdn.filter((atv) => atv.type === type).map((atv) => atv.value.toString()));
}

/**
 * Names compared the way OpenSSL compares them (x509_name_canon): string values trimmed, runs of
 * white space folded to one, ASCII letters lowercased; other values by their encoding.
 */
export function canonicalName(name: asn1.Name): CanonicalRdn[] {
  return name.map((rdn) => rdn.map((atv) => `${atv.type}=${canonicalValue(atv.value)}`).sort());
}

function canonicalValue(value: asn1.AttributeValue): string {
  if (value.anyValue) return `#${Buffer.from(value.anyValue).toString('hex')}`;
  return canonicalText(value.toString());
}

/** A string attribute value as names are compared: trimmed, white space folded, ASCII letters lowercased. */
export function canonicalText(text: string): string {
  return text
    .trim()
    .replace(/\s+/g, ' ')
    .replace(/[A-Z]/g, (c) => c.toLowerCase());
}

export function sameName(a: readonly CanonicalRdn[], b: readonly CanonicalRdn[]): boolean {
  return a.length === b.length && a.every((rdn, i) => rdn.length === b[i]!.length && rdn.every((v, j) => v === b[i]![j]));
}

/** Self-issued (RFC 5280 §6.1): subject and issuer are the same name. */
export function isSelfIssued(facts: CertificateFacts): boolean {
  return sameName(facts.subject, facts.issuer);
}
