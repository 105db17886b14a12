/**
 * `verifyPackage`: DESIGN.md §5 end to end, on one parse of the package.
 *
 * Order: placement and wrapping rules, then the signed algorithms and reference, then who
 * signed (chain to an anchor, dates, CRLs; never a key because the document carries it), then
 * the digest over the whole package, then the signature value, then the binding of the signer
 * to `From/OrganId`. Each failure is a `Rejection` with its reason code.
 */
import { timingSafeEqual, verify as verifyBytes, type X509Certificate } from 'node:crypto';
import type { Document, Element } from '@xmldom/xmldom';
import { Rejection } from '../errors';
import { withDefaults, type Limits } from '../limits';
import { parseXml, type ParsedXml } from '../edxml/safe-xml';
import { canonicalDigest, isOwnCanonicalForm, type OmittedText } from './canonical';
import {
  assertSignerIsSender,
  describeSigner,
  fetchRevocationStatus,
  parseDocumentCertificates,
  selectLeaf,
  trustedSignerOf,
  STRICT_USE,
  type PathUse,
  type SignerCertificate,
  type SignerIdentity,
} from './chain';
import type { RevocationFailure, RevocationGap, RevocationMode } from './revocation';
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
  /** Overrides the partner's / default revocation mode (the CLI's --revocation). */
  revocation?: RevocationMode;
  /** Overrides the partner's / default OCSP failure policy (the CLI's --revocation-failure). */
  revocationFailure?: RevocationFailure;
}

export type VerifyOutcome =
  | {
      status: 'valid';
      signer: SignerIdentity;
      /** Certificates of the signer's path accepted without a revocation status (`revocation: best-effort`, or `soft-fail` with an unreachable OCSP responder). */
      revocationGaps: RevocationGap[];
    }
  | { status: 'unsigned-accepted'; flagged: 'unsigned' | 'placeholder-signature' };

/**
 * Verifies a package's bytes; throws `Rejection` for every refusal (parsing ones included).
 * Attachment base64 never enters the DOM: it is digested straight from the bytes. Synchronous:
 * revocation is what the CRLs and the OCSP cache say; `verifyPackageAsync` asks the OCSP
 * responders first (trust.ocsp).
 */
export function verifyPackage(bytes: Buffer, trust: TrustStore, options: VerifyOptions = {}): VerifyOutcome {
  return verifyParsed(parseXml(bytes, withDefaults(options.limits), { omitAttachmentText: true }), trust, options);
}

/** `verifyPackage`, having asked the OCSP responders about the signer's path (trust.ocsp) where the cache cannot answer. */
export async function verifyPackageAsync(bytes: Buffer, trust: TrustStore, options: VerifyOptions = {}): Promise<VerifyOutcome> {
  return verifyParsedAsync(parseXml(bytes, withDefaults(options.limits), { omitAttachmentText: true }), trust, options);
}

/**
 * The same on the result of `parseXml` (with or without `omitAttachmentText`), so that the
 * pipeline parses a package once for reading and verifying. The DOM is left as it was found.
 */
export function verifyParsed(parsed: ParsedXml, trust: TrustStore, options: VerifyOptions = {}): VerifyOutcome {
  const { doc, omitted, repaired } = domToVerify(parsed, options);
  const step = examine(doc, trust, options, repaired);
  return 'outcome' in step ? step.outcome : conclude(step, doc, trust, options, omitted, repaired);
}

/** `verifyParsed`, having asked the OCSP responders about the signer's path first. */
export async function verifyParsedAsync(parsed: ParsedXml, trust: TrustStore, options: VerifyOptions = {}): Promise<VerifyOutcome> {
  const { doc, omitted, repaired } = domToVerify(parsed, options);
  const step = examine(doc, trust, options, repaired);
  if ('outcome' in step) return step.outcome;
  await fetchRevocationStatus(step.signature.certificates, trust, step.now);
  return conclude(step, doc, trust, options, omitted, repaired);
}

