/**
 * Canonicalization and rendering on the one DOM the package was parsed into (src/signature/c14n.ts
 * does the canonical form itself): verifying and signing parse a package once.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Document, Element, Node } from '@xmldom/xmldom';
import { FileStore } from '../edxml/attachments';
import type { ExternalText } from '../edxml/safe-xml';
import { C14N_EXCLUSIVE, C14N_INCLUSIVE } from './algorithms';
import { canonicalXml } from './c14n';

/**
 * Canonical form of a document or of an element's subtree (with its ancestors' namespaces) under
 * `algorithm`: inclusive or exclusive C14N 1.0, comments dropped. `inclusivePrefixes` is the
 * exclusive InclusiveNamespaces PrefixList; `repairedPrefixes` the prefixes whose declarations
 * the reader added (`XmlScan.undeclaredPrefixes`), which are not in the bytes.
 */
export function canonicalize(node: Document | Element, algorithm: string, inclusivePrefixes: readonly string[] = [], repairedPrefixes: readonly string[] = []): string {
  if (algorithm === C14N_EXCLUSIVE) return canonicalXml(node, { exclusive: true, inclusivePrefixes, repairedPrefixes });
  if (algorithm === C14N_INCLUSIVE) return canonicalXml(node, { exclusive: false, repairedPrefixes });
  throw new Error(`canonicalization ${algorithm} is not supported`);
}

/** Attachment text that `parseXml(…, { omitAttachmentText: true })` left out of the DOM: still in these bytes. */
export interface OmittedText {
  bytes: Buffer;
  /** One per `ContentTransferEncoded` element, in document order (`XmlScan.attachmentTexts`). */
  ranges: ReadonlyArray<{ start: number; end: number; plain: boolean; invalidChars: number }>;
  /** A spooled package's long attachment texts, by the same index: in a file (`ParsedXml.externalText`). */
  external?: ReadonlyMap<number, ExternalText>;
}

/** One piece of a rendering: markup as a string, or attachment text as bytes in memory or in a file. */
export type RenderedPiece = string | Buffer | ExternalText;

const ATTACHMENT_TEXT_ELEMENT = 'ContentTransferEncoded';

/**
 * Renders the document (canonical form, or serialization) with attachment text included even
 * where the DOM holds none of it. Each empty attachment element gets a marker no document can
 * contain (a random nonce between U+FFFF, not an XML character); the output is returned in pieces
 * with the raw bytes (or their place in a file) instead of each marker. The raw bytes can stand
 * for themselves because only base64 and whitespace without CR is taken this way (see
 * `isOwnCanonicalForm`); a spooled package's external text is base64 and whitespace by
 * construction, its line ends normalized while it is read (`forEachRenderedBytes`).
 */
export function renderWithAttachments(doc: Document, omitted: OmittedText | undefined, render: () => string): RenderedPiece[] {
  if (!omitted) return [render()];
  const holders = Array.from(doc.getElementsByTagNameNS('*', ATTACHMENT_TEXT_ELEMENT));
  if (holders.length !== omitted.ranges.length) throw new Error('attachment text ranges do not match the document');
  const nonce = randomBytes(16).toString('hex');
  const markers: Node[] = [];
  let rendered: string;
  try {
    holders.forEach((holder, i) => {
      if (holder.firstChild !== null) return;
      if (!omitted.external?.has(i)) {
        const range = omitted.ranges[i]!;
        if (!range.plain || range.end <= range.start) return;
        if (!isOwnCanonicalForm(omitted.bytes, range)) throw new Error('omitted attachment text is not plain base64');
      }
      markers.push(holder.appendChild(doc.createTextNode(`\uffff${nonce}:${i}\uffff`)));
    });
    rendered = render();
  } finally {
    for (const marker of markers) marker.parentNode?.removeChild(marker);
  }
  const pieces: RenderedPiece[] = [];
  let from = 0;
  for (const match of rendered.matchAll(new RegExp(`\uffff${nonce}:(\\d+)\uffff`, 'g'))) {
    const i = Number(match[1]);
    const external = omitted.external?.get(i);
    const range = omitted.ranges[i]!;
    pieces.push(rendered.slice(from, match.index), external ?? omitted.bytes.subarray(range.start, range.end));
    from = match.index + match[0].length;
  }
  pieces.push(rendered.slice(from));
  return pieces;
}

/**
 * Feeds the pieces to `write` in order, reading external text from its file in windows. With
 * `asParsed`, external text is given as an XML parser reads it (CR LF and lone CR become LF, XML
 * 1.0 §2.11): what canonical XML is computed over. Without it, the bytes are copied as they are
 * (a serialization, which a parser normalizes the same way).
 */
export function forEachRenderedBytes(pieces: RenderedPiece[], write: (bytes: Buffer | string) => void, options: { asParsed?: boolean } = {}): void {
  for (const piece of pieces) {
    if (typeof piece === 'string' || Buffer.isBuffer(piece)) {
      write(piece);
      continue;
    }
    const store = new FileStore(piece.path);
    let afterCr = false;
    for (let at = piece.start; at < piece.end; at += FILE_WINDOW_BYTES) {
      const window = store.read(at, Math.min(piece.end, at + FILE_WINDOW_BYTES));
      if (!options.asParsed || piece.carriageReturns === 0) {
        write(window);
        continue;
      }
      let kept = 0;
      for (let k = 0; k < window.length; k++) {
        const b = window[k]!;
        if (b === 0x0a && afterCr) {
          afterCr = false;
          continue; // the LF of a CR LF pair: the CR already became it
        }
        afterCr = b === 0x0d;
        window[kept++] = afterCr ? 0x0a : b;
      }
      write(window.subarray(0, kept));
    }
  }
}

const FILE_WINDOW_BYTES = 1024 * 1024;

/** The rendering as one Buffer (a package small enough for memory). */
export function renderedBytes(pieces: RenderedPiece[]): Buffer {
  const parts: Buffer[] = [];
  forEachRenderedBytes(pieces, (bytes) => parts.push(typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : bytes));
  return Buffer.concat(parts);
}

/**
 * Digest of the canonical form of the whole document (`Reference URI=""`: processing instructions
 * outside the root included, comments not), without `withoutNode`: the enveloped-signature transform.
 */
export function canonicalDigest(
  doc: Document,
  algorithm: string,
  inclusivePrefixes: readonly string[],
  hash: string,
  omitted: OmittedText | undefined,
  withoutNode?: Node,
  repairedPrefixes: readonly string[] = [],
): Buffer {
  const parent = withoutNode?.parentNode ?? null;
  const next = withoutNode?.nextSibling ?? null;
  const pieces = renderWithAttachments(doc, omitted, () => {
    if (!withoutNode || !parent) return canonicalize(doc, algorithm, inclusivePrefixes, repairedPrefixes);
    parent.removeChild(withoutNode);
    try {
      return canonicalize(doc, algorithm, inclusivePrefixes, repairedPrefixes);
    } finally {
      parent.insertBefore(withoutNode, next);
    }
  });
  const digest = createHash(hash);
  forEachRenderedBytes(pieces, (bytes) => (typeof bytes === 'string' ? digest.update(bytes, 'utf8') : digest.update(bytes)), { asParsed: true });
  return digest.digest();
}

/** Base64 and whitespace other than CR: C14N leaves such text byte for byte as it is. */
export function isOwnCanonicalForm(bytes: Buffer, range: { start: number; end: number; invalidChars: number }): boolean {
  return range.invalidChars === 0 && !bytes.subarray(range.start, range.end).includes(0x0d);
}
