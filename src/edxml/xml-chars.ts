/**
 * The characters, references and names XML 1.0 allows (§2.2 Char, §4.1 CharRef, §2.3 Name, and
 * Namespaces §3 QName), checked on the raw UTF-8 bytes by the pre-scan (src/edxml/safe-xml.ts).
 * @xmldom/xmldom is lax about all three (it decodes `&#x1;` and `&#xD800;`, keeps `&#;` as text,
 * and reads a control character inside a tag name as an attribute separator), so whatever it
 * would read differently from a conforming parser is refused before it sees the bytes.
 */

/** C0 controls other than TAB, LF and CR: not XML characters, raw or referenced. */
export function isForbiddenControl(b: number): boolean {
  return b < 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d;
}

/** XML 1.0 Char: #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF]. */
export function isXmlChar(cp: number): boolean {
  if (cp < 0x20) return cp === 0x09 || cp === 0x0a || cp === 0x0d;
  if (cp <= 0xd7ff) return true;
  if (cp < 0xe000) return false;
  if (cp <= 0xfffd) return true;
  return cp >= 0x10000 && cp <= 0x10ffff;
}

/**
 * At byte k, the UTF-8 of U+FFFE or U+FFFF (EF BF BE, EF BF BF): valid UTF-8 that is not an XML
 * character. (Surrogates and code points past U+10FFFF are not valid UTF-8 and fail decoding.)
 */
export function isNonCharacterAt(buf: Buffer, k: number): boolean {
  return buf[k] === 0xef && buf[k + 1] === 0xbf && (buf[k + 2] === 0xbe || buf[k + 2] === 0xbf);
}

/** Describes the forbidden raw character at k for a message, e.g. `U+FFFF` or `0x1`. */
export function describeRawChar(buf: Buffer, k: number): string {
  return isNonCharacterAt(buf, k) ? (buf[k + 2] === 0xbe ? 'U+FFFE' : 'U+FFFF') : `0x${buf[k]!.toString(16)}`;
}

const PREDEFINED_ENTITIES = new Set(['amp', 'lt', 'gt', 'quot', 'apos']);

/** Longest reference accepted, `&` and `;` included (`&#x10FFFF;` is 10; leading zeros allowed up to this). */
const MAX_REFERENCE_BYTES = 16;

export type ReferenceCheck = { end: number } | { problem: string };

/**
 * The reference starting with `&` at k: a predefined entity or a character reference to an XML
 * character (no DTD, so no other entity exists). Returns the offset of its `;`, or what is wrong.
 */
export function checkReference(buf: Buffer, k: number, limit: number): ReferenceCheck {
  const stop = Math.min(limit, k + MAX_REFERENCE_BYTES);
  let semi = -1;
  for (let j = k + 1; j < stop; j++) {
    if (buf[j] === 0x3b) {
      semi = j;
      break;
    }
  }
  if (semi < 0) return { problem: `bare '&' (not a reference) at byte ${k}` };
  if (buf[k + 1] !== 0x23) {
    const name = buf.toString('latin1', k + 1, semi);
    return PREDEFINED_ENTITIES.has(name) ? { end: semi } : { problem: `reference to undeclared entity &${name.slice(0, 20)}; at byte ${k}` };
  }
  const hex = buf[k + 2] === 0x78;
  const digits = buf.toString('latin1', k + (hex ? 3 : 2), semi);
  if (!(hex ? /^[0-9A-Fa-f]+$/ : /^[0-9]+$/).test(digits)) return { problem: `malformed character reference ${buf.toString('latin1', k, semi + 1)} at byte ${k}` };
  const cp = parseInt(digits, hex ? 16 : 10);
  if (!isXmlChar(cp)) {
    return { problem: `character reference ${buf.toString('latin1', k, semi + 1)} (U+${cp.toString(16).toUpperCase().padStart(4, '0')}) is not an XML character` };
  }
  return { end: semi };
}

/** Byte classes of ASCII name characters: 1 may start a name, 2 may only follow. */
const ASCII_NAME = (() => {
  const table = new Uint8Array(128);
  for (let b = 0; b < 128; b++) {
    const c = String.fromCharCode(b);
    if (/[A-Za-z_]/.test(c)) table[b] = 1;
    else if (/[0-9.-]/.test(c)) table[b] = 2;
  }
  return table;
})();

// XML 1.0 fifth edition NameStartChar / NameChar without ':' (an NCName).
const NC_START = 'A-Z_a-z\\u00C0-\\u00D6\\u00D8-\\u00F6\\u00F8-\\u02FF\\u0370-\\u037D\\u037F-\\u1FFF\\u200C-\\u200D\\u2070-\\u218F\\u2C00-\\u2FEF\\u3001-\\uD7FF\\uF900-\\uFDCF\\uFDF0-\\uFFFD\\u{10000}-\\u{EFFFF}';
const NC_CHAR = `${NC_START}\\-.0-9\\u00B7\\u0300-\\u036F\\u203F-\\u2040`;
const QNAME = new RegExp(`^(?:[${NC_START}][${NC_CHAR}]*:)?[${NC_START}][${NC_CHAR}]*$`, 'u');
const NCNAME = new RegExp(`^[${NC_START}][${NC_CHAR}]*$`, 'u');

/**
 * The bytes [from, to) are a QName (at most one ':', neither first nor last), or with
 * `colonAllowed` false an NCName (processing-instruction targets). ASCII names, the usual case,
 * are checked byte by byte; others through the Unicode production.
 */
export function isXmlName(buf: Buffer, from: number, to: number, colonAllowed = true): boolean {
  if (to <= from) return false;
  let colon = -1;
  let ascii = true;
  for (let k = from; k < to; k++) {
    const b = buf[k]!;
    if (b >= 0x80) {
      ascii = false;
      break;
    }
    if (b === 0x3a) {
      if (colon >= 0 || !colonAllowed || k === from) return false;
      colon = k;
      continue;
    }
    const cls = ASCII_NAME[b]!;
    if (cls === 0) return false;
    if (cls === 2 && (k === from || k === colon + 1)) return false;
  }
  if (ascii) return colon !== to - 1;
  return (colonAllowed ? QNAME : NCNAME).test(buf.toString('utf8', from, to));
}

/**
 * An attribute value as a parser reports it (XML 1.0 §3.3.3, every attribute CDATA without a
 * DTD): line ends normalized, each raw whitespace character a space, references replaced. Only
 * for values the pre-scan must compare (namespace names); its references were already checked.
 */
export function attributeValue(buf: Buffer, from: number, to: number): string {
  const raw = buf.toString('utf8', from, to);
  if (!/[&\t\n\r]/.test(raw)) return raw;
  return raw
    .replace(/\r\n?/g, '\n')
    .replace(/[\t\n]/g, ' ')
    .replace(/&(#x[0-9A-Fa-f]+|#[0-9]+|amp|lt|gt|quot|apos);/g, (_m, ref: string) => {
      if (ref[0] === '#') return String.fromCodePoint(parseInt(ref.slice(ref[1] === 'x' ? 2 : 1), ref[1] === 'x' ? 16 : 10));
      return ({ amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" } as Record<string, string>)[ref]!;
    });
}
