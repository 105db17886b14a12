/**
 * One package, one reading (docs/SECURITY.md, "Packages and their bytes"). The connector reads
 * exactly two encodings, both of which every XML parser detects the same way without trusting the
 * declaration: UTF-8 (with or without a byte-order mark) and UTF-16 with a byte-order mark, which
 * is transcoded to UTF-8 before anything is checked, verified or delivered. Anything else (a
 * declared legacy or 7-bit encoding, UTF-16 without a BOM, UTF-32, EBCDIC) is refused as
 * `unsupported-encoding`: under such a declaration the same bytes read as two different
 * documents, depending on whether the reader honours the declaration, which is how a package
 * another agency really signed can be wrapped to show a legacy system the attacker's markup.
 *
 * The XML declaration is parsed by its grammar (XML 1.0 §2.8, §4.3.3) wherever it ends, so that
 * padding cannot hide an `encoding` from the connector while libxml2 still honours it.
 */
import { Rejection } from '../errors';

export type SourceEncoding = 'UTF-8' | 'UTF-16LE' | 'UTF-16BE';

export interface Utf8Input {
  /** The document as UTF-8: the input itself, or its transcoding. */
  bytes: Buffer;
  /** Offset of the first byte after a UTF-8 byte-order mark (0 without one). */
  bodyStart: number;
  /** Set when the input was UTF-16 and `bytes` is its transcoding. */
  transcodedFrom?: Exclude<SourceEncoding, 'UTF-8'>;
}

function unsupported(detail: string): Rejection {
  return new Rejection('unsupported-encoding', `${detail}; packages must be UTF-8, or UTF-16 with a byte-order mark`);
}

function malformed(detail: string): Rejection {
  return new Rejection('malformed-xml', detail);
}

const BYTE_ORDER_PATTERNS: ReadonlyArray<{ bytes: number[]; name: string }> = [
  { bytes: [0x00, 0x00, 0xfe, 0xff], name: 'UTF-32 (big-endian byte-order mark)' },
  { bytes: [0xff, 0xfe, 0x00, 0x00], name: 'UTF-32 (little-endian byte-order mark)' },
  { bytes: [0x00, 0x00, 0x00, 0x3c], name: 'UCS-4 or UTF-32 without a byte-order mark' },
  { bytes: [0x3c, 0x00, 0x00, 0x00], name: 'UCS-4 or UTF-32 without a byte-order mark' },
  { bytes: [0x00, 0x3c, 0x00, 0x3f], name: 'UTF-16 (big-endian) without a byte-order mark' },
  { bytes: [0x3c, 0x00, 0x3f, 0x00], name: 'UTF-16 (little-endian) without a byte-order mark' },
  { bytes: [0x4c, 0x6f, 0xa7, 0x94], name: 'EBCDIC' },
];

function startsWith(buf: Buffer, pattern: number[]): boolean {
  if (buf.length < pattern.length) return false;
  for (let k = 0; k < pattern.length; k++) if (buf[k] !== pattern[k]) return false;
  return true;
}

/** Brings a package to its one UTF-8 reading, or refuses it (see the file comment). */
export function toUtf8(input: Buffer): Utf8Input {
  for (const { bytes, name } of BYTE_ORDER_PATTERNS) {
    if (startsWith(input, bytes)) throw unsupported(`the package is ${name}`);
  }
  if (startsWith(input, [0xfe, 0xff]) || startsWith(input, [0xff, 0xfe])) return fromUtf16(input);
  const bodyStart = startsWith(input, [0xef, 0xbb, 0xbf]) ? 3 : 0;
  const decl = readXmlDeclaration(input, bodyStart);
  if (decl?.encoding !== undefined && decl.encoding.toLowerCase() !== 'utf-8') {
    throw unsupported(`the package declares encoding="${decl.encoding}"`);
  }
  return { bytes: input, bodyStart };
}

