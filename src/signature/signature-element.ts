/**
 * Reading one XMLDSig `Signature` under DESIGN.md §5's rules, before any key is touched.
 *
 * Everything that decides what is checked (algorithms, the reference, its transforms, the digest
 * value) is read from the canonical SignedInfo, the exact bytes the signature value covers,
 * re-parsed. What the original DOM holds beside them (a second SignedInfo, comments inside
 * DigestValue, …) can therefore never be what is used: the CVE-2025-29774/29775 class of bypass.
 */
import type { Element } from '@xmldom/xmldom';
import { Rejection } from '../errors';
import type { Limits } from '../limits';
import { parseXmlDocument } from '../edxml/safe-xml';
import {
  CANONICALIZATIONS,
  DSIG_NS,
  TRANSFORM_ENVELOPED,
  C14N_EXCLUSIVE,
  C14N_INCLUSIVE,
  digestHash,
  signatureHash,
} from './algorithms';
import { canonicalize } from './canonical';
import { elementChildren, textOf } from './package-layout';

/** Transforms that select part of the document: allowed by XMLDSig, refused here. */
const NARROWING_TRANSFORMS = new Set([
  'http://www.w3.org/TR/1999/REC-xpath-19991116',
  'http://www.w3.org/2002/06/xmldsig-filter2',
  'http://www.w3.org/TR/1999/REC-xslt-19991116',
  'http://www.w3.org/2002/07/decrypt#XML',
]);

export interface ParsedSignature {
  /** The canonical SignedInfo: the bytes SignatureValue is verified over. */
  signedInfo: Buffer;
  /** Node hash name for the SignatureMethod. */
  signatureHash: string;
  signatureValue: Buffer;
  /** Canonicalization applied to the document after the enveloped-signature transform. */
  referenceC14n: string;
  inclusivePrefixes: string[];
  digestHash: string;
  digestValue: Buffer;
  /** DER of each KeyInfo/X509Data/X509Certificate, in document order. Candidates only. */
  certificates: Buffer[];
}

function bad(detail: string): Rejection {
  return new Rejection('bad-signature', detail);
}

function weak(detail: string): Rejection {
  return new Rejection('weak-algorithm', detail);
}

function algorithmOf(element: Element | undefined, what: string): string {
  const value = element?.getAttribute('Algorithm');
  if (!value) throw bad(`${what} has no Algorithm`);
  return value;
}

function strictBase64(text: string, what: string): Buffer {
  const compact = text.replace(/\s+/g, '');
  if (compact === '' || !/^[A-Za-z0-9+/]+={0,2}$/.test(compact) || compact.length % 4 !== 0) {
    throw bad(`${what} is not base64`);
  }
  return Buffer.from(compact, 'base64');
}

/** Children in the XMLDSig namespace must be exactly `expected` (a trailing `+` repeats, `?` is optional). */
function assertChildren(parent: Element, expected: string[], what: string): Element[] {
  const children = elementChildren(parent);
  let i = 0;
  for (const spec of expected) {
    const name = spec.replace(/[+?]$/, '');
    const repeat = spec.endsWith('+');
    const optional = spec.endsWith('?');
    let count = 0;
    while (i < children.length && children[i]!.localName === name && children[i]!.namespaceURI === DSIG_NS) {
      count++;
      i++;
      if (!repeat) break;
    }
    if (count === 0 && !optional) throw bad(`${what} lacks ${name}`);
  }
  if (i < children.length) throw bad(`${what} has an unexpected <${children[i]!.tagName}>`);
  return children;
}

