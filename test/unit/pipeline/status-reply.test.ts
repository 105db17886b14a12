/**
 * Issue 14 point 4: the reader refuses every character XML 1.0 forbids, and the status writer
 * never throws on a package the reader accepted. Before, `&#x1;` in a DocumentId was read, and
 * writing status 01 or 02 for it then threw: the record was retried forever.
 */
import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { Rejection } from '../../../src/errors';
import { withDefaults } from '../../../src/limits';
import { readPackage } from '../../../src/edxml/reader';
import { readPackageFacts } from '../../../src/pipeline/package-facts';
import { statusReply, targetOf } from '../../../src/pipeline/statuses';
import type { StatusPackage } from '../../../src/edxml/model';
import { makeEdoc } from '../../support/packages';

const SENDER = '000.00.00.H41';
const US = '000.00.00.G22';
const limits = withDefaults();

/** Code points worth trying: ordinary, Vietnamese, XML specials, and every class XML 1.0 forbids. */
const codePoint = fc.oneof(
  { weight: 12, arbitrary: fc.integer({ min: 0x20, max: 0x7e }) },
  { weight: 2, arbitrary: fc.constantFrom(0x1ec7, 0xe0, 0x1ea1, 0x111, 0x1f600, 0x10ffff, 0xfffd, 0xe000, 0x85, 0x7f, 0x2028) },
  { weight: 2, arbitrary: fc.constantFrom(0x09, 0x0a, 0x0d, 0x20, 0xa0, 0xfeff) },
  { weight: 1, arbitrary: fc.constantFrom(0x26, 0x3c, 0x3e, 0x22, 0x27, 0x5d) },
  // Forbidden: C0 controls, U+FFFE/U+FFFF, surrogates.
  { weight: 1, arbitrary: fc.constantFrom(0x00, 0x01, 0x08, 0x0b, 0x0c, 0x1f, 0xfffe, 0xffff, 0xd800, 0xdbff, 0xdc00, 0xdfff) },
);

/** How one character is written into the package: raw (as UTF-8, even where that is not UTF-8), or as a reference. */
const written = fc.tuple(codePoint, fc.constantFrom('raw', 'hex', 'dec')).map(([cp, how]) => {
  if (how === 'hex') return Buffer.from(`&#x${cp.toString(16)};`);
  if (how === 'dec') return Buffer.from(`&#${cp};`);
  if (cp === 0x26) return Buffer.from('&amp;');
  if (cp === 0x3c) return Buffer.from('&lt;');
  if (cp >= 0xd800 && cp <= 0xdfff) return Buffer.from([0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f)]); // a surrogate "encoded" as if it were a character
  return Buffer.from(String.fromCodePoint(cp), 'utf8');
});
const fieldText = fc.array(written, { minLength: 1, maxLength: 6 }).map((parts) => Buffer.concat(parts));

/** The package the writer makes, with the text of `element` replaced by `text` (bytes as given). */
function withField(pkg: Buffer, element: string, text: Buffer): Buffer {
  const xml = pkg.toString('latin1');
  const open = `<edXML:${element}>`;
  const at = xml.indexOf(open);
  assert.ok(at >= 0, `no ${element}`);
  const end = xml.indexOf(`</edXML:${element}>`, at);
  return Buffer.concat([pkg.subarray(0, at + open.length), text, pkg.subarray(end)]);
}

describe('status reply: a package the reader accepts can always be answered (issue 14, point 4)', function () {
  this.timeout(120_000);
  const base = makeEdoc({ from: SENDER, to: [US], number: 42 });

  it('DocumentId, CodeNumber, CodeNotation and Subject holding any characters, raw or referenced: read and refused as malformed-xml, or answered with 01 and 02', () => {
    let accepted = 0;
    let refused = 0;
    fc.assert(
      fc.property(fieldText, fieldText, fieldText, fieldText, fc.string({ unit: 'binary', maxLength: 40 }), (documentId, codeNumber, codeNotation, subject, detail) => {
        let bytes = withField(base, 'DocumentId', documentId);
        bytes = withField(bytes, 'CodeNumber', codeNumber);
        bytes = withField(bytes, 'CodeNotation', codeNotation);
        bytes = withField(bytes, 'Subject', subject);
        let facts;
        try {
          facts = readPackageFacts(bytes, limits);
        } catch (err) {
          assert.ok(err instanceof Rejection, String(err));
          refused++;
          return;
        }
        accepted++;
        for (const [code, description] of [['01', 'Đã đến'], ['02', `Từ chối tiếp nhận: ${detail}`]] as const) {
          const status = statusReply(targetOf(facts), { organId: US }, code, description, new Date('2026-11-23T08:00:00Z'));
          const back = readPackage(status) as StatusPackage;
          assert.equal(back.kind, 'status');
          assert.equal(back.responseFor.documentId, facts.documentId);
          assert.equal(back.statusCode, code);
        }
      }),
      { numRuns: 400 },
    );
    assert.ok(accepted > 20 && refused > 20, `both outcomes exercised (accepted ${accepted}, refused ${refused})`);
  });

  it('each forbidden character, raw or as a reference, in DocumentId is refused as malformed-xml', () => {
    const cases: Array<[string, Buffer]> = [
      ['&#x1;', Buffer.from('A&#x1;B')],
      ['&#0;', Buffer.from('A&#0;B')],
      ['&#xFFFF;', Buffer.from('A&#xFFFF;B')],
      ['&#xFFFE;', Buffer.from('A&#xFFFE;B')],
      ['&#xD800;', Buffer.from('A&#xD800;B')],
      ['&#57343;', Buffer.from('A&#57343;B')],
      ['&#x110000;', Buffer.from('A&#x110000;B')],
      ['&#;', Buffer.from('A&#;B')],
      ['&#x;', Buffer.from('A&#x;B')],
      ['&#12a;', Buffer.from('A&#12a;B')],
      ['raw 0x01', Buffer.from([0x41, 0x01, 0x42])],
      ['raw U+FFFF', Buffer.from('A\uffffB', 'utf8')],
      ['raw U+FFFE', Buffer.from('A\ufffeB', 'utf8')],
      ['raw surrogate', Buffer.from([0x41, 0xed, 0xa0, 0x80, 0x42])],
    ];
    for (const [label, text] of cases) {
      try {
        readPackageFacts(withField(base, 'DocumentId', text), limits);
        assert.fail(`${label} was accepted`);
      } catch (err) {
        assert.ok(err instanceof Rejection && err.reason === 'malformed-xml', `${label}: ${String(err)}`);
      }
    }
  });

  it('a description with characters XML cannot carry (a sink error, a rejection detail) is written with U+FFFD', () => {
    const facts = readPackageFacts(base, limits);
    const status = statusReply(targetOf(facts), { organId: US }, '02', 'HTTP 500: \u0000\u0001\uffff\ud800 end', new Date());
    assert.equal((readPackage(status) as StatusPackage).description, 'HTTP 500: \ufffd\ufffd\ufffd\ufffd end');
  });
});