function fromUtf16(input: Buffer): Utf8Input {
  const encoding = input[0] === 0xff ? 'UTF-16LE' : 'UTF-16BE';
  let text: string;
  try {
    text = new TextDecoder(encoding === 'UTF-16LE' ? 'utf-16le' : 'utf-16be', { fatal: true, ignoreBOM: true }).decode(input.subarray(2));
  } catch {
    throw malformed(`invalid ${encoding} byte sequence`);
  }
  const utf8 = Buffer.from(text, 'utf8');
  const decl = readXmlDeclaration(utf8, 0);
  if (!decl || decl.encoding === undefined) return { bytes: utf8, bodyStart: 0, transcodedFrom: encoding };
  const declared = decl.encoding.toLowerCase();
  if (declared !== 'utf-16' && declared !== encoding.toLowerCase()) {
    throw unsupported(`the package has a ${encoding} byte-order mark but declares encoding="${decl.encoding}"`);
  }
  // The bytes are UTF-8 now: the declaration must not say otherwise to whoever reads them next.
  const bytes = Buffer.concat([utf8.subarray(0, decl.encodingStart), utf8.subarray(decl.encodingEnd)]);
  return { bytes, bodyStart: 0, transcodedFrom: encoding };
}

export interface XmlDeclaration {
  /** Offset just after `?>`. */
  end: number;
  version: string;
  encoding?: string;
  /** The ` encoding="…"` pseudo-attribute with the whitespace before it, as a byte range. */
  encodingStart: number;
  encodingEnd: number;
}

const SPACE = new Set([0x20, 0x09, 0x0a, 0x0d]);

/**
 * The XML declaration at `at`, read by its grammar; undefined when the document has none there.
 * Linear in the declaration's length however long its whitespace is; anything off the grammar is
 * `malformed-xml` (XML 1.1 included: its characters and line ends read differently).
 */
export function readXmlDeclaration(buf: Buffer, at: number): XmlDeclaration | undefined {
  if (!(buf[at] === 0x3c && buf[at + 1] === 0x3f && buf[at + 2] === 0x78 && buf[at + 3] === 0x6d && buf[at + 4] === 0x6c)) return undefined;
  const after = buf[at + 5];
  if (after === undefined || !(SPACE.has(after) || after === 0x3f)) return undefined; // `<?xml-stylesheet …?>`: a processing instruction
  let i = at + 5;
  const bad = (what: string): Rejection => malformed(`malformed XML declaration: ${what}`);
  const skipSpace = (): boolean => {
    const from = i;
    while (i < buf.length && SPACE.has(buf[i]!)) i++;
    return i > from;
  };
  const word = (w: string): boolean => {
    for (let k = 0; k < w.length; k++) if (buf[i + k] !== w.charCodeAt(k)) return false;
    i += w.length;
    return true;
  };
  const value = (what: string, allowed: RegExp): string => {
    skipSpace();
    if (buf[i] !== 0x3d) throw bad(`${what} has no '='`);
    i++;
    skipSpace();
    const quote = buf[i];
    if (quote !== 0x22 && quote !== 0x27) throw bad(`${what} is not quoted`);
    const close = buf.indexOf(quote, i + 1);
    if (close < 0 || close - i > 64) throw bad(`${what} is not terminated`);
    const v = buf.toString('latin1', i + 1, close);
    if (!allowed.test(v)) throw bad(`${what} ${JSON.stringify(v)} is not allowed`);
    i = close + 1;
    return v;
  };
  if (!skipSpace() || !word('version')) throw bad('version must come first');
  const version = value('version', /^1\.[0-9]+$/);
  if (version !== '1.0') throw malformed(`XML version ${version} is not accepted (XML 1.0 only)`);
  let encoding: string | undefined;
  let encodingStart = -1;
  let encodingEnd = -1;
  let spaced = skipSpace();
  const beforeEncoding = i;
  if (spaced && word('encoding')) {
    encodingStart = beforeEncoding;
    while (encodingStart > at && SPACE.has(buf[encodingStart - 1]!)) encodingStart--;
    encoding = value('encoding', /^[A-Za-z][A-Za-z0-9._-]*$/);
    encodingEnd = i;
    spaced = skipSpace();
  }
  if (spaced && word('standalone')) {
    value('standalone', /^(yes|no)$/);
    skipSpace();
  }
  if (!(buf[i] === 0x3f && buf[i + 1] === 0x3e)) throw bad(`unexpected ${i < buf.length ? `'${String.fromCharCode(buf[i]!)}'` : 'end of input'} at byte ${i}`);
  return { end: i + 2, version, ...(encoding !== undefined ? { encoding } : {}), encodingStart, encodingEnd };
}
