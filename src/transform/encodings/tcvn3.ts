/**
 * TCVN3 (ABC), the font encoding of most pre-Unicode Vietnamese office documents.
 *
 * It shares its lowercase letters (0xA1–0xFE) with TCVN 5712:1993 (iconv-lite's `tcvn`), but
 * not the rest: ABC fonts leave 0x80–0x9F to Windows-1252 (so Word's curly quotes 0x93/0x94 stay
 * quotes, where `tcvn` reads them as Ỏ/Õ) and have no capital letters with tone marks at all —
 * capitals were typed with the same codes in an uppercase font (.VnTimeH). Encoding therefore
 * writes a toned capital with its lowercase code: that is what ABC users' files contain, and
 * conformance reports the case change.
 */
import * as iconv from 'iconv-lite';

const LETTERS: Array<[number, string]> = [
  [0xa1, 'Ă'], [0xa2, 'Â'], [0xa3, 'Ê'], [0xa4, 'Ô'], [0xa5, 'Ơ'], [0xa6, 'Ư'], [0xa7, 'Đ'],
  [0xa8, 'ă'], [0xa9, 'â'], [0xaa, 'ê'], [0xab, 'ô'], [0xac, 'ơ'], [0xad, 'ư'], [0xae, 'đ'],
  [0xb5, 'à'], [0xb6, 'ả'], [0xb7, 'ã'], [0xb8, 'á'], [0xb9, 'ạ'],
  [0xbb, 'ằ'], [0xbc, 'ẳ'], [0xbd, 'ẵ'], [0xbe, 'ắ'], [0xc6, 'ặ'],
  [0xc7, 'ầ'], [0xc8, 'ẩ'], [0xc9, 'ẫ'], [0xca, 'ấ'], [0xcb, 'ậ'],
  [0xcc, 'è'], [0xce, 'ẻ'], [0xcf, 'ẽ'], [0xd0, 'é'], [0xd1, 'ẹ'],
  [0xd2, 'ề'], [0xd3, 'ể'], [0xd4, 'ễ'], [0xd5, 'ế'], [0xd6, 'ệ'],
  [0xd7, 'ì'], [0xd8, 'ỉ'], [0xdc, 'ĩ'], [0xdd, 'í'], [0xde, 'ị'],
  [0xdf, 'ò'], [0xe1, 'ỏ'], [0xe2, 'õ'], [0xe3, 'ó'], [0xe4, 'ọ'],
  [0xe5, 'ồ'], [0xe6, 'ổ'], [0xe7, 'ỗ'], [0xe8, 'ố'], [0xe9, 'ộ'],
  [0xea, 'ờ'], [0xeb, 'ở'], [0xec, 'ỡ'], [0xed, 'ớ'], [0xee, 'ợ'],
  [0xef, 'ù'], [0xf1, 'ủ'], [0xf2, 'ũ'], [0xf3, 'ú'], [0xf4, 'ụ'],
  [0xf5, 'ừ'], [0xf6, 'ử'], [0xf7, 'ữ'], [0xf8, 'ứ'], [0xf9, 'ự'],
  [0xfa, 'ỳ'], [0xfb, 'ỷ'], [0xfc, 'ỹ'], [0xfd, 'ý'], [0xfe, 'ỵ'],
];

const DECODE = new Map<number, string>(LETTERS);
const ENCODE = new Map<string, number>(LETTERS.map(([b, c]) => [c, b]));
/** Windows-1252 for every byte that is not a Vietnamese letter. */
const CP1252 = iconv.decode(Buffer.from(Array.from({ length: 256 }, (_, i) => i)), 'windows-1252');
const CP1252_ENCODE = new Map<string, number>([...CP1252].map((c, i) => [c, i]));

export function decodeTcvn3(bytes: Buffer): string {
  let out = '';
  for (const b of bytes) out += DECODE.get(b) ?? CP1252[b];
  return out.normalize('NFC');
}

/** Unicode → TCVN3. Characters TCVN3 cannot hold are reported (character and position). */
export function encodeTcvn3(text: string): Buffer {
  const nfc = text.normalize('NFC');
  const out: number[] = [];
  let index = 0;
  for (const ch of nfc) {
    const code = ENCODE.get(ch) ?? ENCODE.get(ch.toLowerCase()) ?? CP1252_ENCODE.get(ch);
    if (code === undefined) throw new UnencodableCharacter('tcvn3', ch, index);
    out.push(code);
    index += 1;
  }
  return Buffer.from(out);
}

export class UnencodableCharacter extends Error {
  constructor(
    readonly encoding: string,
    readonly character: string,
    readonly index: number,
  ) {
    super(`character ${JSON.stringify(character)} (U+${character.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}) at position ${index} has no ${encoding} code`);
  }
}
