import { strict as assert } from 'node:assert';
import * as iconv from 'iconv-lite';
import { DEFAULT_LIMITS, withDefaults, type Limits } from '../../../src/limits';
import { assertXmlWithinLimits, parseXml, parseXmlDocument } from '../../../src/edxml/safe-xml';
import { cacheXmldomRegexes } from '../../../src/edxml/xmldom-regex-cache';
import { refusal } from '../../support/rejection';

const buf = (s: string): Buffer => Buffer.from(s, 'utf8');

describe('edxml safe-xml', () => {
  it('refuses DTDs and entity declarations before parsing', () => {
    for (const doc of [
      '<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x "y">]><a>&x;</a>',
      '<!DOCTYPE a SYSTEM "http://example.invalid/a.dtd"><a/>',
      '<!doctype a><a/>',
      '<a><!ENTITY x "y"></a>',
      '<a><!ELEMENT a ANY></a>',
    ]) {
      const r = refusal(() => assertXmlWithinLimits(buf(doc), DEFAULT_LIMITS));
      assert.equal(r.reason, 'dtd-forbidden', doc);
    }
  });

  const limitCases: Array<[keyof Limits, string, Partial<Limits>]> = [
    ['maxPackageBytes', `<a>${'x'.repeat(100)}</a>`, { maxPackageBytes: 50 }],
    ['maxXmlDepth', `${'<a>'.repeat(11)}${'</a>'.repeat(11)}`, { maxXmlDepth: 10 }],
    ['maxXmlElements', `<r>${'<a/>'.repeat(100)}</r>`, { maxXmlElements: 100 }],
    ['maxXmlAttributesPerElement', `<a ${Array.from({ length: 5 }, (_, i) => `a${i}="1"`).join(' ')}/>`, { maxXmlAttributesPerElement: 4 }],
    ['maxTextLength', `<a>${'ệ'.repeat(11)}</a>`, { maxTextLength: 10 }],
    ['maxTextLength', `<a b="${'x'.repeat(11)}"/>`, { maxTextLength: 10 }],
    ['maxTextLength', `<a><![CDATA[${'x'.repeat(11)}]]></a>`, { maxTextLength: 10 }],
    ['maxTextLength', `<a><!--${'x'.repeat(11)}--></a>`, { maxTextLength: 10 }],
    ['maxAttachmentBytes', `<a><x:ContentTransferEncoded xmlns:x="q">${'QUFB'.repeat(10)}</x:ContentTransferEncoded></a>`, { maxAttachmentBytes: 29 }],
    [
      'maxTotalAttachmentBytes',
      `<a><ContentTransferEncoded>${'QUFB'.repeat(10)}</ContentTransferEncoded><ContentTransferEncoded>${'QUFB'.repeat(10)}</ContentTransferEncoded></a>`,
      { maxTotalAttachmentBytes: 59 },
    ],
  ];
  for (const [key, doc, partial] of limitCases) {
    it(`enforces limits.${key} with its own reason (${doc.slice(0, 30)}…)`, () => {
      const r = refusal(() => parseXmlDocument(buf(doc), withDefaults(partial)));
      assert.equal(r.reason, 'limit-exceeded');
      assert.equal(r.limit, `limits.${key}`);
      // Exactly at the limit passes.
    });
  }

  it('accepts documents exactly at their limits', () => {
    parseXmlDocument(buf(`${'<a>'.repeat(10)}${'</a>'.repeat(10)}`), withDefaults({ maxXmlDepth: 10 }));
    parseXmlDocument(buf(`<a>${'ệ'.repeat(10)}</a>`), withDefaults({ maxTextLength: 10 }));
    parseXmlDocument(buf(`<a>${'&amp;'.repeat(10)}</a>`), withDefaults({ maxTextLength: 10 }));
    parseXmlDocument(buf(`<a><ContentTransferEncoded>${'QUFB'.repeat(10)}</ContentTransferEncoded></a>`), withDefaults({ maxAttachmentBytes: 30, maxTextLength: 5 }));
  });

  it('every limit has a default', () => {
    for (const [k, v] of Object.entries(DEFAULT_LIMITS)) assert.ok(Number.isInteger(v) && v > 0, k);
  });

  it('turns every parser complaint into malformed-xml', () => {
    for (const doc of ['', '   ', '<a>', '<a></b>', '<a><b></a></b>', '<a/><b/>', 'text', '<a>&foo;</a>', '<a x=1/>', '<a x="1" x="2"/>', '<a>\u0001</a>', '<p:a/>', '<a><?xml version="1.0"?></a>', '<a>&</a>']) {
      const r = refusal(() => parseXmlDocument(buf(doc), DEFAULT_LIMITS));
      assert.equal(r.reason, 'malformed-xml', JSON.stringify(doc));
    }
    const r = refusal(() => parseXmlDocument(Buffer.from([0x3c, 0x61, 0x3e, 0xff, 0x3c, 0x2f, 0x61, 0x3e]), DEFAULT_LIMITS));
    assert.equal(r.reason, 'malformed-xml');
  });

  it('repairs an undeclared xlink: prefix by declaring it on the root', () => {
    const { document, repairs } = parseXml(buf('<a xmlns="q"><b xlink:href="cid:1"/></a>'));
    assert.deepEqual(repairs, ['xlink-namespace-declared']);
    const b = document.documentElement!.firstChild as unknown as { getAttributeNS(ns: string, n: string): string };
    assert.equal(b.getAttributeNS('http://www.w3.org/1999/xlink', 'href'), 'cid:1');
    // A declared prefix is left alone.
    assert.deepEqual(parseXml(buf('<a xmlns:xlink="http://www.w3.org/1999/xlink"><b xlink:href="x"/></a>')).repairs, []);
  });

  it('reads UTF-16 with a byte-order mark as text, and refuses a declared legacy encoding (unsupported-encoding)', () => {
    const text = '<?xml version="1.0" encoding="UTF-16"?><a>Hà Nội</a>';
    const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]);
    assert.equal(parseXmlDocument(utf16).documentElement!.textContent, 'Hà Nội');
    const latin = iconv.encode('<?xml version="1.0" encoding="windows-1258"?><a>Hà</a>', 'windows-1258');
    assert.equal(refusal(() => parseXmlDocument(latin)).reason, 'unsupported-encoding');
    const bom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), buf('<a>x</a>')]);
    assert.equal(parseXmlDocument(bom).documentElement!.textContent, 'x');
  });

  it('can leave attachment text out of the DOM and locate it in the bytes', () => {
    const b64 = Buffer.from('hello attachment').toString('base64');
    const doc = `<a><X:ContentTransferEncoded xmlns:X="q">${b64}</X:ContentTransferEncoded><ContentTransferEncoded/></a>`;
    const { document, scan } = parseXml(buf(doc), DEFAULT_LIMITS, { omitAttachmentText: true });
    assert.equal(document.documentElement!.textContent, '');
    assert.equal(scan.attachmentTexts.length, 2);
    const r = scan.attachmentTexts[0]!;
    assert.equal(scan.bytes.toString('latin1', r.start, r.end), b64);
    assert.equal(r.decodedBytes, 16);
    assert.equal(r.plain && r.compact, true);
  });

  it('scans a large attachment in linear time', () => {
    const big = Buffer.concat([buf('<a><ContentTransferEncoded>'), Buffer.alloc(32 * 1024 * 1024, 0x41), buf('</ContentTransferEncoded></a>')]);
    const t0 = process.hrtime.bigint();
    const { scan } = parseXml(big, DEFAULT_LIMITS, { omitAttachmentText: true });
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    assert.equal(scan.attachmentTexts[0]!.decodedBytes, 24 * 1024 * 1024);
    assert.ok(ms < 5000, `took ${ms} ms`);
  });
});

describe('edxml safe-xml: the xmldom end-tag expression cache (issue 7)', () => {
  it('finds xmldom\'s grammar and hands out one expression per argument list, so the speed-up is not silently lost on an upgrade', () => {
    assert.equal(cacheXmldomRegexes(), true);
    const grammar = require('@xmldom/xmldom/lib/grammar') as { reg: (...parts: Array<string | RegExp>) => RegExp; QName_group: RegExp; S_OPT: RegExp };
    const first = grammar.reg('^', grammar.QName_group, grammar.S_OPT, '$');
    assert.equal(grammar.reg('^', grammar.QName_group, grammar.S_OPT, '$'), first);
    assert.equal(first.global || first.sticky, false, 'stateless, so sharing it is safe');
    assert.equal(parseXmlDocument(Buffer.from('<a:x xmlns:a="urn:a"><b>1</b><c /></a:x >')).documentElement!.localName, 'x');
  });
});
