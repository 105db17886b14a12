/**
 * Hostile-input guard and the one way the connector turns bytes into a DOM (DESIGN.md §4 rules 3
 * and 7, SPEC §15).
 *
 * `assertXmlWithinLimits` is a single linear pass over the raw bytes that runs before any XML
 * parser sees them. It refuses DTDs and entity declarations, and enforces the package-size,
 * depth, element-count, attribute-count and text-length limits, each with its own config key.
 * It never backtracks: every step consumes input or stops, so it cannot hang.
 *
 * `parseXmlDocument` runs that pass, repairs the undeclared `xlink:` prefix the SDK's hand-written
 * samples use (SPEC §9.1, §15 reader 1), then parses with @xmldom/xmldom, turning every parser
 * complaint into `Rejection('malformed-xml', …)`.
 */
import { DOMParser, type Document } from '@xmldom/xmldom';
import { Rejection } from '../errors';
import { DEFAULT_LIMITS, type Limits } from '../limits';
import { attributeValue, checkReference, describeRawChar, isForbiddenControl, isNonCharacterAt, isXmlName } from './xml-chars';
import { toUtf8, type SourceEncoding } from './xml-encoding';
import { cacheXmldomRegexes } from './xmldom-regex-cache';

cacheXmldomRegexes();

export const XLINK_NS = 'http://www.w3.org/1999/xlink';
export const QCVN_NS = 'http://www.mic.gov.vn/TBT/QCVN_102_2016';
const XML_NS = 'http://www.w3.org/XML/1998/namespace';
const XMLNS_NS = 'http://www.w3.org/2000/xmlns/';

/**
 * Prefixes the field uses without declaring them (SPEC §9.1, §15 reader 1): the SDK's hand-written
 * inputs put `xlink:href` on Reference with no `xmlns:xlink`, and write `edXML:AttachmentEncoded`
 * outside the envelope that declares `edXML`. They are repaired by declaring them on the root.
 * Any other unbound prefix is malformed.
 */
export const REPAIRABLE_PREFIXES: Readonly<Record<string, string>> = Object.freeze({
  xlink: XLINK_NS,
  edXML: QCVN_NS,
});

/** Local name whose text is attachment base64: exempt from maxTextLength, bounded by attachment limits. */
const ATTACHMENT_TEXT_ELEMENT = 'ContentTransferEncoded';

/** Where one `ContentTransferEncoded` element's base64 text sits in the scanned bytes. */
export interface AttachmentTextRange {
  /** Byte offset of the first content byte (just after the start tag). */
  start: number;
  /** Byte offset just past the last content byte (start of the end tag). */
  end: number;
  /** The content is plain character data (no markup, no entity references): it can be sliced. */
  plain: boolean;
  /** The content holds no whitespace: base64 offsets map 1:1 onto byte offsets. */
  compact: boolean;
  /** Base64 alphabet characters, `=` included. */
  base64Chars: number;
  /** `=` characters among them. */
  padChars: number;
  /** Characters that are neither base64 nor whitespace. */
  invalidChars: number;
  /** Decoded size implied by the base64 length (exact for valid input). */
  decodedBytes: number;
}

export interface XmlScan {
  /**
   * The bytes that were scanned: the input, or its UTF-8 transcoding when it was UTF-16. These
   * are the package's one reading: what is verified and what is delivered (src/edxml/xml-encoding.ts).
   */
  bytes: Buffer;
  /** Offset of the first byte after a UTF-8 byte-order mark. */
  bodyStart: number;
  elements: number;
  maxDepth: number;
  /** One entry per `ContentTransferEncoded` element, in document order. */
  attachmentTexts: AttachmentTextRange[];
  /** Repairable prefixes (see REPAIRABLE_PREFIXES) used outside the scope of any declaration. */
  undeclaredPrefixes: string[];
  /** Byte offset just after the root element's name (where a namespace declaration can go). */
  rootNameEnd: number;
  /** The encoding the document was transcoded from, if it was not UTF-8. */
  transcodedFrom?: Exclude<SourceEncoding, 'UTF-8'>;
}

