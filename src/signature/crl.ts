/**
 * Certificate revocation lists (RFC 5280 §5) read for `CrlRevocationSource`: issuer, dates,
 * revoked serials, and the exact signed bytes, so that the signature is checked synchronously
 * with Node's crypto against whichever issuer certificate the path brings (an anchor or an
 * intermediate CA a document carried).
 */
import { verify as verifySignature, type KeyObject } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import * as asn1 from '@peculiar/asn1-x509';
import { canonicalName, type CanonicalRdn } from './certificate-facts';

const PEM_CRL = /-----BEGIN X509 CRL-----([\s\S]+?)-----END X509 CRL-----/;

/** CRL extensions this reader understands when critical; an indirect or delta CRL is refused at load. */
const UNDERSTOOD_CRITICAL_CRL_EXTENSIONS = new Set<string>([]);
const UNDERSTOOD_CRITICAL_ENTRY_EXTENSIONS = new Set<string>([]);
const CRL_EXTENSION_NAMES: Record<string, string> = {
  '2.5.29.28': 'issuingDistributionPoint (a partitioned or indirect CRL)',
  '2.5.29.27': 'deltaCRLIndicator (a delta CRL)',
  '2.5.29.29': 'certificateIssuer (an indirect CRL)',
};

/** Signature algorithms of CRLs and OCSP responses (by OID): the hash and the key type they need. */
const SIGNATURE_HASHES: Record<string, { hash: string; key: 'rsa' | 'ec' }> = {
  '1.2.840.113549.1.1.5': { hash: 'sha1', key: 'rsa' },
  '1.2.840.113549.1.1.14': { hash: 'sha224', key: 'rsa' },
  '1.2.840.113549.1.1.11': { hash: 'sha256', key: 'rsa' },
  '1.2.840.113549.1.1.12': { hash: 'sha384', key: 'rsa' },
  '1.2.840.113549.1.1.13': { hash: 'sha512', key: 'rsa' },
  '1.2.840.10045.4.3.2': { hash: 'sha256', key: 'ec' },
  '1.2.840.10045.4.3.3': { hash: 'sha384', key: 'ec' },
  '1.2.840.10045.4.3.4': { hash: 'sha512', key: 'ec' },
};

export interface Crl {
  /** Where it was read from, for messages. */
  source: string;
  issuer: readonly CanonicalRdn[];
  issuerDescription: string;
  thisUpdate: Date;
  nextUpdate: Date | undefined;
  /** Serial numbers, uppercase hex without leading zeros. */
  revoked: ReadonlySet<string>;
  /** Does `key` verify this CRL's signature? */
  signedWith(key: KeyObject): boolean;
}

export class CrlReadError extends Error {}

export function readCrl(bytes: Buffer, source: string): Crl {
  const pem = PEM_CRL.exec(bytes.toString('latin1'));
  const der = pem ? Buffer.from(pem[1]!.replace(/\s+/g, ''), 'base64') : bytes;
  let list: asn1.CertificateList;
  let parts: Buffer[];
  try {
    list = AsnConvert.parse(der, asn1.CertificateList);
    parts = sequenceChildren(der);
  } catch (err) {
    throw new CrlReadError(`${source}: not a readable CRL (${(err as Error).message})`);
  }
  if (parts.length !== 3) throw new CrlReadError(`${source}: not a CRL (expected tbsCertList, signatureAlgorithm, signature)`);
  const tbs = list.tbsCertList;
  for (const ext of tbs.crlExtensions ?? []) {
    if (ext.critical && !UNDERSTOOD_CRITICAL_CRL_EXTENSIONS.has(ext.extnID)) {
      throw new CrlReadError(`${source}: the CRL carries the critical extension ${CRL_EXTENSION_NAMES[ext.extnID] ?? ext.extnID}, which is not supported; configure the CA's complete CRL`);
    }
  }
  const revoked = new Set<string>();
  for (const entry of tbs.revokedCertificates ?? []) {
    for (const ext of entry.crlEntryExtensions ?? []) {
      if (ext.critical && !UNDERSTOOD_CRITICAL_ENTRY_EXTENSIONS.has(ext.extnID)) {
        throw new CrlReadError(`${source}: an entry carries the critical extension ${CRL_EXTENSION_NAMES[ext.extnID] ?? ext.extnID}, which is not supported`);
      }
    }
    revoked.add(Buffer.from(entry.userCertificate).toString('hex').toUpperCase().replace(/^0+(?=.)/, ''));
  }
  const signedBytes = parts[0]!;
  const signature = Buffer.from(list.signature);
  const issuerDescription = describeName(tbs.issuer);
  return {
    source,
    issuer: canonicalName(tbs.issuer),
    issuerDescription,
    thisUpdate: tbs.thisUpdate.getTime(),
    nextUpdate: tbs.nextUpdate?.getTime(),
    revoked,
    signedWith: (key) => signatureVerifies(list.signatureAlgorithm.algorithm, signedBytes, signature, key),
  };
}

/** Whether `signature` over `signedBytes` verifies with `key` under the algorithm `algorithmOid` (RSA PKCS#1 v1.5 or ECDSA). */
export function signatureVerifies(algorithmOid: string, signedBytes: Buffer, signature: Buffer, key: KeyObject): boolean {
  const algorithm = SIGNATURE_HASHES[algorithmOid];
  if (!algorithm) return false;
  const type = key.asymmetricKeyType === 'ec' ? 'ec' : key.asymmetricKeyType === 'rsa' ? 'rsa' : undefined;
  if (type !== algorithm.key) return false;
  try {
    return verifySignature(algorithm.hash, signedBytes, key, signature);
  } catch {
    return false;
  }
}

function describeName(name: asn1.Name): string {
  return name.map((rdn) => rdn.map((atv) => atv.value.toString()).join('+')).reverse().join(', ') || '(empty name)';
}

/** The DER of each element directly inside the outer SEQUENCE of `der`. */
function sequenceChildren(der: Buffer): Buffer[] {
  const outer = readTlv(der, 0);
  if (der[0] !== 0x30 || outer.end !== der.length) throw new Error('not one DER SEQUENCE');
  const children: Buffer[] = [];
  for (let at = outer.contentStart; at < outer.end; ) {
    const child = readTlv(der, at);
    children.push(der.subarray(at, child.end));
    at = child.end;
  }
  return children;
}

function readTlv(der: Buffer, at: number): { contentStart: number; end: number } {
  if (at + 2 > der.length) throw new Error('truncated DER');
  let length = der[at + 1]!;
  let contentStart = at + 2;
  if (length & 0x80) {
    const count = length & 0x7f;
    if (count === 0 || count > 4 || contentStart + count > der.length) throw new Error('unsupported DER length');
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + der[contentStart + i]!;
    contentStart += count;
  }
  const end = contentStart + length;
  if (end > der.length) throw new Error('truncated DER');
  return { contentStart, end };
}
