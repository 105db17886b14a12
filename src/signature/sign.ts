/**
 * `signPackage`: the connector signs for a legacy system that cannot (DESIGN.md §5): RSA-SHA256,
 * exclusive C14N, one `Reference URI=""` with the enveloped-signature transform, the signature as
 * the last child of `edXMLHeader`, the certificate chain in KeyInfo so that xmlsec1 and other
 * verifiers can build the path.
 *
 * It replaces the SDK placeholder (or a signature of the sender's own agency) and refuses to
 * overwrite a valid signature of another agency.
 */
import { createPrivateKey, createPublicKey, randomBytes, sign as signBytes, X509Certificate, type KeyObject } from 'node:crypto';
import { XMLSerializer, type Document, type Element, type Node, type Text } from '@xmldom/xmldom';
import { Rejection } from '../errors';
import { withDefaults, type Limits } from '../limits';
import { parseXml, type ParsedXml } from '../edxml/safe-xml';
import { C14N_EXCLUSIVE, DIGEST_SHA256, DSIG_NS, RSA_SHA256, TRANSFORM_ENVELOPED } from './algorithms';
import { canonicalDigest, isOwnCanonicalForm, renderedBytes, renderWithAttachments, type OmittedText, type RenderedPiece } from './canonical';
import { describeSigner, isBoundTo, type SignerCertificate } from './chain';
import { isLastElementChild, locatePackage } from './package-layout';
import { readSignature } from './signature-element';
import { certificatesFromPem, type TrustStore } from './trust';
import { assertDigestMatches, assertSignatureValue, claimedSigner, trustedSigner } from './verify';

/** The agency key as a PEM file's content. */
export interface PemCredentials {
  /** PEM private key (PKCS#8 or PKCS#1), unencrypted. */
  keyPem: string | Buffer;
  /** PEM certificate of that key. */
  certPem: string | Buffer;
  /** PEM intermediates up to (not necessarily including) the anchor, put in KeyInfo after the certificate. */
  chainPem?: string | Buffer;
}

/**
 * A private key that never leaves where it lives (a PKCS#11 token, src/signature/pkcs11): it
 * signs what it is given with RSA-SHA256, and tells its public key. Both may throw (a TokenError)
 * while the key is unavailable.
 */
export interface ExternalSigningKey {
  signRsaSha256(data: Buffer): Buffer;
  publicKey(): KeyObject;
}

/** The agency key in a token; the canonical SignedInfo is made here, only its signature there. */
export interface ExternalKeyCredentials {
  key: ExternalSigningKey;
  certPem: string | Buffer;
  chainPem?: string | Buffer;
}

export type SignerCredentials = PemCredentials | ExternalKeyCredentials;

export interface SignOptions {
  limits?: Partial<Limits>;
  /**
   * Decides whether a signature the package already carries is "valid": with a trust store, it
   * must chain to an anchor; without one, it must verify with the certificate it carries. Its
   * fingerprint bindings also decide which agency that signer belongs to.
   */
  trust?: TrustStore;
  /** The instant used for that chain check; defaults to now. */
  now?: Date;
}

const NO_BINDINGS = { organBindings: new Map<string, ReadonlySet<string>>() };

interface PreparedSigner {
  /** RSA-SHA256 over the canonical SignedInfo, by the PEM key or by the token. */
  sign: (data: Buffer) => Buffer;
  self: SignerCertificate;
  /** KeyInfo content: the certificate, then the chain. */
  x509Data: string;
}

/** Keys and certificates parsed once per credentials object (the connector keeps one for its life). */
const prepared = new WeakMap<SignerCredentials, PreparedSigner>();

function prepare(signer: SignerCredentials): PreparedSigner {
  const cached = prepared.get(signer);
  if (cached) return cached;
  const certificate = new X509Certificate(signer.certPem);
  const sign = 'keyPem' in signer ? pemSigner(signer.keyPem, certificate) : externalSigner(signer.key, certificate);
  const chain = signer.chainPem ? certificatesFromPem(signer.chainPem.toString(), 'chainPem') : [];
  const x509Data = [certificate, ...chain].map((c) => `<X509Certificate>${c.raw.toString('base64')}</X509Certificate>`).join('');
  const result = { sign, self: describeSigner(certificate), x509Data };
  prepared.set(signer, result);
  return result;
}

export function signPackage(bytes: Buffer, signer: SignerCredentials, options: SignOptions = {}): Buffer {
  const parsed = parseXml(bytes, withDefaults(options.limits), { omitAttachmentText: true });
  const pieces = signParsed(parsed, signer, options);
  return renderedBytes(pieces);
}