export interface ParsedXml {
  document: Document;
  scan: XmlScan;
  /** Tolerated deviations that were repaired before parsing, e.g. `xlink-namespace-declared`. */
  repairs: string[];
  /**
   * A large package (src/edxml/spooled-package.ts) is parsed without its long attachment texts:
   * attachment text k (index into scan.attachmentTexts, whose range there is empty) lives in a file.
   */
  externalText?: ReadonlyMap<number, ExternalText>;
}

/** Attachment text left in a spooled file: only base64 characters and CR, LF, space or tab. */
export interface ExternalText {
  path: string;
  start: number;
  end: number;
  /** Base64 data characters (padding excluded). */
  dataChars: number;
  padChars: number;
  /** No whitespace: character k is byte start+k. */
  compact: boolean;
  /** CR bytes in the range: a parser reads CR LF and a lone CR as LF. */
  carriageReturns: number;
  /** Data after padding, or more than two `=`: the base64 is broken. */
  misplacedPadding: boolean;
}

export interface ParseOptions {
  /**
   * Leave the text of plain `ContentTransferEncoded` elements out of the DOM (the elements stay,
   * empty). The reader uses this so that attachment base64 is never copied into strings: it is
   * decoded later, as a stream, straight from the input bytes via `scan.attachmentTexts`.
   */
  omitAttachmentText?: boolean;
}

function limitExceeded(key: keyof Limits, detail: string): Rejection {
  return new Rejection('limit-exceeded', detail.length > 300 ? `${detail.slice(0, 300)}…` : detail, `limits.${key}`);
}

function malformed(detail: string): Rejection {
  return new Rejection('malformed-xml', detail.length > 300 ? `${detail.slice(0, 300)}…` : detail);
}

/** Longest element or attribute name accepted (bytes): names end up in messages and maps. */
const MAX_NAME_BYTES = 256;


const LT = 0x3c; // <
const GT = 0x3e; // >
const SLASH = 0x2f;
const QMARK = 0x3f;
const BANG = 0x21;
const AMP = 0x26;
const EQ = 0x3d;
const DQUOTE = 0x22;
const SQUOTE = 0x27;

function isSpace(b: number): boolean {
  return b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;
}

