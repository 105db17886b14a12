/**
 * One package, one reading (src/edxml/xml-encoding.ts, issue 13 hole 1): UTF-8 with or without a
 * byte-order mark, UTF-16 with one (transcoded), nothing else; the declaration read by its grammar
 * wherever it ends. And the characters, names and namespace bindings the pre-scan refuses where
 * @xmldom/xmldom would have read something a conforming parser does not.
 */
import { strict as assert } from 'node:assert';
import { Rejection } from '../../../src/errors';
import { parseXml } from '../../../src/edxml/safe-xml';
import { readXmlDeclaration, toUtf8 } from '../../../src/edxml/xml-encoding';

function reasonOf(bytes: Buffer): string {
  try {
    parseXml(bytes);
    return 'accepted';
  } catch (err) {
    if (err instanceof Rejection) return err.reason;
    throw err;
  }
}
const utf8 = (s: string) => Buffer.from(s, 'utf8');

describe('edxml: the encoding rule and the XML declaration', () => {
  it('UTF-8 without a declaration, with one, with a byte-order mark: read as they are', () => {
    for (const doc of ['<a>Hà Nội</a>', '<?xml version="1.0"?><a>Hà Nội</a>', "<?xml version='1.0' encoding='utf-8' standalone='yes'?><a>Hà Nội</a>"]) {
      const { bytes, bodyStart, transcodedFrom } = toUtf8(utf8(doc));
      assert.equal(bytes.toString('utf8'), doc);
      assert.equal(bodyStart, 0);
      assert.equal(transcodedFrom, undefined);
    }
    const bom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), utf8('<?xml version="1.0" encoding="UTF-8"?><a/>')]);
    assert.equal(toUtf8(bom).bodyStart, 3);
  });

  it('UTF-16 with a byte-order mark becomes UTF-8, the encoding pseudo-attribute taken out of the declaration', () => {
    const text = '<?xml version="1.0" encoding="UTF-16" standalone="no"?><a>Hà Nội</a>';
    for (const [name, bytes] of [
      ['UTF-16LE', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')])],
      ['UTF-16BE', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]).swap16()],
    ] as const) {
      const out = toUtf8(bytes);
      assert.equal(out.transcodedFrom, name);
      assert.equal(out.bytes.toString('utf8'), '<?xml version="1.0" standalone="no"?><a>Hà Nội</a>');
      assert.equal(parseXml(bytes).document.documentElement!.textContent, 'Hà Nội');
    }
  });

  it('every other encoding is unsupported-encoding: declared, mismatched with the byte-order mark, or only detectable from the bytes', () => {
    const utf16le = (s: string) => Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(s, 'utf16le')]);
    const cases: Array<[string, Buffer]> = [
      ['UTF-7', utf8('<?xml version="1.0" encoding="UTF-7"?><a/>')],
      ['ISO-8859-1', utf8('<?xml version="1.0" encoding="ISO-8859-1"?><a/>')],
      ['windows-1258', utf8('<?xml version="1.0" encoding="windows-1258"?><a/>')],
      ['US-ASCII', utf8('<?xml version="1.0" encoding="US-ASCII"?><a/>')],
      ['UTF-16 declared in UTF-8', utf8('<?xml version="1.0" encoding="UTF-16"?><a/>')],
      ['UTF-8 declared in UTF-16', utf16le('<?xml version="1.0" encoding="UTF-8"?><a/>')],
      ['UTF-16BE declared under a little-endian mark', utf16le('<?xml version="1.0" encoding="UTF-16BE"?><a/>')],
      ['UTF-16LE without a mark', Buffer.from('<?xml version="1.0"?><a/>', 'utf16le')],
      ['UTF-16BE without a mark', Buffer.from('<?xml version="1.0"?><a/>', 'utf16le').swap16()],
      ['UTF-32LE with a mark', Buffer.concat([Buffer.from([0xff, 0xfe, 0, 0]), Buffer.from('<\0\0\0a\0\0\0/\0\0\0>\0\0\0', 'latin1')])],
      ['EBCDIC', Buffer.from([0x4c, 0x6f, 0xa7, 0x94, 0x93, 0x40])],
    ];
    for (const [label, bytes] of cases) assert.equal(reasonOf(bytes), 'unsupported-encoding', label);
  });

  it('the declaration is parsed wherever it ends: a padded one still names its encoding, and a malformed one is malformed-xml', () => {
    const pad = ' \n\t'.repeat(4000);
    assert.equal(reasonOf(utf8(`<?xml version="1.0"${pad}encoding="UTF-7"${pad}?><a/>`)), 'unsupported-encoding');
    assert.equal(reasonOf(utf8(`<?xml version="1.0"${pad}encoding="UTF-8"${pad}?><a/>`)), 'accepted');
    const decl = readXmlDeclaration(utf8(`<?xml version="1.0"${pad}encoding="utf-8"?><a/>`), 0)!;
    assert.equal(decl.encoding, 'utf-8');
    for (const bad of ['<?xml?><a/>', '<?xml encoding="UTF-8" version="1.0"?><a/>', '<?xml version="1.0"encoding="UTF-8"?><a/>', '<?xml version=1.0?><a/>', '<?xml version="1.0" standalone="maybe"?><a/>', '<?xml version="1.0" foo="bar"?><a/>', '<?xml version="1.1"?><a/>', '<?xml version="2.0"?><a/>']) {
      assert.equal(reasonOf(utf8(bad)), 'malformed-xml', bad);
    }
    assert.equal(readXmlDeclaration(utf8('<?xml-stylesheet href="a"?><a/>'), 0), undefined, 'a processing instruction is not a declaration');
  });
});

