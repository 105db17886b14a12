/**
 * `verifyPackage`: DESIGN.md §5 end to end, on one parse of the package.
 *
 * Order: placement and wrapping rules, then the signed algorithms and reference, then who
 * signed (chain to an anchor, dates, CRLs; never a key because the document carries it), then
 * the digest over the whole package, then the signature value, then the binding of the signer
 * to `From/OrganId`. Each failure is a `Rejection` with its reason code.
 */
import { createHash, timingSafeEqual, verify as verifyBytes, type X509Certificate } from 'node:crypto';
import type { Document, Element } from '@xmldom/xmldom';
import { Rejection } from '../errors';
import { withDefaults, type Limits } from '../limits';
import { parseXmlDocument } from '../edxml/safe-xml';
import { canonicalize } from './canonical';
import {
  assertSignerIsSender,
  describeSigner,
  parseDocumentCertificates,
  selectLeaf,
  validateChain,
  type SignerCertificate,
  type SignerIdentity,
} from './chain';
import { isLastElementChild, locatePackage, type PackageLayout } from './package-layout';
import { readSignature, type ParsedSignature } from './signature-element';
import { effectivePolicy, type SignaturePolicy, type TrustStore } from './trust';

export interface VerifyOptions {
  limits?: Partial<Limits>;
  /** The instant certificates must be valid at; defaults to now. */
  now?: Date;
  /** Overrides the partner's / default policy (the CLI's --policy). */
  policy?: SignaturePolicy;
  /** Overrides the partner's SHA-1 permission (the CLI's --allow-sha1). */
  allowSha1?: boolean;
}

export type VerifyOutcome =
  | { status: 'valid'; signer: SignerIdentity }
  | { status: 'unsigned-accepted'; flagged: 'unsigned' | 'placeholder-signature' };

/** Verifies a package's bytes; throws `Rejection` for every refusal (parsing ones included). */
export function verifyPackage(bytes: Buffer, trust: TrustStore, options: VerifyOptions = {}): VerifyOutcome {
  const limits = withDefaults(options.limits);
  return verifyDocument(parseXmlDocument(bytes, limits), trust, options);
}

/**
 * The same on a DOM already parsed by `parseXmlDocument` — complete, with attachment text (a DOM
 * parsed with `omitAttachmentText` would not match its digest). The DOM is left as it was found.
 */
export function verifyDocument(doc: Document, trust: TrustStore, options: VerifyOptions = {}): VerifyOutcome {
  const limits = withDefaults(options.limits);
  const layout = locatePackage(doc);
  const { policy, allowSha1 } = effectivePolicy(trust, layout.senderOrganId, options);
  const signature = theSignature(layout);
  if (!signature) {
    const flagged = layout.placeholders.length > 0 ? 'placeholder-signature' : 'unsigned';
    if (policy === 'accept-unsigned') return { status: 'unsigned-accepted', flagged };
    throw new Rejection(
      flagged,
      flagged === 'unsigned'
        ? 'the package carries no signature and the sender\'s policy requires one'
        : 'the package carries the SDK placeholder signature, which signs nothing; the sender\'s policy requires a real one',
    );
  }
  const parsed = readSignature(signature, limits, allowSha1);
  const signer = trustedSigner(parsed, trust, options.now ?? new Date());
  assertDigestMatches(doc, signature, parsed);
  assertSignatureValue(parsed, signer.certificate);
  return { status: 'valid', signer: assertSignerIsSender(signer, layout.senderOrganId, trust) };
}

/** The one real signature, in its place; undefined when there is none. */
function theSignature(layout: PackageLayout): Element | undefined {
  const { signatures, placeholders, header } = layout;
  if (signatures.length > 1) throw new Rejection('multiple-signatures', `${signatures.length} XMLDSig signatures; exactly one is allowed`);
  const signature = signatures[0];
  if (!signature) return undefined;
  if (placeholders.length > 0) throw new Rejection('multiple-signatures', 'a signature and a placeholder signature side by side');
  if (!header || signature.parentNode !== header || !isLastElementChild(signature)) {
    throw new Rejection('bad-signature', 'the signature must be the last child of edXMLHeader');
  }
  return signature;
}

export function trustedSigner(parsed: ParsedSignature, trust: TrustStore, now: Date): SignerCertificate {
  const certs = parseDocumentCertificates(parsed.certificates);
  const leaf = selectLeaf(certs);
  validateChain(leaf, certs, trust, now);
  return describeSigner(leaf);
}

/** Leaf of the document's own certificates, unchecked: only for deciding what a package already carries. */
export function claimedSigner(parsed: ParsedSignature): SignerCertificate {
  return describeSigner(selectLeaf(parseDocumentCertificates(parsed.certificates)));
}

/** The enveloped-signature transform: the document with this one Signature element taken out. */
export function digestWithoutSignature(doc: Document, signature: Element, c14n: string, inclusivePrefixes: string[], hash: string): Buffer {
  const parent = signature.parentNode!;
  const next = signature.nextSibling;
  parent.removeChild(signature);
  try {
    return createHash(hash).update(canonicalize(doc.documentElement!, c14n, [], inclusivePrefixes), 'utf8').digest();
  } finally {
    parent.insertBefore(signature, next);
  }
}

export function assertDigestMatches(doc: Document, signature: Element, parsed: ParsedSignature): void {
  const actual = digestWithoutSignature(doc, signature, parsed.referenceC14n, parsed.inclusivePrefixes, parsed.digestHash);
  if (actual.length !== parsed.digestValue.length || !timingSafeEqual(actual, parsed.digestValue)) {
    throw new Rejection('digest-mismatch', 'the package was changed after it was signed (digest of the whole package differs)');
  }
}

export function assertSignatureValue(parsed: ParsedSignature, certificate: X509Certificate): void {
  // Every allowed SignatureMethod is RSA: an EC key must not be used under an RSA algorithm name.
  if (certificate.publicKey.asymmetricKeyType !== 'rsa') throw new Rejection('bad-signature', 'the signer certificate does not hold an RSA key');
  let ok = false;
  try {
    ok = verifyBytes(parsed.signatureHash, parsed.signedInfo, certificate.publicKey, parsed.signatureValue);
  } catch {
    ok = false;
  }
  if (!ok) throw new Rejection('bad-signature', 'SignatureValue does not verify with the signer certificate\'s key');
}
