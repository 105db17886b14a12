/**
 * OCSP (RFC 6960) as a pure protocol step, no network: the request for one certificate, and the
 * response read and judged against that request. The ASN.1 structures are @peculiar/asn1-ocsp's;
 * signatures are checked with Node's crypto.
 *
 * A response counts only when it is signed by the CA that issued the certificate, or by a
 * delegated responder certificate that this same CA issued with id-kp-OCSPSigning (§4.2.2.2),
 * valid now; anything else is refused. It must answer for the certificate asked about, echo
 * the request's nonce when it carries one, and be fresh: thisUpdate not in the future, nextUpdate
 * (when given) not passed, and thisUpdate no older than the configured maximum age.
 */
import { createHash, randomBytes, X509Certificate } from 'node:crypto';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import * as asn1 from '@peculiar/asn1-x509';
import * as ocsp from '@peculiar/asn1-ocsp';
import { canonicalName, factsOf, KU, sameName, type CertificateFacts } from './certificate-facts';
import { signatureVerifies } from './crl';

const SHA1 = '1.3.14.3.2.26';
export const EKU_OCSP_SIGNING = ocsp.id_kp_OCSPSigning;
const AIA_OID = '1.3.6.1.5.5.7.1.1';
const AD_OCSP = '1.3.6.1.5.5.7.48.1';

/** How a response (or the attempt to get one) ended: the `outcome` label of vdxp_ocsp_requests_total. */
export const OCSP_OUTCOMES = ['good', 'revoked', 'unknown', 'unavailable', 'stale', 'unauthorized-signer', 'bad-response'] as const;
export type OcspOutcome = (typeof OCSP_OUTCOMES)[number];

export type NonceMode = 'if-supported' | 'required' | 'off';
export const NONCE_MODES: readonly NonceMode[] = ['if-supported', 'required', 'off'];

export interface Freshness {
  /** Oldest acceptable thisUpdate, as an age in seconds at the time of use. */
  maxAgeSeconds: number;
  /** Tolerance for the responder's clock on thisUpdate and nextUpdate. */
  clockSkewSeconds: number;
}

/** A response that passed every check: what the responder vouches for, and until when. */
export interface OcspStatus {
  status: 'good' | 'revoked' | 'unknown';
  thisUpdate: Date;
  nextUpdate: Date | undefined;
  producedAt: Date;
  /** Who signed it: the CA itself or its delegated responder. */
  signer: string;
  revokedAt?: Date;
  revocationReason?: string;
}

export type OcspVerdict = ({ ok: true } & OcspStatus) | { ok: false; outcome: Exclude<OcspOutcome, 'good' | 'revoked' | 'unknown'>; detail: string };

export interface OcspRequest {
  der: Buffer;
  certId: ocsp.CertID;
  /** The nonce extension's value as sent, to compare with the response's; undefined when none was sent. */
  nonce: Buffer | undefined;
}

const parsedCertificates = new WeakMap<CertificateFacts, asn1.Certificate>();

function parsed(facts: CertificateFacts): asn1.Certificate {
  let cert = parsedCertificates.get(facts);
  if (!cert) parsedCertificates.set(facts, (cert = AsnConvert.parse(facts.der, asn1.Certificate)));
  return cert;
}

const sha1 = (bytes: ArrayBuffer | Buffer) => createHash('sha1').update(Buffer.from(bytes as ArrayBuffer)).digest();

/** The SHA-1 of a certificate's subjectPublicKey bits: the issuerKeyHash of a CertID, and a ResponderID byKey. */
function keyHash(facts: CertificateFacts): Buffer {
  return sha1(parsed(facts).tbsCertificate.subjectPublicKeyInfo.subjectPublicKey);
}

