/**
 * Canonical XML 1.0 and Exclusive C14N 1.0 (src/signature/c14n.ts) on the cases where xml-crypto
 * 6.3.2's canonicalization, which the connector used before, departs from the recommendations
 * (issue 13 holes 6 and 8, and what reading it turned up). The expected forms follow the W3C
 * texts; test/integration/signature-xmlsec1.test.ts holds the same cases to libxml2's through xmlsec1.
 */
import { strict as assert } from 'node:assert';
import type { Element } from '@xmldom/xmldom';
import { canonicalize } from '../../../src/signature/canonical';
import { C14N_EXCLUSIVE, C14N_INCLUSIVE } from '../../../src/signature/algorithms';
import { parseXml } from '../../../src/edxml/safe-xml';
import { Rejection } from '../../../src/errors';

const parse = (xml: string) => parseXml(Buffer.from(xml, 'utf8')).document;
const exc = (xml: string, prefixes: string[] = []) => canonicalize(parse(xml).documentElement!, C14N_EXCLUSIVE, prefixes);
const inc = (xml: string) => canonicalize(parse(xml).documentElement!, C14N_INCLUSIVE);
const both = (xml: string) => [exc(xml), inc(xml)];

describe('signature: canonical XML (c14n.ts)', () => {
  it('hole 8: the children of an element with xmlns="" get no redundant xmlns="" (exclusive and inclusive)', () => {
    const xml = '<a xmlns="urn:u"><b xmlns=""><c/><d><e/></d></b><f/></a>';
    const expected = '<a xmlns="urn:u"><b xmlns=""><c></c><d><e></e></d></b><f></f></a>';
    assert.deepEqual(both(xml), [expected, expected]);
  });

  it('xmlns="" is rendered only where the output parent has a non-empty default namespace', () => {
    assert.deepEqual(both('<a><b xmlns=""><c/></b></a>'), ['<a><b><c></c></b></a>', '<a><b><c></c></b></a>']);
    assert.deepEqual(both('<p:a xmlns:p="urn:p" xmlns="urn:u"><b xmlns=""/></p:a>'), [
      '<p:a xmlns:p="urn:p"><b></b></p:a>',
      '<p:a xmlns="urn:u" xmlns:p="urn:p"><b xmlns=""></b></p:a>',
    ]);
  });

  it('hole 6: the whole document is processing instructions outside the root, each on its side of a newline, without comments or the XML declaration', () => {
    const doc = parse('<?xml version="1.0" encoding="UTF-8"?>\n<?xml-stylesheet href="a.xsl"?>\n<!-- c -->\n<r>x<!-- y --></r>\n<?after   data  ?>\n<!-- z -->\n');
    const expected = '<?xml-stylesheet href="a.xsl"?>\n<r>x</r>\n<?after data  ?>';
    assert.equal(canonicalize(doc, C14N_EXCLUSIVE), expected);
    assert.equal(canonicalize(doc, C14N_INCLUSIVE), expected);
  });

  it('a processing instruction in content stays one, never becomes text; an empty one is written bare', () => {
    assert.deepEqual(both('<r>Không<?x đồng?> ý<?empty?></r>'), ['<r>Không<?x đồng?> ý<?empty?></r>', '<r>Không<?x đồng?> ý<?empty?></r>']);
  });

  it('attributes whose names merely start with "xmlns" are attributes, not namespace declarations', () => {
    assert.deepEqual(both('<r xmlnsNote="signed"/>'), ['<r xmlnsNote="signed"></r>', '<r xmlnsNote="signed"></r>']);
    assert.equal(exc('<r xmlns:xmlnsp="urn:l" xmlnsp:href="signed"/>'), '<r xmlns:xmlnsp="urn:l" xmlnsp:href="signed"></r>');
  });

  it('namespace declarations sort by prefix and attributes by namespace then local name, by code point', () => {
    const xml = '<r xmlns:a="http://b" xmlns:B="http://a" a:y="1" B:z="2" c="3" xmlns:ab="http://a" ab:a="4"/>';
    // By code point "B" < "a" < "ab" (localeCompare would put "a" before "B"); attributes: no namespace, then http://a (local a, z), then http://b.
    assert.equal(inc(xml), '<r xmlns:B="http://a" xmlns:a="http://b" xmlns:ab="http://a" c="3" ab:a="4" B:z="2" a:y="1"></r>');
    // ("http://a", "bc") sorts before ("http://ab", "a") although "http://abc" > "http://aba".
    assert.equal(exc('<r xmlns:p="http://a" xmlns:q="http://ab" q:a="1" p:bc="2"/>'), '<r xmlns:p="http://a" xmlns:q="http://ab" p:bc="2" q:a="1"></r>');
  });

  it('escapes as C14N requires: CR in text, TAB/LF/CR in attributes, & < > "', () => {
    assert.deepEqual(both('<r a="&#x9;&#xA;&#xD;&amp;&lt;&gt;&quot;">&#xD;&amp;&lt;&gt;"</r>'), [
      '<r a="&#x9;&#xA;&#xD;&amp;&lt;>&quot;">&#xD;&amp;&lt;&gt;"</r>',
      '<r a="&#x9;&#xA;&#xD;&amp;&lt;>&quot;">&#xD;&amp;&lt;&gt;"</r>',
    ]);
  });

  it('exclusive renders what is visibly used, plus the InclusiveNamespaces PrefixList; inclusive every namespace once', () => {
    const xml = '<r xmlns:u="urn:u" xmlns:v="urn:v"><c u:x="1"/><v:d/></r>';
    assert.equal(exc(xml), '<r><c xmlns:u="urn:u" u:x="1"></c><v:d xmlns:v="urn:v"></v:d></r>');
    assert.equal(exc(xml, ['v']), '<r xmlns:v="urn:v"><c xmlns:u="urn:u" u:x="1"></c><v:d></v:d></r>');
    assert.equal(inc(xml), '<r xmlns:u="urn:u" xmlns:v="urn:v"><c u:x="1"></c><v:d></v:d></r>');
    assert.equal(inc('<a xmlns:p="urn:p"><b xmlns:p="urn:p"/></a>'), '<a xmlns:p="urn:p"><b></b></a>', 'a superfluous redeclaration');
  });

  it('a namespace name that is relative, not a URI, or holds & is refused (canonical XML is not defined for it)', () => {
    for (const uri of ['relative', 'urn:Ü', 'http://a b', 'urn:x?a&amp;b', 'urn:a#b#c']) {
      assert.throws(() => exc(`<r xmlns:p="${uri}"/>`), (err: Error) => err instanceof Rejection && err.reason === 'malformed-xml', uri);
    }
    assert.equal(exc('<r xmlns:p="urn:%C3%9C#f" xmlns=""/>'), '<r></r>');
  });

  it('a subtree apex takes its ancestors\' namespaces (and, inclusive, xml:* attributes)', () => {
    const doc = parse('<a xmlns="urn:u" xmlns:p="urn:p" xml:lang="vi"><b><c/></b></a>');
    const b = doc.documentElement!.firstChild as Element;
    assert.equal(canonicalize(b, C14N_INCLUSIVE), '<b xmlns="urn:u" xmlns:p="urn:p" xml:lang="vi"><c></c></b>');
    assert.equal(canonicalize(b, C14N_EXCLUSIVE), '<b xmlns="urn:u"><c></c></b>');
  });
});
