import { strict as assert } from 'node:assert';
import * as iconv from 'iconv-lite';
import { decodeText, decodeTcvn3, decodeVni, detectEncoding, encodeText, UnencodableCharacter } from '../../../src/transform/encodings';

const HEADLINE = 'Trục liên thông văn bản quốc gia chính thức kết nối 95/95 bộ, ngành, địa phương';
// How the headline looks when legacy bytes are shown as Windows-1252: the familiar "font garbage".
const HEADLINE_TCVN3_AS_1252 = 'Trôc liªn th«ng v¨n b¶n quèc gia chÝnh thøc kÕt nèi 95/95 bé, ngµnh, ®Þa ph\u00ad¬ng';
const HEADLINE_VNI_AS_1252 = 'Truïc lieân thoâng vaên baûn quoác gia chính thöùc keát noái 95/95 boä, ngaønh, ñòa phöông';

const SENTENCES = [
  HEADLINE,
  'Cộng hòa xã hội chủ nghĩa Việt Nam',
  'Độc lập - Tự do - Hạnh phúc',
  'Về việc triển khai thực hiện Nghị định số 30/2020/NĐ-CP về công tác văn thư',
  'Ủy ban nhân dân tỉnh Nghệ An đề nghị các sở, ban, ngành phối hợp',
];

describe('legacy Vietnamese encodings', () => {
  it('writes the headline in TCVN3 (ABC) and VNI-Windows byte for byte as legacy systems do', () => {
    assert.equal(iconv.decode(encodeText(HEADLINE, 'tcvn3'), 'windows-1252'), HEADLINE_TCVN3_AS_1252);
    assert.equal(iconv.decode(encodeText(HEADLINE, 'vni'), 'windows-1252'), HEADLINE_VNI_AS_1252);
  });

  it('reads the headline from TCVN3 and VNI bytes as Unicode NFC', () => {
    const tcvn3 = decodeTcvn3(iconv.encode(HEADLINE_TCVN3_AS_1252, 'windows-1252'));
    const vni = decodeVni(iconv.encode(HEADLINE_VNI_AS_1252, 'windows-1252'));
    assert.equal(tcvn3, HEADLINE);
    assert.equal(vni, HEADLINE);
    assert.equal(vni, vni.normalize('NFC'));
  });

  for (const encoding of ['tcvn3', 'vni', 'tcvn5712', 'utf-8'] as const) {
    it(`round-trips real sentences through ${encoding}`, () => {
      for (const s of SENTENCES) {
        const back = decodeText(encodeText(s, encoding), encoding);
        // TCVN3 has no capitals with tone marks: "Ủ" comes back as "ủ" (ABC fonts drew it with an uppercase font).
        assert.equal(back, encoding === 'tcvn3' ? s.replace('Ủ', 'ủ') : s, `${encoding}: ${s}`);
      }
    });
  }

  it('takes decomposed (NFD) input and writes the same bytes as for NFC', () => {
    assert.deepEqual(encodeText(HEADLINE.normalize('NFD'), 'vni'), encodeText(HEADLINE, 'vni'));
    assert.deepEqual(encodeText(HEADLINE.normalize('NFD'), 'tcvn3'), encodeText(HEADLINE, 'tcvn3'));
  });

  it('detects TCVN3, VNI and UTF-8 on real sentences', () => {
    for (const s of SENTENCES) {
      assert.equal(detectEncoding(encodeText(s, 'tcvn3')), 'tcvn3', s);
      assert.equal(detectEncoding(encodeText(s, 'vni')), 'vni', s);
      assert.equal(detectEncoding(Buffer.from(s, 'utf8')), 'utf-8', s);
    }
  });

  it('keeps Windows-1252 punctuation in TCVN3 where TCVN 5712 would read letters', () => {
    const quoted = Buffer.from([0x93, 0x56, 0xa8, 0x6e, 0x94]); // “Văn” as an ABC document saved by Word
    assert.equal(decodeText(quoted, 'tcvn3'), '“Văn”');
    assert.notEqual(decodeText(quoted, 'tcvn5712'), '“Văn”');
  });

  it('names the character a legacy encoding cannot hold', () => {
    for (const encoding of ['tcvn3', 'vni'] as const) {
      assert.throws(
        () => encodeText('Văn bản 中', encoding),
        (err: unknown) => err instanceof UnencodableCharacter && err.character === '中' && err.index === 8 && err.message.includes('U+4E2D'),
      );
    }
  });
});
