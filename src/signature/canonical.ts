/**
 * Canonicalization on the one DOM the package was parsed into, with xml-crypto's C14N 1.0 and
 * exclusive C14N implementations. Calling them directly (rather than `SignedXml.checkSignature`,
 * which re-parses the document from a string and then clones it) is what keeps verification to a
 * single parse of the package.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Document, Element, Node } from '@xmldom/xmldom';
import { C14nCanonicalization, ExclusiveCanonicalization } from 'xml-crypto';
import { C14N_EXCLUSIVE, C14N_INCLUSIVE } from './algorithms';

const XMLNS_NS = 'http://www.w3.org/2000/xmlns/';

export interface NamespaceBinding {
  prefix: string;
  namespaceURI: string;
}

/**
 * Namespace declarations in scope at `element` that its own attributes do not redeclare, nearest
 * ancestor first, undeclarations dropped: what inclusive C14N of a subtree must import.
 */
export function inheritedNamespaces(element: Element): NamespaceBinding[] {
  const declaredHere = new Set<string>([element.prefix ?? '']);
  for (const attr of Array.from(element.attributes)) {
    if (attr.namespaceURI === XMLNS_NS) declaredHere.add(attr.prefix ? attr.localName ?? '' : '');
  }
  const seen = new Set<string>();
  const result: NamespaceBinding[] = [];
  for (let node = element.parentNode as Node | null; node && node.nodeType === node.ELEMENT_NODE; node = node.parentNode) {
    for (const attr of Array.from((node as Element).attributes)) {
      if (attr.namespaceURI !== XMLNS_NS) continue;
      const prefix = attr.prefix ? attr.localName ?? '' : '';
      if (seen.has(prefix)) continue;
      seen.add(prefix);
      if (attr.value !== '' && !declaredHere.has(prefix)) result.push({ prefix, namespaceURI: attr.value });
    }
  }
  return result;
}

/**
 * Canonical form of `element` under `algorithm` (inclusive or exclusive C14N 1.0, comments
 * dropped). `ancestors` are the in-scope declarations to import (inclusive) or to draw the
 * InclusiveNamespaces PrefixList from (exclusive).
 */
export function canonicalize(
  element: Element,
  algorithm: string,
  ancestors: NamespaceBinding[] = [],
  inclusivePrefixes: string[] = [],
): string {
  if (algorithm === C14N_EXCLUSIVE) {
    return new ExclusiveCanonicalization().process(element as never, {
      ancestorNamespaces: ancestors,
      inclusiveNamespacesPrefixList: inclusivePrefixes,
    });
  }
  if (algorithm === C14N_INCLUSIVE) {
    return new C14nCanonicalization().process(element as never, { ancestorNamespaces: ancestors });
  }
  throw new Error(`canonicalization ${algorithm} is not supported`);
}

/** Attachment text that `parseXml(…, { omitAttachmentText: true })` left out of the DOM: still in these bytes. */
export interface OmittedText {
  bytes: Buffer;
  /** One per `ContentTransferEncoded` element, in document order (`XmlScan.attachmentTexts`). */
  ranges: ReadonlyArray<{ start: number; end: number; plain: boolean; invalidChars: number }>;
}

const ATTACHMENT_TEXT_ELEMENT = 'ContentTransferEncoded';

/**
 * Renders the document (canonical form, or serialization) with attachment text included even
 * where the DOM holds none of it. Each empty attachment element gets a marker no document can
 * contain (a random nonce between U+FFFF, not an XML character); the output is returned in pieces
 * with the raw bytes in place of each marker. The raw bytes can stand for themselves because only
 * base64 and whitespace without CR is taken this way (see `isOwnCanonicalForm`).
 */
export function renderWithAttachments(doc: Document, omitted: OmittedText | undefined, render: () => string): Array<string | Buffer> {
  if (!omitted) return [render()];
  const holders = Array.from(doc.getElementsByTagNameNS('*', ATTACHMENT_TEXT_ELEMENT));
  if (holders.length !== omitted.ranges.length) throw new Error('attachment text ranges do not match the document');
  const nonce = randomBytes(16).toString('hex');
  const markers: Node[] = [];
  let rendered: string;
  try {
    holders.forEach((holder, i) => {
      const range = omitted.ranges[i]!;
      if (holder.firstChild !== null || !range.plain || range.end <= range.start) return;
      if (!isOwnCanonicalForm(omitted.bytes, range)) throw new Error('omitted attachment text is not plain base64');
      markers.push(holder.appendChild(doc.createTextNode(`\uffff${nonce}:${i}\uffff`)));
    });
    rendered = render();
  } finally {
    for (const marker of markers) marker.parentNode?.removeChild(marker);
  }
  const pieces: Array<string | Buffer> = [];
  let from = 0;
  for (const match of rendered.matchAll(new RegExp(`\uffff${nonce}:(\\d+)\uffff`, 'g'))) {
    const range = omitted.ranges[Number(match[1])]!;
    pieces.push(rendered.slice(from, match.index), omitted.bytes.subarray(range.start, range.end));
    from = match.index + match[0].length;
  }
  pieces.push(rendered.slice(from));
  return pieces;
}

/** Digest of the canonical form of `element` (without `withoutNode`: the enveloped-signature transform). */
export function canonicalDigest(
  element: Element,
  algorithm: string,
  inclusivePrefixes: string[],
  hash: string,
  omitted: OmittedText | undefined,
  withoutNode?: Node,
): Buffer {
  const parent = withoutNode?.parentNode ?? null;
  const next = withoutNode?.nextSibling ?? null;
  const pieces = renderWithAttachments(element.ownerDocument!, omitted, () => {
    if (!withoutNode || !parent) return canonicalize(element, algorithm, [], inclusivePrefixes);
    parent.removeChild(withoutNode);
    try {
      return canonicalize(element, algorithm, [], inclusivePrefixes);
    } finally {
      parent.insertBefore(withoutNode, next);
    }
  });
  const digest = createHash(hash);
  for (const piece of pieces) typeof piece === 'string' ? digest.update(piece, 'utf8') : digest.update(piece);
  return digest.digest();
}

/** Base64 and whitespace other than CR: C14N leaves such text byte for byte as it is. */
export function isOwnCanonicalForm(bytes: Buffer, range: { start: number; end: number; invalidChars: number }): boolean {
  return range.invalidChars === 0 && !bytes.subarray(range.start, range.end).includes(0x0d);
}