/**
 * The same on a package already parsed (by the pipeline, for its facts; or a spooled package,
 * whose attachment text stays in its file). The DOM is changed: the signature is put in. Returns
 * the signed package in pieces, to be concatenated or written out (`forEachRenderedBytes`).
 */
export function signParsed(parsed: ParsedXml, signer: SignerCredentials, options: SignOptions = {}): RenderedPiece[] {
  const limits = withDefaults(options.limits);
  const { sign, self, x509Data } = prepare(signer);
  const bindings = options.trust ?? NO_BINDINGS;

  const { doc, omitted } = forSigning(parsed, limits);
  const layout = locatePackage(doc);
  if (!layout.header) throw new Rejection('invalid-edxml', 'no edXML/edXMLEnvelope/edXMLHeader to put the signature in');
  const header = layout.header;
  const ownOrganIds = layout.senderOrganId !== undefined ? [layout.senderOrganId] : self.uids;
  if (layout.senderOrganId !== undefined && !isBoundTo(self, layout.senderOrganId, bindings)) {
    throw new Rejection('signer-not-sender', `certificate ${self.subject} is not bound to sender ${layout.senderOrganId}`);
  }
  for (const existing of layout.signatures) {
    const other = validSignerOf(doc, existing, limits, options, omitted, parsed.scan.undeclaredPrefixes);
    if (other && !ownOrganIds.some((organId) => isBoundTo(other, organId, bindings))) {
      throw new Rejection('signed-by-another-agency', `the package already carries a valid signature of ${other.subject}; it is not re-signed`);
    }
  }

  // The signature goes where a last-child placeholder stood (keeping the layout), else at the end.
  let insertBefore: Node | null = null;
  for (const old of [...layout.placeholders, ...layout.signatures]) {
    if (old.parentNode === header && isLastElementChild(old)) insertBefore = old.nextSibling;
    old.parentNode!.removeChild(old);
  }
  // Over the DOM as it is serialized below: declarations the reader repaired are written out, so they are signed.
  const digest = canonicalDigest(doc, C14N_EXCLUSIVE, [], 'sha256', omitted).toString('base64');
  const signatureValue = sign(Buffer.from(canonicalSignedInfo(digest), 'utf8')).toString('base64');
  const signatureXml =
    `<Signature xmlns="${DSIG_NS}">${signedInfo(digest, false)}` +
    `<SignatureValue>${signatureValue}</SignatureValue>` +
    `<KeyInfo><X509Data>${x509Data}</X509Data></KeyInfo>` +
    `</Signature>`;
  // The signature is our own markup: it goes into the serialization in place of a marker node
  // rather than through a parse and importNode (the same bytes, without two more parses).
  const marker = `\uffff${randomBytes(16).toString('hex')}\uffff`;
  const markerNode = header.insertBefore(doc.createTextNode(marker), insertBefore);
  try {
    const pieces = renderWithAttachments(doc, omitted, () => serializeRereadable(doc));
    return pieces.map((piece) => (typeof piece === 'string' && piece.includes(marker) ? piece.replace(marker, () => signatureXml) : piece));
  } finally {
    header.removeChild(markerNode);
  }
}

/**
 * The document as XML that parses back to the same canonical form. @xmldom/xmldom writes a CR in
 * text as a raw byte (a parser then reads CR LF as LF: .NET's `&#xD;` before a newline would be
 * lost and the digest with it), so CRs in text are written as `&#xD;` (attribute values it
 * already escapes). The DOM is left as it was found.
 */
export function serializeRereadable(doc: Document): string {
  const marker = `\uffff${randomBytes(16).toString('hex')}\uffff`;
  const changed: Array<[Text, string]> = [];
  try {
    for (let node: Node | null = doc.documentElement; node; node = nextInDocumentOrder(node, doc)) {
      if (node.nodeType !== node.TEXT_NODE) continue;
      const text = node as Text;
      if (!text.data.includes('\r')) continue;
      changed.push([text, text.data]);
      text.data = text.data.replaceAll('\r', marker);
    }
    const xml = new XMLSerializer().serializeToString(doc);
    return changed.length > 0 ? xml.replaceAll(marker, '&#xD;') : xml;
  } finally {
    for (const [text, data] of changed) text.data = data;
  }
}

function nextInDocumentOrder(node: Node, root: Document): Node | null {
  if (node.firstChild) return node.firstChild;
  for (let at: Node | null = node; at && at !== root; at = at.parentNode) {
    if (at.nextSibling) return at.nextSibling;
  }
  return null;
}