function isBase64Char(b: number): boolean {
  return (
    (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || (b >= 0x30 && b <= 0x39) || b === 0x2b || b === 0x2f || b === EQ
  );
}

/** Byte classes of attachment text, looked up per byte: the scan's hottest loop (megabytes of base64). */
const B64_DATA = 1;
const B64_PAD = 2;
const B64_SPACE = 3;
const BASE64_CLASS = (() => {
  const table = new Uint8Array(256);
  for (let b = 0; b < 256; b++) {
    if (b === EQ) table[b] = B64_PAD;
    else if (isBase64Char(b)) table[b] = B64_DATA;
    else if (isSpace(b)) table[b] = B64_SPACE;
  }
  return table;
})();

function startsWithAscii(buf: Buffer, at: number, text: string): boolean {
  if (at + text.length > buf.length) return false;
  for (let k = 0; k < text.length; k++) if (buf[at + k] !== text.charCodeAt(k)) return false;
  return true;
}

function startsWithAsciiCI(buf: Buffer, at: number, text: string): boolean {
  if (at + text.length > buf.length) return false;
  for (let k = 0; k < text.length; k++) {
    const b = buf[at + k]!;
    const lower = b >= 0x41 && b <= 0x5a ? b + 0x20 : b;
    if (lower !== text.charCodeAt(k)) return false;
  }
  return true;
}

function localNameOf(qname: string): string {
  const colon = qname.indexOf(':');
  return colon < 0 ? qname : qname.slice(colon + 1);
}

const base64Run = { pads: 0, spaces: 0, invalid: 0 };

/**
 * Counts the non-data bytes of attachment text (nearly every byte is base64 data: one comparison
 * each). A small function of its own, so that V8 optimizes this loop on its own. The result is
 * overwritten by the next call.
 */
function countBase64Run(buf: Buffer, from: number, to: number): typeof base64Run {
  let pads = 0;
  let spaces = 0;
  let invalid = 0;
  for (let k = from; k < to; k++) {
    const cls = BASE64_CLASS[buf[k]!]!;
    if (cls === B64_DATA) continue;
    if (cls === B64_PAD) pads++;
    else if (cls === B64_SPACE) spaces++;
    else invalid++;
  }
  base64Run.pads = pads;
  base64Run.spaces = spaces;
  base64Run.invalid = invalid;
  return base64Run;
}

/**
 * The pre-scan. Linear in the input, allocation-light, and complete enough that whatever passes
 * it is bounded in every dimension a DOM could grow in.
 */
export function scanXml(input: Buffer, limits: Limits = DEFAULT_LIMITS): XmlScan {
  if (!Buffer.isBuffer(input)) throw malformed('input is not a byte buffer');
  if (input.length > limits.maxPackageBytes) {
    throw limitExceeded('maxPackageBytes', `package is ${input.length} bytes, limit ${limits.maxPackageBytes}`);
  }
  const { bytes: buf, bodyStart, transcodedFrom } = toUtf8(input);
  const n = buf.length;
  const stack: string[] = [];
  const attachmentTexts: AttachmentTextRange[] = [];
  let elements = 0;
  let maxDepth = 0;
  let rootSeen = false;
  let rootClosed = false;
  let rootNameEnd = -1;
  /** In-scope prefixed namespace declarations: prefix → the namespace names open elements bind it to, innermost last. */
  const inScope = new Map<string, string[]>();
  /** Per open element, the prefixes it declares (null when none: the common case). */
  const declStack: (string[] | null)[] = [];
  const undeclared = new Set<string>();
  /** The namespace name of a prefixed name (undefined for an unprefixed one); refuses unbound prefixes. */
  const namespaceOf = (qname: string, isAttr: boolean): string | undefined => {
    const colon = qname.indexOf(':');
    if (colon < 0) return undefined;
    const prefix = qname.slice(0, colon);
    if (prefix === 'xml') return XML_NS;
    if (isAttr && prefix === 'xmlns') return XMLNS_NS;
    const bound = inScope.get(prefix);
    if (bound && bound.length > 0) return bound[bound.length - 1];
    if (!Object.prototype.hasOwnProperty.call(REPAIRABLE_PREFIXES, prefix)) throw malformed(`unbound namespace prefix '${prefix}' in ${qname}`);
    undeclared.add(prefix);
    return REPAIRABLE_PREFIXES[prefix];
  };
  const unbind = (declared: string[] | null): void => {
    if (declared) for (const p of declared) inScope.get(p)!.pop();
  };
  const attrNames: string[] = [];
  const attrQNames = new Set<string>();
  /** Index into attachmentTexts of the open ContentTransferEncoded, while it is the innermost element. */
  let openAttachment = -1;
  let openAttachmentDepth = -1;
  let totalAttachmentBytes = 0;
  let sawXmlDecl = false;
  let i = bodyStart;

  /** `what` names the text in an error message; a function when naming it costs (built only on failure). */
  const checkText = (from: number, to: number, what: string | (() => string)): void => {
    const name = () => (typeof what === 'string' ? what : what());
    // Count characters (not UTF-8 continuation bytes); an entity or character reference counts as one.
    let chars = 0;
    for (let k = from; k < to; k++) {
      const b = buf[k]!;
      if (b < 0x20 && isForbiddenControl(b)) throw malformed(`control character 0x${b.toString(16)} in ${name()}`);
      if ((b & 0xc0) === 0x80) continue;
      if (b === 0xef && isNonCharacterAt(buf, k)) throw malformed(`${describeRawChar(buf, k)}, not an XML character, in ${name()}`);
      if (b === AMP) {
        const ref = checkReference(buf, k, to);
        if ('problem' in ref) throw malformed(`${ref.problem} in ${name()}`);
        k = ref.end;
      }
      if (++chars > limits.maxTextLength) {
        throw limitExceeded('maxTextLength', `${name()} longer than ${limits.maxTextLength} characters`);
      }
    }
  };

  const where = (): string => (stack.length ? `/${stack.join('/')}` : 'document');

  while (i < n) {
    const c = buf[i]!;
    if (c !== LT) {
      // Character data up to the next markup.
      let j = buf.indexOf(LT, i);
      if (j < 0) j = n;
      if (stack.length === 0) {
        for (let k = i; k < j; k++) {
          if (!isSpace(buf[k]!)) throw malformed(`text outside the root element at byte ${k}`);
        }
      } else if (openAttachment >= 0 && stack.length === openAttachmentDepth) {
        const r = attachmentTexts[openAttachment]!;
        const run = countBase64Run(buf, i, j);
        if (run.invalid > 0) {
          for (let k = i; k < j; k++) {
            const b = buf[k]!;
            if (isForbiddenControl(b) || isNonCharacterAt(buf, k)) throw malformed(`${describeRawChar(buf, k)}, not an XML character, in ${where()}`);
            if (b === AMP) {
              r.plain = false;
              const ref = checkReference(buf, k, j);
              if ('problem' in ref) throw malformed(`${ref.problem} in ${where()}`);
            }
          }
        }
        const { pads, spaces, invalid } = run;
        r.invalidChars += invalid;
        const data = j - i - pads - spaces - invalid;
        r.base64Chars += data + pads;
        r.padChars += pads;
        if (spaces > 0) r.compact = false;
      } else {
        checkText(i, j, () => `text of ${where()}`);
      }
      i = j;
      continue;
    }
    const next = buf[i + 1];
    if (next === QMARK) {
      const end = buf.indexOf('?>', i + 2);
      if (end < 0) throw malformed(`unterminated processing instruction at byte ${i}`);
      const isDecl = startsWithAscii(buf, i + 2, 'xml') && (isSpace(buf[i + 5] ?? 0) || buf[i + 5] === QMARK);
      if (isDecl && (i !== bodyStart || sawXmlDecl)) throw malformed(`XML declaration not at the start (byte ${i})`);
      sawXmlDecl ||= isDecl;
      if (!isDecl) checkProcessingInstruction(buf, i, end, limits);
      if (openAttachment >= 0) attachmentTexts[openAttachment]!.plain = false;
      i = end + 2;
      continue;
    }
    if (next === BANG) {
      if (startsWithAscii(buf, i, '<!--')) {
        const end = buf.indexOf('-->', i + 4);
        if (end < 0) throw malformed(`unterminated comment at byte ${i}`);
        const doubleHyphen = buf.indexOf('--', i + 4);
        if (doubleHyphen < end || (end > i + 4 && buf[end - 1] === 0x2d)) throw malformed(`'--' inside the comment at byte ${i}`);
        checkTextLiteral(buf, i + 4, end, limits, 'comment');
        if (openAttachment >= 0) attachmentTexts[openAttachment]!.plain = false;
        i = end + 3;
        continue;
      }
      if (startsWithAscii(buf, i, '<![CDATA[')) {
        if (stack.length === 0) throw malformed(`CDATA outside the root element at byte ${i}`);
        const end = buf.indexOf(']]>', i + 9);
        if (end < 0) throw malformed(`unterminated CDATA section at byte ${i}`);
        if (openAttachment >= 0 && stack.length === openAttachmentDepth) {
          const r = attachmentTexts[openAttachment]!;
          r.plain = false;
          for (let k = i + 9; k < end; k++) {
            const b = buf[k]!;
            if (isBase64Char(b)) r.base64Chars++;
            else if (isSpace(b)) r.compact = false;
            else r.invalidChars++;
          }
        } else {
          checkTextLiteral(buf, i + 9, end, limits, `CDATA in ${where()}`);
        }
        i = end + 3;
        continue;
      }
      for (const decl of ['<!doctype', '<!entity', '<!element', '<!attlist', '<!notation']) {
        if (startsWithAsciiCI(buf, i, decl)) {
          throw new Rejection('dtd-forbidden', `${decl.slice(2).toUpperCase()} declaration at byte ${i}`);
        }
      }
      throw malformed(`unexpected '<!' at byte ${i}`);
    }
    if (next === SLASH) {
      // End tag.
      let j = i + 2;
      while (j < n && !isSpace(buf[j]!) && buf[j] !== GT && j - i <= MAX_NAME_BYTES + 2) j++;
      if (j - i > MAX_NAME_BYTES + 2) throw malformed(`end tag name longer than ${MAX_NAME_BYTES} bytes at byte ${i}`);
      const name = buf.toString('utf8', i + 2, j);
      while (j < n && isSpace(buf[j]!)) j++;
      if (buf[j] !== GT) throw malformed(`malformed end tag </${name}> at byte ${i}`);
      const open = stack.pop();
      if (open === undefined) throw malformed(`end tag </${name}> without a start tag at byte ${i}`);
      unbind(declStack.pop() ?? null);
      if (open !== name) throw malformed(`end tag </${name}> does not match <${open}> at byte ${i}`);
      if (openAttachment >= 0 && stack.length + 1 === openAttachmentDepth) {
        const r = attachmentTexts[openAttachment]!;
        r.end = i;
        openAttachment = -1;
        openAttachmentDepth = -1;
      }
      if (stack.length === 0) rootClosed = true;
      i = j + 1;
      continue;
    }
    // Start tag.
    if (openAttachment >= 0) attachmentTexts[openAttachment]!.plain = false;
    let j = i + 1;
    while (j < n && !isSpace(buf[j]!) && buf[j] !== GT && buf[j] !== SLASH && buf[j] !== LT && j - i <= MAX_NAME_BYTES + 1) j++;
    if (j === i + 1) throw malformed(`'<' not followed by a name at byte ${i}`);
    if (j - i > MAX_NAME_BYTES + 1) throw malformed(`element name longer than ${MAX_NAME_BYTES} bytes at byte ${i}`);
    if (!isXmlName(buf, i + 1, j)) throw malformed(`invalid element name ${JSON.stringify(buf.toString('utf8', i + 1, j))} at byte ${i}`);
    const name = buf.toString('utf8', i + 1, j);
    if (rootClosed) throw malformed(`second root element <${name}> at byte ${i}`);
    if (++elements > limits.maxXmlElements) {
      throw limitExceeded('maxXmlElements', `more than ${limits.maxXmlElements} elements`);
    }
    const depth = stack.length + 1;
    if (depth > limits.maxXmlDepth) {
      throw limitExceeded('maxXmlDepth', `element <${name}> at depth ${depth}, limit ${limits.maxXmlDepth}`);
    }
    if (depth > maxDepth) maxDepth = depth;
    if (!rootSeen) {
      rootSeen = true;
      rootNameEnd = j;
    }
    attrNames.length = 0;
    attrQNames.clear();
    let declared: string[] | null = null;
    let attributes = 0;
    let selfClosing = false;
    for (;;) {
      const before = j;
      while (j < n && isSpace(buf[j]!)) j++;
      if (j >= n) throw malformed(`unterminated start tag <${name}> at byte ${i}`);
      const b = buf[j]!;
      if (b === GT) {
        j++;
        break;
      }
      if (b === SLASH) {
        if (buf[j + 1] !== GT) throw malformed(`malformed start tag <${name}> at byte ${i}`);
        selfClosing = true;
        j += 2;
        break;
      }
      if (j === before) throw malformed(`attributes of <${name}> not separated by whitespace at byte ${j}`);
      // Attribute name.
      const nameStart = j;
      while (j < n && !isSpace(buf[j]!) && buf[j] !== EQ && buf[j] !== GT && buf[j] !== SLASH && buf[j] !== LT && j - nameStart <= MAX_NAME_BYTES) j++;
      if (j === nameStart) throw malformed(`malformed attribute in <${name}> at byte ${j}`);
      if (j - nameStart > MAX_NAME_BYTES) throw malformed(`attribute name longer than ${MAX_NAME_BYTES} bytes at byte ${nameStart}`);
      if (!isXmlName(buf, nameStart, j)) throw malformed(`invalid attribute name ${JSON.stringify(buf.toString('utf8', nameStart, j))} in <${name}> at byte ${nameStart}`);
      const attr = buf.toString('utf8', nameStart, j);
      if (attrQNames.has(attr)) throw malformed(`attribute ${attr} appears twice in <${name}> at byte ${nameStart}`);
      attrQNames.add(attr);
      while (j < n && isSpace(buf[j]!)) j++;
      if (buf[j] !== EQ) throw malformed(`attribute ${attr} of <${name}> has no value (byte ${j})`);
      j++;
      while (j < n && isSpace(buf[j]!)) j++;
      const q = buf[j];
      if (q !== DQUOTE && q !== SQUOTE) throw malformed(`unquoted value of ${attr} in <${name}> at byte ${j}`);
      const close = buf.indexOf(q, j + 1);
      if (close < 0) throw malformed(`unterminated value of ${attr} in <${name}>`);
      const lt = buf.indexOf(LT, j + 1);
      if (lt >= 0 && lt < close) throw malformed(`'<' in the value of ${attr} in <${name}>`);
      checkText(j + 1, close, () => `attribute ${attr} of <${name}>`);
      if (++attributes > limits.maxXmlAttributesPerElement) {
        throw limitExceeded('maxXmlAttributesPerElement', `<${name}> has more than ${limits.maxXmlAttributesPerElement} attributes`);
      }
      if (attr.startsWith('xmlns:')) {
        const p = attr.slice(6);
        const uri = attributeValue(buf, j + 1, close);
        checkNamespaceBinding(p, uri, name);
        (declared ??= []).push(p);
        let bound = inScope.get(p);
        if (!bound) inScope.set(p, (bound = []));
        bound.push(uri);
      } else if (attr === 'xmlns') {
        checkNamespaceBinding('', attributeValue(buf, j + 1, close), name);
      } else {
        attrNames.push(attr);
      }
      j = close + 1;
    }
    namespaceOf(name, false);
    if (attrNames.length > 0) assertDistinctExpandedNames(attrNames, namespaceOf, name, i);
    if (localNameOf(name) === ATTACHMENT_TEXT_ELEMENT) {
      const r: AttachmentTextRange = {
        start: j,
        end: j,
        plain: true,
        compact: true,
        base64Chars: 0,
        padChars: 0,
        invalidChars: 0,
        decodedBytes: 0,
      };
      attachmentTexts.push(r);
      if (!selfClosing) {
        openAttachment = attachmentTexts.length - 1;
        openAttachmentDepth = depth;
      }
    }
    if (!selfClosing) {
      stack.push(name);
      declStack.push(declared);
    } else {
      unbind(declared);
      if (depth === 1) rootClosed = true;
    }
    i = j;
  }
  if (!rootSeen) throw malformed('no root element');
  if (stack.length > 0) throw malformed(`unexpected end of input inside <${stack[stack.length - 1]}>`);

  for (const r of attachmentTexts) {
    const chars = r.base64Chars;
    // Padding characters carry no data; count them from the end of the range when compact and plain.
    let pad = 0;
    if (r.plain && chars > 0) {
      let k = r.end - 1;
      while (k >= r.start && isSpace(buf[k]!)) k--;
      if (k >= r.start && buf[k] === EQ) pad++;
      k--;
      while (k >= r.start && isSpace(buf[k]!)) k--;
      if (pad && k >= r.start && buf[k] === EQ) pad++;
    }
    r.decodedBytes = decodedBase64Bytes(chars, pad);
    totalAttachmentBytes = countAttachment(totalAttachmentBytes, r.decodedBytes, limits);
  }

  return {
    bytes: buf,
    bodyStart,
    elements,
    maxDepth,
    attachmentTexts,
    undeclaredPrefixes: [...undeclared].sort(),
    rootNameEnd,
    ...(transcodedFrom ? { transcodedFrom } : {}),
  };
}

/** Decoded size implied by `chars` base64 characters (padding included), `pad` of them `=`. */
export function decodedBase64Bytes(chars: number, pad: number): number {
  return Math.max(0, Math.floor((chars * 3) / 4) - pad);
}

/** Adds one attachment's decoded bytes to the package's total, enforcing both attachment limits. */
export function countAttachment(totalSoFar: number, decodedBytes: number, limits: Limits): number {
  if (decodedBytes > limits.maxAttachmentBytes) {
    throw limitExceeded('maxAttachmentBytes', `attachment of ${decodedBytes} bytes, limit ${limits.maxAttachmentBytes}`);
  }
  const total = totalSoFar + decodedBytes;
  if (total > limits.maxTotalAttachmentBytes) {
    throw limitExceeded('maxTotalAttachmentBytes', `attachments total more than ${limits.maxTotalAttachmentBytes} bytes`);
  }
  return total;
}

/** Character and length check for CDATA, comments and processing instructions, where '&' is a literal character. */
function checkTextLiteral(buf: Buffer, from: number, to: number, limits: Limits, what: string): void {
  let chars = 0;
  for (let k = from; k < to; k++) {
    const b = buf[k]!;
    if (isForbiddenControl(b) || isNonCharacterAt(buf, k)) throw malformed(`${describeRawChar(buf, k)}, not an XML character, in ${what}`);
    if ((b & 0xc0) === 0x80) continue;
    if (++chars > limits.maxTextLength) {
      throw limitExceeded('maxTextLength', `${what} longer than ${limits.maxTextLength} characters`);
    }
  }
}

/** Namespaces in XML 1.0 §3: what a declaration may bind (`prefix` '' for the default namespace). */
function checkNamespaceBinding(prefix: string, uri: string, element: string): void {
  const declaration = prefix ? `xmlns:${prefix}` : 'xmlns';
  if (prefix === 'xmlns') throw malformed(`<${element}> declares the reserved prefix xmlns`);
  if (prefix === 'xml' ? uri !== XML_NS : uri === XML_NS) throw malformed(`<${element}>: ${declaration}="${uri}" (only xml is bound to ${XML_NS})`);
  if (uri === XMLNS_NS) throw malformed(`<${element}>: ${declaration} binds the reserved namespace ${XMLNS_NS}`);
  if (prefix && uri === '') throw malformed(`<${element}>: ${declaration}="" (a prefix cannot be undeclared in XML 1.0)`);
}

/**
 * No two attributes of one element may have the same namespace name and local name, whatever
 * their prefixes (Namespaces in XML 1.0 §6.3). @xmldom/xmldom keeps only one of them without a
 * word, so a signed `xlink:href` could be shadowed by an `evil:href` bound to the same namespace.
 */
function assertDistinctExpandedNames(qnames: string[], namespaceOf: (qname: string, isAttr: boolean) => string | undefined, element: string, at: number): void {
  const seen = qnames.length > 1 ? new Set<string>() : undefined;
  for (const qname of qnames) {
    const ns = namespaceOf(qname, true);
    if (!seen || ns === undefined) continue;
    const expanded = `${ns} ${localNameOf(qname)}`;
    if (seen.has(expanded)) throw malformed(`<${element}> at byte ${at} has two attributes named {${ns}}${localNameOf(qname)}`);
    seen.add(expanded);
  }
}

/**
 * `<?target data?>` from `at` to the `?>` at `end`: the target is a name without ':' other than
 * `xml` in any case (reserved: only the declaration at the very start may use it), and the data
 * holds only XML characters.
 */
function checkProcessingInstruction(buf: Buffer, at: number, end: number, limits: Limits): void {
  let t = at + 2;
  while (t < end && !isSpace(buf[t]!)) t++;
  if (!isXmlName(buf, at + 2, t, false)) throw malformed(`processing instruction at byte ${at} has no valid target`);
  if (t - at - 2 === 3 && buf.toString('latin1', at + 2, t).toLowerCase() === 'xml') {
    throw malformed(`processing instruction target '${buf.toString('latin1', at + 2, t)}' at byte ${at} is reserved`);
  }
  checkTextLiteral(buf, t, end, limits, 'processing instruction');
}

/**
 * The fast pre-scan on its own: throws `Rejection` (`limit-exceeded` with the limit's config key,
 * `dtd-forbidden`, or `malformed-xml`) and returns nothing when the bytes are within limits.
 */
export function assertXmlWithinLimits(bytes: Buffer, limits: Limits = DEFAULT_LIMITS): void {
  scanXml(bytes, limits);
}

/**
 * Pre-scan, repair and parse. Also returns the scan (attachment byte ranges) and the repairs made.
 */
export function parseXml(bytes: Buffer, limits: Limits = DEFAULT_LIMITS, options: ParseOptions = {}): ParsedXml {
  const scan = scanXml(bytes, limits);
  const buf = scan.bytes;
  const repairs: string[] = [];
  if (scan.transcodedFrom) repairs.push(`transcoded-from-${scan.transcodedFrom.toLowerCase()}`);
  const pieces: Buffer[] = [];
  let at = scan.bodyStart;
  const cut = (to: number): void => {
    if (to > at) pieces.push(buf.subarray(at, to));
    at = to;
  };
  if (scan.undeclaredPrefixes.length > 0) {
    cut(scan.rootNameEnd);
    for (const p of scan.undeclaredPrefixes) {
      pieces.push(Buffer.from(` xmlns:${p}="${REPAIRABLE_PREFIXES[p]}"`, 'utf8'));
      repairs.push(`${p}-namespace-declared`);
    }
  }
  if (options.omitAttachmentText) {
    for (const r of scan.attachmentTexts) {
      if (!r.plain || r.end <= r.start) continue;
      cut(r.start);
      at = r.end;
    }
  }
  cut(buf.length);
  const source = pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(source);
  } catch {
    throw malformed('invalid UTF-8 byte sequence');
  }
  return { document: parseString(text), scan, repairs };
}

