/**
 * Legacy Vietnamese text ⇄ Unicode NFC. `encoding` in a profile's options is `utf-8`, `tcvn3`
 * (ABC), `vni` (VNI-Windows), `tcvn5712` (iconv-lite's `tcvn`) or `auto` (decode only: see
 * detectEncoding). Output always needs an explicit encoding; `auto` writes what it read, else UTF-8.
 */
import * as iconv from 'iconv-lite';
import { decodeTcvn3, encodeTcvn3, UnencodableCharacter } from './tcvn3';
import { decodeVni, encodeVni } from './vni';

export { UnencodableCharacter } from './tcvn3';
export { decodeTcvn3, encodeTcvn3 } from './tcvn3';
export { decodeVni, encodeVni } from './vni';

export const TEXT_ENCODINGS = ['utf-8', 'tcvn3', 'vni', 'tcvn5712'] as const;
export type TextEncoding = (typeof TEXT_ENCODINGS)[number];
export type EncodingSetting = TextEncoding | 'auto';

export function isEncodingSetting(s: unknown): s is EncodingSetting {
  return s === 'auto' || (TEXT_ENCODINGS as readonly unknown[]).includes(s);
}

export function decodeText(bytes: Buffer, encoding: TextEncoding): string {
  switch (encoding) {
    case 'utf-8':
      return stripBom(bytes.toString('utf8')).normalize('NFC');
    case 'tcvn3':
      return decodeTcvn3(bytes);
    case 'vni':
      return decodeVni(bytes);
    case 'tcvn5712':
      return iconv.decode(bytes, 'tcvn').normalize('NFC');
  }
}

export function encodeText(text: string, encoding: TextEncoding): Buffer {
  switch (encoding) {
    case 'utf-8':
      return Buffer.from(text.normalize('NFC'), 'utf8');
    case 'tcvn3':
      return encodeTcvn3(text);
    case 'vni':
      return encodeVni(text);
    case 'tcvn5712': {
      const nfc = text.normalize('NFC');
      const bytes = iconv.encode(nfc, 'tcvn');
      if (iconv.decode(bytes, 'tcvn').normalize('NFC') !== nfc) {
        const bad = [...nfc].findIndex((c) => iconv.decode(iconv.encode(c, 'tcvn'), 'tcvn').normalize('NFC') !== c);
        throw new UnencodableCharacter('tcvn5712', [...nfc][bad] ?? '?', bad);
      }
      return bytes;
    }
  }
}

function stripBom(s: string): string {
  return s.charCodeAt(0) === 0xfeff ? s.slice(1) : s;
}

export interface Detection {
  encoding: TextEncoding;
  text: string;
}

/** Decode with an explicit setting, or detect. */
export function decodeWith(bytes: Buffer, setting: EncodingSetting): Detection {
  if (setting !== 'auto') return { encoding: setting, text: decodeText(bytes, setting) };
  const encoding = detectEncoding(bytes);
  return { encoding, text: decodeText(bytes, encoding) };
}

/**
 * Pure ASCII and valid UTF-8 are UTF-8. Otherwise TCVN3 and VNI are both decoded and the one whose
 * words look more like Vietnamese wins: every letter a Vietnamese letter, and at most one tone mark
 * per syllable (VNI bytes read as TCVN3 give runs such as "aứ"; TCVN3 read as VNI gives symbols).
 */
export function detectEncoding(bytes: Buffer): TextEncoding {
  if (!bytes.some((b) => b >= 0x80)) return 'utf-8';
  if (isValidUtf8(bytes)) return 'utf-8';
  const tcvn3 = vietnameseScore(decodeTcvn3(bytes));
  const vni = vietnameseScore(decodeVni(bytes));
  return vni > tcvn3 ? 'vni' : 'tcvn3';
}

function isValidUtf8(bytes: Buffer): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return true;
  } catch {
    return false;
  }
}

const TONE_MARKS = /[\u0300\u0301\u0303\u0309\u0323]/g;
const NUCLEI =
  'iêu|yêu|oai|oay|oeo|uây|uôi|ươi|ươu|uya|uyê|uyu|uêu|ai|ao|au|ay|âu|ây|eo|êu|ia|iê|iu|oa|oă|oe|oi|ôi|ơi|oo|ua|uâ|uê|ui|uô|uơ|uy|ưa|ưi|ươ|ưu|yê|a|ă|â|e|ê|i|o|ô|ơ|u|ư|y';
const SYLLABLE = new RegExp(`^(?:ngh|ng|nh|ch|gh|gi|kh|ph|qu|th|tr|[bcdđghklmnprstvx])?(?:${NUCLEI})(?:ch|nh|ng|[cmnpt])?$`);

/**
 * Words that are well-formed Vietnamese syllables (onset, vowel nucleus, final; at most one tone
 * mark), minus those that are not. Only words with non-ASCII letters count.
 */
export function vietnameseScore(text: string): number {
  let score = 0;
  for (const word of text.toLowerCase().split(/[^\p{L}\p{M}]+/u)) {
    if (!word || !/[^\x00-\x7f]/.test(word)) continue;
    const decomposed = word.normalize('NFD');
    const tones = (decomposed.match(TONE_MARKS) ?? []).length;
    const base = decomposed.replace(TONE_MARKS, '').normalize('NFC');
    score += tones <= 1 && SYLLABLE.test(base) ? 1 : -1;
  }
  return score;
}