/** `repairedPrefixes`: declarations the reader added, not in the bytes (`XmlScan.undeclaredPrefixes`). */
export function readSignature(signature: Element, limits: Limits, allowSha1: boolean, repairedPrefixes: readonly string[] = []): ParsedSignature {
  const signedInfos = elementChildren(signature, 'SignedInfo', DSIG_NS);
  if (signedInfos.length !== 1) throw bad(`the signature has ${signedInfos.length} SignedInfo elements, exactly one is allowed`);
  const originalSignedInfo = signedInfos[0]!;
  const originalMethod = elementChildren(originalSignedInfo, 'CanonicalizationMethod', DSIG_NS)[0];
  const c14n = algorithmOf(originalMethod, 'CanonicalizationMethod');
  if (!CANONICALIZATIONS.has(c14n)) throw weak(`CanonicalizationMethod ${c14n} is not allowed`);
  // SignedInfo as a document subset: its ancestors' namespaces (and, inclusive, xml:* attributes) count.
  const canonical = canonicalize(originalSignedInfo, c14n, c14n === C14N_EXCLUSIVE ? prefixListOf(originalMethod!) : [], repairedPrefixes);
  const signedInfoBytes = Buffer.from(canonical, 'utf8');
  const signedInfo = parseXmlDocument(signedInfoBytes, limits).documentElement!;

  const [canonMethod, signatureMethod] = assertChildren(signedInfo, ['CanonicalizationMethod', 'SignatureMethod', 'Reference+'], 'SignedInfo');
  if (algorithmOf(canonMethod, 'CanonicalizationMethod') !== c14n) throw bad('SignedInfo changed under canonicalization');
  const sigAlgorithm = algorithmOf(signatureMethod, 'SignatureMethod');
  const sigHash = signatureHash(sigAlgorithm, allowSha1);
  if (!sigHash) throw weak(`SignatureMethod ${sigAlgorithm} is not allowed${allowSha1 ? '' : ' (SHA-1 needs a partner policy allowing it)'}`);

  const references = elementChildren(signedInfo, 'Reference', DSIG_NS);
  if (references.length > limits.maxSignatureReferences) {
    throw new Rejection('limit-exceeded', `${references.length} signature references, limit ${limits.maxSignatureReferences}`, 'limits.maxSignatureReferences');
  }
  if (references.length !== 1) throw new Rejection('reference-not-whole-document', `${references.length} references; exactly one, to the whole document, is allowed`);
  const reference = references[0]!;
  if (!reference.hasAttribute('URI') || reference.getAttribute('URI') !== '') {
    const uri = reference.hasAttribute('URI') ? JSON.stringify(reference.getAttribute('URI')) : 'absent';
    throw new Rejection('reference-not-whole-document', `Reference URI is ${uri}; only URI="" (the whole package) is accepted`);
  }
  const refChildren = assertChildren(reference, ['Transforms?', 'DigestMethod', 'DigestValue'], 'Reference');
  const transformsElement = refChildren.length === 3 ? refChildren[0] : undefined;
  const transforms = transformsElement ? elementChildren(transformsElement) : [];
  if (transforms.length > limits.maxSignatureTransforms) {
    throw new Rejection('limit-exceeded', `${transforms.length} transforms, limit ${limits.maxSignatureTransforms}`, 'limits.maxSignatureTransforms');
  }
  const { referenceC14n, inclusivePrefixes } = readTransforms(transforms);

  const digestMethod = algorithmOf(refChildren[refChildren.length - 2], 'DigestMethod');
  const digest = digestHash(digestMethod, allowSha1);
  if (!digest) throw weak(`DigestMethod ${digestMethod} is not allowed${allowSha1 ? '' : ' (SHA-1 needs a partner policy allowing it)'}`);
  const digestValue = strictBase64(textOf(refChildren[refChildren.length - 1]!), 'DigestValue');

  const [, signatureValueElement, keyInfo] = assertChildren(signature, ['SignedInfo', 'SignatureValue', 'KeyInfo?'], 'Signature');
  return {
    signedInfo: signedInfoBytes,
    signatureHash: sigHash,
    signatureValue: strictBase64(textOf(signatureValueElement!), 'SignatureValue'),
    referenceC14n,
    inclusivePrefixes,
    digestHash: digest,
    digestValue,
    certificates: keyInfo ? certificatesIn(keyInfo) : [],
  };
}

function readTransforms(transforms: Element[]): { referenceC14n: string; inclusivePrefixes: string[] } {
  const algorithms = transforms.map((t) => {
    if (t.localName !== 'Transform' || t.namespaceURI !== DSIG_NS) throw bad(`unexpected <${t.tagName}> in Transforms`);
    return algorithmOf(t, 'Transform');
  });
  for (const algorithm of algorithms) {
    if (NARROWING_TRANSFORMS.has(algorithm)) {
      throw new Rejection('reference-not-whole-document', `transform ${algorithm} selects part of the document`);
    }
    if (algorithm !== TRANSFORM_ENVELOPED && !CANONICALIZATIONS.has(algorithm)) throw weak(`transform ${algorithm} is not allowed`);
  }
  if (algorithms[0] !== TRANSFORM_ENVELOPED || algorithms.lastIndexOf(TRANSFORM_ENVELOPED) !== 0) {
    throw bad('the reference must start with the enveloped-signature transform, once');
  }
  if (algorithms.length === 1) return { referenceC14n: C14N_INCLUSIVE, inclusivePrefixes: [] };
  const last = transforms[transforms.length - 1]!;
  const referenceC14n = algorithms[algorithms.length - 1]!;
  return { referenceC14n, inclusivePrefixes: referenceC14n === C14N_EXCLUSIVE ? prefixListOf(last) : [] };
}

/** The exclusive C14N InclusiveNamespaces PrefixList of a CanonicalizationMethod or Transform. */
function prefixListOf(method: Element): string[] {
  const list = elementChildren(method, 'InclusiveNamespaces', C14N_EXCLUSIVE)[0]?.getAttribute('PrefixList') ?? '';
  return list.split(/[ \t\r\n]+/).filter(Boolean);
}

function certificatesIn(keyInfo: Element): Buffer[] {
  const out: Buffer[] = [];
  for (const data of elementChildren(keyInfo, 'X509Data', DSIG_NS)) {
    for (const cert of elementChildren(data, 'X509Certificate', DSIG_NS)) {
      out.push(Buffer.from(textOf(cert).replace(/\s+/g, ''), 'base64'));
    }
  }
  return out;
}