function domToVerify(parsed: ParsedXml, options: VerifyOptions): { doc: Document; omitted: OmittedText | undefined; repaired: readonly string[] } {
  const omitted: OmittedText = { bytes: parsed.scan.bytes, ranges: parsed.scan.attachmentTexts, external: parsed.externalText };
  const digestable = omitted.ranges.every((r) => !r.plain || r.end <= r.start || isOwnCanonicalForm(omitted.bytes, r));
  if (!digestable) {
    // Rare: attachment text that is not plain base64 must be canonicalized from the DOM (a
    // spooled package's external text still comes from its file: the full parse has none of it).
    const full = parseXml(parsed.scan.bytes, withDefaults(options.limits)).document;
    return { doc: full, omitted: parsed.externalText ? omitted : undefined, repaired: parsed.scan.undeclaredPrefixes };
  }
  return { doc: parsed.document, omitted, repaired: parsed.scan.undeclaredPrefixes };
}

/**
 * The same on a complete DOM from `parseXmlDocument` (attachment text included) of a package that
 * needed no namespace repair (a repaired one fails closed here: use `verifyParsed`).
 */
export function verifyDocument(doc: Document, trust: TrustStore, options: VerifyOptions = {}): VerifyOutcome {
  const step = examine(doc, trust, options, []);
  return 'outcome' in step ? step.outcome : conclude(step, doc, trust, options, undefined, []);
}

interface Examined {
  layout: PackageLayout;
  element: Element;
  signature: ParsedSignature;
  use: PathUse;
  now: Date;
}

/** Placement, policy and the signature's own rules; an outcome already when there is no signature to check. */
function examine(doc: Document, trust: TrustStore, options: VerifyOptions, repairedPrefixes: readonly string[]): Examined | { outcome: VerifyOutcome } {
  const limits = withDefaults(options.limits);
  const layout = locatePackage(doc);
  const { policy, allowSha1, revocation, revocationFailure } = effectivePolicy(trust, layout.senderOrganId, options);
  const element = theSignature(layout);
  if (!element) {
    const flagged = layout.placeholders.length > 0 ? 'placeholder-signature' : 'unsigned';
    if (policy === 'accept-unsigned') return { outcome: { status: 'unsigned-accepted', flagged } };
    throw new Rejection(
      flagged,
      flagged === 'unsigned'
        ? 'the package carries no signature and the sender\'s policy requires one'
        : 'the package carries the SDK placeholder signature, which signs nothing; the sender\'s policy requires a real one',
    );
  }
  const signature = readSignature(element, limits, allowSha1, repairedPrefixes);
  return { layout, element, signature, use: { allowSha1, revocation, revocationFailure }, now: options.now ?? new Date() };
}

/** Who signed (chain, dates, revocation), the digest over the whole package, the signature value, the binding to From/OrganId. */
function conclude(step: Examined, doc: Document, trust: TrustStore, _options: VerifyOptions, omitted: OmittedText | undefined, repairedPrefixes: readonly string[]): VerifyOutcome {
  const { signer, revocationGaps } = trustedSignerOf(step.signature.certificates, trust, step.now, step.use);
  assertDigestMatches(doc, step.element, step.signature, omitted, repairedPrefixes);
  assertSignatureValue(step.signature, signer.certificate);
  return { status: 'valid', signer: assertSignerIsSender(signer, step.layout.senderOrganId, trust), revocationGaps };
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

/** The signer of `parsed` through a validated path; `use` defaults to the strictest (no SHA-1, revocation required). */
export function trustedSigner(parsed: ParsedSignature, trust: TrustStore, now: Date, use: PathUse = STRICT_USE): SignerCertificate {
  return trustedSignerOf(parsed.certificates, trust, now, use).signer;
}

/** Leaf of the document's own certificates, unchecked: only for deciding what a package already carries. */
export function claimedSigner(parsed: ParsedSignature): SignerCertificate {
  return describeSigner(selectLeaf(parseDocumentCertificates(parsed.certificates)));
}

/** The enveloped-signature transform: the digest of the document with this one Signature taken out. */
export function assertDigestMatches(doc: Document, signature: Element, parsed: ParsedSignature, omitted?: OmittedText, repairedPrefixes: readonly string[] = []): void {
  const actual = canonicalDigest(doc, parsed.referenceC14n, parsed.inclusivePrefixes, parsed.digestHash, omitted, signature, repairedPrefixes);
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
