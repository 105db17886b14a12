/**
 * VNI-Windows, the other pre-Unicode Vietnamese font encoding: a base letter followed by one
 * mark byte from the Windows-1252 range ("Vieät" is "Việt"), with a few letters as single bytes
 * (ơ = ô, ư = ö, đ = ñ, and the i/ỵ family). There is no codec for it anywhere, hence this table.
 */
import * as iconv from 'iconv-lite';
import { UnencodableCharacter } from './tcvn3';

/** Mark bytes (written as their Windows-1252 characters) after a plain vowel, per target tone. */
const TONES = ['acute', 'grave', 'hook', 'tilde', 'dot'] as const;
const PLAIN_MARKS = { acute: 'ù', grave: 'ø', hook: 'û', tilde: 'õ', dot: 'ï' };
const CIRCUMFLEX_MARKS = { none: 'â', acute: 'á', grave: 'à', hook: 'å', tilde: 'ã', dot: 'ä' };
const BREVE_MARKS = { none: 'ê', acute: 'é', grave: 'è', hook: 'ú', tilde: 'ü', dot: 'ë' };

const COMBINING: Record<(typeof TONES)[number], string> = { acute: '\u0301', grave: '\u0300', hook: '\u0309', tilde: '\u0303', dot: '\u0323' };

/** Every Vietnamese letter as its VNI byte string (in Windows-1252 characters), lowercase first. */
function buildTable(): Array<[string, string]> {
  const rows: Array<[string, string]> = [];
  const add = (unicode: string, vni: string) => {
    rows.push([unicode.normalize('NFC'), vni]);
    rows.push([unicode.normalize('NFC').toUpperCase(), vni.toUpperCase()]);
  };
  for (const v of ['a', 'e', 'o', 'u', 'y']) {
    for (const t of TONES) add(v + COMBINING[t], v + PLAIN_MARKS[t]);
  }
  for (const v of ['a', 'e', 'o']) {
    add(v + '\u0302', v + CIRCUMFLEX_MARKS.none);
    for (const t of TONES) add(v + '\u0302' + COMBINING[t], v + CIRCUMFLEX_MARKS[t]);
  }
  add('a\u0306', 'a' + BREVE_MARKS.none);
  for (const t of TONES) add('a\u0306' + COMBINING[t], 'a' + BREVE_MARKS[t]);
  // ơ and ư are single bytes (ô, ö) that take the plain tone marks.
  for (const [letter, byte] of [['o\u031b', 'ô'], ['u\u031b', 'ö']] as const) {
    add(letter, byte);
    for (const t of TONES) add(letter + COMBINING[t], byte + PLAIN_MARKS[t]);
  }
  // The i family, ỵ and đ are single bytes.
  add('í', 'í');
  add('ì', 'ì');
  add('ỉ', 'æ');
  add('ĩ', 'ó');
  add('ị', 'ò');
  add('ỵ', 'î');
  add('đ', 'ñ');
  // ỵ has a single-byte form; drop the two-byte y+dot row so the table stays one-to-one.
  return rows.filter(([u, v]) => !((u === 'ỵ' || u === 'Ỵ') && v.length === 2));
}

const TABLE = buildTable();
const TO_VNI = new Map<string, string>(TABLE);
/** Longest match first: two-byte sequences before the single bytes they start with. */
const FROM_VNI = new Map<string, string>(TABLE.map(([u, v]) => [v, u]));

export function decodeVni(bytes: Buffer): string {
  const text = iconv.decode(bytes, 'windows-1252');
  let out = '';
  for (let i = 0; i < text.length; ) {
    const pair = text.slice(i, i + 2);
    const two = pair.length === 2 ? FROM_VNI.get(pair) : undefined;
    if (two !== undefined) {
      out += two;
      i += 2;
      continue;
    }
    const ch = text[i]!;
    out += FROM_VNI.get(ch) ?? ch;
    i += 1;
  }
  return out.normalize('NFC');
}

export function encodeVni(text: string): Buffer {
  let cp1252 = '';
  let index = 0;
  for (const ch of text.normalize('NFC')) {
    const mapped = TO_VNI.get(ch);
    if (mapped !== undefined) cp1252 += mapped;
    else if (iconv.decode(iconv.encode(ch, 'windows-1252'), 'windows-1252') === ch) cp1252 += ch;
    else throw new UnencodableCharacter('vni', ch, index);
    index += 1;
  }
  return iconv.encode(cp1252, 'windows-1252');
}