/**
 * XML 1.0 §2.11: CR LF and a lone CR become LF, nothing else. (@xmldom/xmldom defaults to XML
 * 1.1's rule, which also turns U+0085, U+2028 and U+2029 into LF: a text libxml2 and every XML 1.0
 * reader keep as it is would read, and digest, differently here.)
 */
function normalizeXml10LineEnds(text: string): string {
  return text.includes('\r') ? text.replace(/\r\n?/g, '\n') : text;
}

function parseString(text: string): Document {
  let firstProblem: string | undefined;
  const parser = new DOMParser({
    locator: true,
    normalizeLineEndings: normalizeXml10LineEnds,
    onError: (level: string, message: string) => {
      if (level === 'warning') return;
      firstProblem ??= message;
      throw new Error(message);
    },
  });
  let doc: Document;
  try {
    doc = parser.parseFromString(text, 'text/xml');
  } catch (err) {
    throw malformed(cleanParserMessage(firstProblem ?? (err instanceof Error ? err.message : String(err))));
  }
  if (!doc || !doc.documentElement) throw malformed('no root element');
  return doc;
}

function cleanParserMessage(message: string): string {
  return message
    .replace(/^Reporting (fatalError|error) "?/, '')
    .replace(/^Error constructing the DOM: /, '')
    .split('\n')[0]!
    .slice(0, 300);
}

/**
 * Bytes → DOM, safely: pre-scan (limits, no DTD), `xlink:` repair (SPEC §15), then xmldom with
 * every parser error as `Rejection('malformed-xml', …)`. The signature verifier parses through this.
 */
export function parseXmlDocument(bytes: Buffer, limits: Limits = DEFAULT_LIMITS): Document {
  return parseXml(bytes, limits).document;
}