/** The OCSP responder URLs (http or https) the certificate's authorityInfoAccess names. */
export function ocspUrlsOf(facts: CertificateFacts): string[] {
  const ext = parsed(facts).tbsCertificate.extensions?.find((e) => e.extnID === AIA_OID);
  if (!ext) return [];
  try {
    const aia = AsnConvert.parse(ext.extnValue, asn1.AuthorityInfoAccessSyntax);
    return aia
      .filter((d) => d.accessMethod === AD_OCSP && d.accessLocation.uniformResourceIdentifier)
      .map((d) => d.accessLocation.uniformResourceIdentifier!)
      .filter((url) => /^https?:\/\//i.test(url));
  } catch {
    return [];
  }
}

/** The CertID (SHA-1, as RFC 5019 and every responder in the field expect) of `cert` under `issuer`. */
export function certIdOf(cert: CertificateFacts, issuer: CertificateFacts): ocsp.CertID {
  return new ocsp.CertID({
    hashAlgorithm: new asn1.AlgorithmIdentifier({ algorithm: SHA1, parameters: null }),
    issuerNameHash: new OctetString(sha1(AsnConvert.serialize(parsed(cert).tbsCertificate.issuer))),
    issuerKeyHash: new OctetString(keyHash(issuer)),
    serialNumber: parsed(cert).tbsCertificate.serialNumber,
  });
}

export function buildOcspRequest(cert: CertificateFacts, issuer: CertificateFacts, withNonce: boolean): OcspRequest {
  const certId = certIdOf(cert, issuer);
  const nonce = withNonce ? Buffer.from(AsnConvert.serialize(new OctetString(randomBytes(32)))) : undefined;
  const request = new ocsp.OCSPRequest({
    tbsRequest: new ocsp.TBSRequest({
      requestList: [new ocsp.Request({ reqCert: certId })],
      ...(nonce ? { requestExtensions: [new asn1.Extension({ extnID: ocsp.id_pkix_ocsp_nonce, critical: false, extnValue: new OctetString(nonce) })] } : {}),
    }),
  });
  return { der: Buffer.from(AsnConvert.serialize(request)), certId, nonce };
}

function sameCertId(a: ocsp.CertID, b: ocsp.CertID): boolean {
  const eq = (x: ArrayBuffer | OctetString, y: ArrayBuffer | OctetString) =>
    Buffer.from(x instanceof OctetString ? x.buffer : x).equals(Buffer.from(y instanceof OctetString ? y.buffer : y));
  return a.hashAlgorithm.algorithm === b.hashAlgorithm.algorithm && eq(a.issuerNameHash, b.issuerNameHash) && eq(a.issuerKeyHash, b.issuerKeyHash) && serialHex(a.serialNumber) === serialHex(b.serialNumber);
}

function serialHex(serial: ArrayBuffer): string {
  return Buffer.from(serial).toString('hex').toUpperCase().replace(/^0+(?=.)/, '');
}

const RESPONSE_STATUS_NAMES: Record<number, string> = {
  1: 'malformedRequest',
  2: 'internalError',
  3: 'tryLater',
  5: 'sigRequired',
  6: 'unauthorized',
};

const CRL_REASONS = ['unspecified', 'keyCompromise', 'cACompromise', 'affiliationChanged', 'superseded', 'cessationOfOperation', 'certificateHold', 'unused', 'removeFromCRL', 'privilegeWithdrawn', 'aACompromise'];

function fail(outcome: Exclude<OcspOutcome, 'good' | 'revoked' | 'unknown'>, detail: string): OcspVerdict {
  return { ok: false, outcome, detail };
}

/**
 * Judges a responder's answer to `request` about `cert` (issued by `issuer`) at `now`. Never
 * throws: whatever is wrong with the bytes is a verdict with its outcome.
 */
export function judgeOcspResponse(
  der: Buffer,
  request: OcspRequest,
  cert: CertificateFacts,
  issuer: CertificateFacts,
  now: Date,
  options: Freshness & { nonce: NonceMode },
): OcspVerdict {
  let basic: ocsp.BasicOCSPResponse;
  try {
    const response = AsnConvert.parse(der, ocsp.OCSPResponse);
    if (response.responseStatus !== ocsp.OCSPResponseStatus.successful) {
      const name = RESPONSE_STATUS_NAMES[response.responseStatus] ?? `status ${response.responseStatus}`;
      const transient = response.responseStatus === ocsp.OCSPResponseStatus.tryLater || response.responseStatus === ocsp.OCSPResponseStatus.internalError;
      return fail(transient ? 'unavailable' : 'bad-response', `the responder answered ${name}`);
    }
    if (!response.responseBytes || response.responseBytes.responseType !== ocsp.id_pkix_ocsp_basic) {
      return fail('bad-response', `the response is not a basic OCSP response (${response.responseBytes?.responseType ?? 'no responseBytes'})`);
    }
    basic = AsnConvert.parse(response.responseBytes.response.buffer, ocsp.BasicOCSPResponse);
  } catch (err) {
    return fail('bad-response', `the response is not readable OCSP (${(err as Error).message})`);
  }
  const data = basic.tbsResponseData;
  const signer = authorizedSigner(basic, issuer, now);
  if (typeof signer === 'string') return fail('unauthorized-signer', signer);

  if (request.nonce) {
    const echoed = data.responseExtensions?.find((e) => e.extnID === ocsp.id_pkix_ocsp_nonce);
    if (echoed && !Buffer.from(echoed.extnValue.buffer).equals(request.nonce)) return fail('bad-response', 'the response carries another nonce than the request (a replayed response)');
    if (!echoed && options.nonce === 'required') return fail('bad-response', 'the response carries no nonce, and trust.ocsp.nonce is required');
  }
  const single = data.responses.find((r) => sameCertId(r.certID, request.certId));
  if (!single) return fail('bad-response', `the response does not answer for ${cert.description} (serial ${cert.serial})`);
  const status: OcspStatus = {
    status: single.certStatus.revoked ? 'revoked' : single.certStatus.unknown !== undefined ? 'unknown' : 'good',
    thisUpdate: single.thisUpdate,
    nextUpdate: single.nextUpdate,
    producedAt: data.producedAt,
    signer: signer.description,
  };
  if (single.certStatus.revoked) {
    status.revokedAt = single.certStatus.revoked.revocationTime;
    const reason = single.certStatus.revoked.revocationReason?.reason;
    if (reason !== undefined) status.revocationReason = CRL_REASONS[reason] ?? String(reason);
  }
  const stale = staleness(status, now, options);
  if (stale) return fail('stale', stale);
  return { ok: true, ...status };
}

/** Why `status` may not be relied on at `now`, or undefined when it is fresh. Checked again at every use of a cached status. */
export function staleness(status: Pick<OcspStatus, 'thisUpdate' | 'nextUpdate'>, now: Date, { maxAgeSeconds, clockSkewSeconds }: Freshness): string | undefined {
  const skew = clockSkewSeconds * 1000;
  if (status.thisUpdate.getTime() > now.getTime() + skew) return `the response's thisUpdate ${status.thisUpdate.toISOString()} is in the future`;
  if (status.nextUpdate && now.getTime() > status.nextUpdate.getTime() + skew) return `the response is stale: its nextUpdate ${status.nextUpdate.toISOString()} has passed`;
  if (now.getTime() - status.thisUpdate.getTime() > maxAgeSeconds * 1000) {
    return `the response is stale: its thisUpdate ${status.thisUpdate.toISOString()} is older than trust.ocsp.maxAgeSeconds (${maxAgeSeconds})`;
  }
  return undefined;
}

/**
 * RFC 6960 §4.2.2.2: the CA that issued the certificate, or a responder certificate the same CA
 * issued with id-kp-OCSPSigning, valid at `now`, whose key verifies the response. Returns the
 * signer, or why none is acceptable.
 */
function authorizedSigner(basic: ocsp.BasicOCSPResponse, issuer: CertificateFacts, now: Date): CertificateFacts | string {
  const signed = basic.tbsResponseDataRaw ? Buffer.from(basic.tbsResponseDataRaw) : Buffer.from(AsnConvert.serialize(basic.tbsResponseData));
  const signature = Buffer.from(basic.signature);
  const algorithm = basic.signatureAlgorithm.algorithm;
  const id = basic.tbsResponseData.responderID;
  const named = (facts: CertificateFacts) =>
    id.byName ? sameName(canonicalName(id.byName), facts.subject) : id.byKey ? keyHash(facts).equals(Buffer.from(id.byKey.buffer)) : false;
  const verifies = (facts: CertificateFacts) => signatureVerifies(algorithm, signed, signature, facts.certificate.publicKey);

  if (named(issuer)) {
    if (verifies(issuer)) return issuer;
    // The responder claims to be the CA: only the CA's key will do.
    return `the response names ${issuer.description} as its signer but its signature does not verify with that CA's key`;
  }
  const refusals: string[] = [];
  for (const embedded of basic.certs ?? []) {
    let facts: CertificateFacts;
    try {
      facts = factsFromDer(Buffer.from(AsnConvert.serialize(embedded)));
    } catch {
      continue;
    }
    if (!named(facts)) continue;
    const why = delegationRefusal(facts, issuer, now);
    if (why) {
      refusals.push(why);
      continue;
    }
    if (verifies(facts)) return facts;
    refusals.push(`its signature does not verify with the key of ${facts.description}`);
  }
  const who = id.byName ? describeName(id.byName) : `the key ${Buffer.from(id.byKey?.buffer ?? new ArrayBuffer(0)).toString('hex')}`;
  return refusals.length > 0
    ? `the response is signed by ${who}, which may not sign OCSP responses for ${issuer.description}: ${refusals.join('; ')}`
    : `the response is signed by ${who}, which is neither ${issuer.description} nor a responder certificate the response carries`;
}

/** Why `responder` is not a delegated OCSP responder of `ca` at `now`; undefined when it is one. */
function delegationRefusal(responder: CertificateFacts, ca: CertificateFacts, now: Date): string | undefined {
  if (!sameName(responder.issuer, ca.subject) || !issuedBy(responder, ca)) return `${responder.description} is not issued by ${ca.description}`;
  if (!responder.extKeyUsage?.includes(EKU_OCSP_SIGNING)) return `${responder.description} does not carry the OCSP-signing extendedKeyUsage (id-kp-OCSPSigning)`;
  if (responder.keyUsage !== undefined && (responder.keyUsage & (KU.digitalSignature | KU.nonRepudiation)) === 0) {
    return `${responder.description} has a keyUsage that does not allow signing`;
  }
  if (now < responder.notBefore || now > responder.notAfter) return `${responder.description} is not valid at ${now.toISOString()}`;
  return undefined;
}

function issuedBy(cert: CertificateFacts, issuer: CertificateFacts): boolean {
  try {
    return cert.certificate.verify(issuer.certificate.publicKey);
  } catch {
    return false;
  }
}

function factsFromDer(der: Buffer): CertificateFacts {
  return factsOf(new X509Certificate(der));
}

function describeName(name: asn1.Name): string {
  return name.map((rdn) => rdn.map((atv) => atv.value.toString()).join('+')).reverse().join(', ') || '(empty name)';
}