/** Attachment base64 stays out of the DOM (and out of strings) unless it is not plain base64. */
function forSigning(parsed: ParsedXml, limits: Limits): { doc: Document; omitted: OmittedText | undefined } {
  const omitted: OmittedText = { bytes: parsed.scan.bytes, ranges: parsed.scan.attachmentTexts, external: parsed.externalText };
  if (omitted.ranges.every((r) => !r.plain || r.end <= r.start || isOwnCanonicalForm(omitted.bytes, r))) {
    return { doc: parsed.document, omitted };
  }
  const full = parseXml(parsed.scan.bytes, limits).document;
  return { doc: full, omitted: parsed.externalText ? omitted : undefined };
}

/** Our SignedInfo; with `declareNamespace` false, for inside a Signature that declares it. */
export function signedInfo(digestBase64: string, declareNamespace = true): string {
  return (
    `<SignedInfo${declareNamespace ? ` xmlns="${DSIG_NS}"` : ''}>` +
    `<CanonicalizationMethod Algorithm="${C14N_EXCLUSIVE}"/>` +
    `<SignatureMethod Algorithm="${RSA_SHA256}"/>` +
    `<Reference URI=""><Transforms>` +
    `<Transform Algorithm="${TRANSFORM_ENVELOPED}"/><Transform Algorithm="${C14N_EXCLUSIVE}"/>` +
    `</Transforms><DigestMethod Algorithm="${DIGEST_SHA256}"/><DigestValue>${digestBase64}</DigestValue></Reference>` +
    `</SignedInfo>`
  );
}

/**
 * The exclusive canonical form of `signedInfo(digest)`, which is what the signature value signs:
 * written out rather than computed (empty elements as start and end tag, the namespace declared
 * on SignedInfo). A unit test holds it equal to canonicalizing the parsed SignedInfo.
 */
export function canonicalSignedInfo(digestBase64: string): string {
  const empty = (name: string, algorithm: string) => `<${name} Algorithm="${algorithm}"></${name}>`;
  return (
    `<SignedInfo xmlns="${DSIG_NS}">` +
    empty('CanonicalizationMethod', C14N_EXCLUSIVE) +
    empty('SignatureMethod', RSA_SHA256) +
    `<Reference URI=""><Transforms>` +
    empty('Transform', TRANSFORM_ENVELOPED) +
    empty('Transform', C14N_EXCLUSIVE) +
    `</Transforms>${empty('DigestMethod', DIGEST_SHA256)}<DigestValue>${digestBase64}</DigestValue></Reference>` +
    `</SignedInfo>`
  );
}

/** The signer of an existing signature when it is valid (see SignOptions.trust), else undefined. */
function validSignerOf(doc: Document, signature: Element, limits: Limits, options: SignOptions, omitted: OmittedText | undefined, repairedPrefixes: readonly string[]): SignerCertificate | undefined {
  try {
    // SHA-1 is accepted here: a legacy partner's valid signature is still not ours to overwrite.
    const parsed = readSignature(signature, limits, true, repairedPrefixes);
    // Nor is it overwritten because its CRL is stale: only the receiver decides on revocation.
    const use = { allowSha1: true, revocation: 'best-effort' } as const;
    const signer = options.trust ? trustedSigner(parsed, options.trust, options.now ?? new Date(), use) : claimedSigner(parsed);
    assertDigestMatches(doc, signature, parsed, omitted, repairedPrefixes);
    assertSignatureValue(parsed, signer.certificate);
    return signer;
  } catch (err) {
    if (err instanceof Rejection) return undefined;
    throw err;
  }
}

function pemSigner(keyPem: string | Buffer, certificate: X509Certificate): (data: Buffer) => Buffer {
  const key = createPrivateKey(keyPem);
  if (key.asymmetricKeyType !== 'rsa') throw new Error('the signing key must be an RSA key (RSA-SHA256 is the signature method)');
  assertPublicKeyMatches(createPublicKey(key), certificate, 'the private key does not belong to the certificate');
  return (data) => signBytes('sha256', data, key);
}

/**
 * The token signs. Its public key is checked against the certificate whenever the token was
 * opened again (a replaced token may carry another key under the same label).
 */
function externalSigner(key: ExternalSigningKey, certificate: X509Certificate): (data: Buffer) => Buffer {
  let checked: KeyObject | undefined;
  return (data) => {
    const publicKey = key.publicKey();
    if (publicKey !== checked) {
      assertPublicKeyMatches(publicKey, certificate, 'the key in the token does not belong to the signing certificate');
      checked = publicKey;
    }
    return key.signRsaSha256(data);
  };
}

function assertPublicKeyMatches(publicKey: KeyObject, certificate: X509Certificate, message: string): void {
  const fromKey = publicKey.export({ format: 'der', type: 'spki' });
  const fromCert = certificate.publicKey.export({ format: 'der', type: 'spki' });
  if (!fromKey.equals(fromCert)) throw new Error(message);
}