describe('edxml: what the pre-scan refuses that @xmldom/xmldom would read', () => {
  it('characters XML 1.0 forbids, raw or referenced, in text, attributes, comments, processing instructions and CDATA', () => {
    for (const doc of [
      '<a>&#x1;</a>', '<a>&#0;</a>', '<a>&#xFFFE;</a>', '<a>&#65535;</a>', '<a>&#xD800;</a>', '<a>&#xDFFF;</a>', '<a>&#x110000;</a>',
      '<a b="&#x1F;"/>', '<a>\uffff</a>', '<a b="\ufffe"/>', '<a><!-- \uffff --></a>', '<a><?pi \u0001?></a>', '<a><![CDATA[\uffff]]></a>',
      '<a>&#;</a>', '<a>&#x;</a>', '<a>&#12a;</a>', '<a>&#x-1;</a>', '<a>&unknown;</a>', '<a>&</a>',
    ]) {
      assert.equal(reasonOf(utf8(doc)), 'malformed-xml', JSON.stringify(doc));
    }
    for (const doc of ['<a>&#x9;&#xA;&#xD;&#x20;&#xD7FF;&#xE000;&#xFFFD;&#x10000;&#x10FFFF;&amp;&lt;&gt;&quot;&apos;</a>', '<a><!-- a & b < c --></a>', '<a><?pi a & b?></a>']) {
      assert.equal(reasonOf(utf8(doc)), 'accepted', JSON.stringify(doc));
    }
  });

  it('names: a control character (xmldom took it for a separator), a leading digit, two colons, a reserved processing-instruction target', () => {
    for (const doc of ['<a\u0001b/>', '<a b\u0001="1"/>', '<1a/>', '<a 1b="1"/>', '<p:a:b xmlns:p="urn:p"/>', '<a :b="1"/>', '<a><?XML x?></a>', '<a><?x:y z?></a>', '<a><?\u0001?></a>']) {
      assert.equal(reasonOf(utf8(doc)), 'malformed-xml', JSON.stringify(doc));
    }
    assert.equal(reasonOf(utf8('<Tệp:Đơn xmlns:Tệp="urn:t" Tệp:số="1" a.b-c="2"><?xml-stylesheet href="x"?></Tệp:Đơn>')), 'accepted');
  });

  it('duplicate attributes by expanded name, whatever their prefixes (xmldom kept one of them silently)', () => {
    const xlink = 'http://www.w3.org/1999/xlink';
    const accepted = [
      `<a xmlns:xlink="${xlink}" xmlns:evil="${xlink}" xlink:href="x" evil:href="y"/>`,
      `<a xmlns:xlink="${xlink}" xmlns:evil="http://www.w3.org/1999/xlin&#x6B;"><b evil:href="y" xlink:href="x"/></a>`, // the same namespace through a reference
      `<a xmlns:p="urn:u"><b xmlns:q="urn:u" p:x="1" q:x="2"/></a>`,
      '<a x="1" x="2"/>',
      '<a xmlns:p="urn:u" xmlns:p="urn:u"/>',
    ].filter((doc) => reasonOf(utf8(doc)) !== 'malformed-xml');
    assert.deepEqual(accepted, []);
    assert.equal(reasonOf(utf8(`<a xmlns:p="urn:u" xmlns:q="urn:v" p:x="1" q:x="2" x="3"/>`)), 'accepted');
  });

  it('namespace bindings Namespaces in XML 1.0 forbids', () => {
    for (const doc of ['<a xmlns:p=""/>', '<a xmlns:xmlns="urn:x"/>', '<a xmlns:xml="urn:x"/>', '<a xmlns:p="http://www.w3.org/XML/1998/namespace"/>', '<a xmlns="http://www.w3.org/2000/xmlns/"/>']) {
      assert.equal(reasonOf(utf8(doc)), 'malformed-xml', doc);
    }
    assert.equal(reasonOf(utf8('<a xmlns:xml="http://www.w3.org/XML/1998/namespace" xmlns=""/>')), 'accepted');
  });

  it('line ends as XML 1.0 has them: U+0085, U+2028 and U+2029 stay (xmldom made them LF, as XML 1.1 does)', () => {
    const doc = parseXml(utf8('<a b="x\u2028y">1\u00852\u20283\u20294\r\n5\r6</a>')).document.documentElement!;
    assert.equal(doc.textContent, '1\u00852\u20283\u20294\n5\n6');
    assert.equal(doc.getAttribute('b'), 'x\u2028y');
  });
});
