/**
 * Interoperability with xmlsec1 (Debian `xmlsec1`), both ways (DESIGN.md §5):
 * xmlsec1 verifies what the connector signs, and the connector verifies what xmlsec1 signs with
 * exclusive and with inclusive C14N. xmlsec1 always runs with `--enabled-key-data x509`, without
 * which it would accept a key the document carries (TOOLING.md §3 pitfall).
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Rejection } from '../../src/errors';
import { signPackage, verifyPackage, type TrustStore } from '../../src/signature';
import { sampleFiles, REPO_ROOT } from '../support/paths';
import { makeTestPki, ORGAN_A80, ORGAN_H41, type TestCredential, type TestPki } from '../support/pki';
import { credentials, packageFrom, trustFor, withoutPlaceholder } from '../support/signature-fixtures';
import { xmlsecTemplate as template } from '../support/xmlsec1';
import { randomFragment } from '../support/random-xml';
import fc from 'fast-check';

const EXC = 'http://www.w3.org/2001/10/xml-exc-c14n#';
const INC = 'http://www.w3.org/TR/2001/REC-xml-c14n-20010315';

function xmlsec1(...args: string[]): { code: number; output: string } {
  const r = spawnSync('xmlsec1', args, { encoding: 'utf8' });
  if (r.error) throw r.error;
  return { code: r.status ?? -1, output: `${r.stdout}${r.stderr}` };
}

describe('signature: interoperability with xmlsec1', function () {
  this.timeout(300_000);
  let pki: TestPki;
  let trust: TrustStore;
  let dir: string;
  const write = (name: string, content: string | Buffer) => {
    const p = path.join(dir, name);
    fs.writeFileSync(p, content);
    return p;
  };
  const xmlsecVerify = (file: string) => xmlsec1('--verify', '--trusted-pem', pki.rootCaPath, '--enabled-key-data', 'x509', file);
  const xmlsecSign = (xml: string, signer: TestCredential, name: string) => {
    const out = path.join(dir, `${name}.signed.xml`);
    const keys = [signer.keyPath, signer.certPath, ...(signer.chainPath ? [signer.chainPath] : [])].join(',');
    const r = xmlsec1('--sign', '--privkey-pem', keys, '--output', out, write(`${name}.tmpl.xml`, xml));
    assert.equal(r.code, 0, r.output);
    return fs.readFileSync(out);
  };

  before(async function () {
    if (spawnSync('xmlsec1', ['--version']).status !== 0) this.skip();
    pki = await makeTestPki();
    trust = await trustFor(pki);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vdxp-xmlsec1-'));
  });
  after(() => dir && fs.rmSync(dir, { recursive: true, force: true }));

  it('xmlsec1 verifies what signPackage makes, for every field sample', () => {
    for (const sample of sampleFiles()) {
      const name = path.basename(sample);
      const signed = write(`ours-${name}`, signPackage(Buffer.from(packageFrom(ORGAN_H41, sample)), credentials(pki.h41)));
      const r = xmlsecVerify(signed);
      assert.equal(r.code, 0, `${name}: ${r.output}`);
    }
  });

  it('xmlsec1 builds the chain through the intermediate signPackage puts in KeyInfo', () => {
    const signed = write('ours-a80.xml', signPackage(Buffer.from(packageFrom(ORGAN_A80)), credentials(pki.a80)));
    assert.equal(xmlsecVerify(signed).code, 0);
  });

  it('xmlsec1 refuses what it should: tampered, and signed by the self-signed attacker', () => {
    const signed = signPackage(Buffer.from(packageFrom(ORGAN_H41)), credentials(pki.h41)).toString();
    assert.notEqual(xmlsecVerify(write('tampered.xml', signed.replace('UBND Tỉnh Nghệ An', 'Attacker'))).code, 0);
    const attacker = signPackage(Buffer.from(packageFrom(ORGAN_H41)), credentials(pki.attacker));
    assert.notEqual(xmlsecVerify(write('attacker.xml', attacker)).code, 0);
  });

  for (const [label, c14n] of [['exclusive', EXC], ['inclusive', INC]] as const) {
    it(`verifyPackage accepts what xmlsec1 signs with ${label} C14N`, () => {
      const unsigned = withoutPlaceholder(packageFrom(ORGAN_H41)).replace(/(\s*)<\/edXML:edXMLHeader>/, `$1${template(c14n)}</edXML:edXMLHeader>`);
      const signed = xmlsecSign(unsigned, pki.h41, `theirs-${label}`);
      assert.equal(xmlsecVerify(write(`theirs-${label}.check.xml`, signed)).code, 0, 'xmlsec1 accepts its own output');
      const outcome = verifyPackage(signed, trust);
      assert.ok(outcome.status === 'valid' && outcome.signer.organId === ORGAN_H41);
      try {
        verifyPackage(Buffer.from(signed.toString().replace('UBND Tỉnh Nghệ An', 'Attacker')), trust);
        assert.fail('a tampered xmlsec1 signature was accepted');
      } catch (err) {
        assert.ok(err instanceof Rejection && err.reason === 'digest-mismatch', String(err));
      }
    });
  }

  it('verifyPackage accepts an xmlsec1 signature written with a ds: prefix', () => {
    const unsigned = withoutPlaceholder(packageFrom(ORGAN_H41)).replace(/(\s*)<\/edXML:edXMLHeader>/, `$1${template(EXC, 'ds')}</edXML:edXMLHeader>`);
    const signed = xmlsecSign(unsigned, pki.h41, 'theirs-ds');
    assert.match(signed.toString(), /<ds:SignatureValue>/);
    assert.equal(verifyPackage(signed, trust).status, 'valid');
  });

  it('vdxp verify (the CLI) accepts an xmlsec1 signature with an intermediate, on a large field sample', () => {
    const sample = sampleFiles().find((f) => path.basename(f) === 'vxp-sdk-example__edoc_new.edxml')!;
    const unsigned = withoutPlaceholder(packageFrom(ORGAN_A80, sample)).replace(/(\s*)<\/edXML:edXMLHeader>/, `$1${template(INC)}</edXML:edXMLHeader>`);
    const signed = write('theirs-a80.xml', xmlsecSign(unsigned, pki.a80, 'theirs-a80'));
    const r = spawnSync(process.execPath, [path.join(REPO_ROOT, 'dist/src/cli/main.js'), 'verify', signed, '--trust', pki.rootCaPath, '--crl', `${pki.crlPath},${pki.intermediateCrlPath}`, '--json'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.equal(JSON.parse(r.stdout).signer.organId, ORGAN_A80);
  });

  describe('the canonical form agrees with libxml2 on what xml-crypto got wrong (issue 13 holes 3, 6, 8)', () => {
    const unsigned = withoutPlaceholder(packageFrom(ORGAN_H41));
    const withTemplate = (xml: string, c14n: string) => xml.replace(/(\s*)<\/edXML:edXMLHeader>/, `$1${template(c14n)}</edXML:edXMLHeader>`);
    /** Both ways: xmlsec1 verifies what signPackage signs, and verifyPackage what xmlsec1 signs (exclusive and inclusive). */
    const bothWays = (label: string, xml: string) => {
      const ours = write(`ours-${label}.xml`, signPackage(Buffer.from(xml), credentials(pki.h41)));
      const r = xmlsecVerify(ours);
      assert.equal(r.code, 0, `xmlsec1 refuses what signPackage signed (${label}): ${r.output}`);
      for (const c14n of [EXC, INC]) {
        const theirs = xmlsecSign(withTemplate(xml, c14n), pki.h41, `theirs-${label}`);
        assert.equal(verifyPackage(theirs, trust).status, 'valid', `verifyPackage refuses what xmlsec1 signed with ${c14n} (${label})`);
      }
    };

    it('hole 3: a Content with &#xD; before a newline (.NET CRLF)', () => {
      bothWays('cr', unsigned.replace(/(<edXML:Content>[^<]*)/, '$1&#xD;\r\nDòng hai&#xD;\r\nDòng ba'));
    });

    it('hole 8: an element with xmlns="" and children, under the edXML default namespace', () => {
      bothWays('xmlns-empty', unsigned.replace('</edXML:MessageHeader>', '<Extension xmlns=""><Note>ghi chú</Note><Note a="1"><Sub/></Note></Extension></edXML:MessageHeader>'));
    });

    it('hole 6: an <?xml-stylesheet?> before the root, processing instructions after it and in the text', () => {
      const xml = unsigned
        .replace('<?xml version="1.0" encoding="UTF-8"?>', '<?xml version="1.0" encoding="UTF-8"?>\n<?xml-stylesheet type="text/xsl" href="edxml.xsl"?>\n<!-- a comment before the root -->')
        .replace(/(<edXML:Subject>[^<]*)/, '$1<?vdxp-note  giữ nguyên  ?><?empty?>')
        .trimEnd()
        .concat('\n<?after the root?>\n');
      bothWays('pi', xml);
    });

    it('hole 6: an <?xml-stylesheet?> added to an xmlsec1-signed package is refused by both', () => {
      const signed = xmlsecSign(withTemplate(unsigned, EXC), pki.h41, 'theirs-pi-added').toString('utf8');
      const added = signed.replace(/^(<\?xml[^>]*\?>)/, '$1\n<?xml-stylesheet type="text/xsl" href="http://attacker.example/x.xsl"?>');
      assert.notEqual(added, signed);
      assert.notEqual(xmlsecVerify(write('theirs-pi-added.check.xml', added)).code, 0);
      try {
        verifyPackage(Buffer.from(added), trust);
        assert.fail('accepted');
      } catch (err) {
        assert.ok(err instanceof Rejection && err.reason === 'digest-mismatch', String(err));
      }
    });

    it('namespace and attribute order by code point, xmlns-like attribute names, and xml:lang above an inclusive SignedInfo', () => {
      bothWays(
        'order',
        unsigned
          .replace('<edXML xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016">', '<edXML xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016" xml:lang="vi">')
          .replace('</edXML:MessageHeader>', '<x:Ext xmlns:x="urn:x" xmlns:B="urn:b" xmlns:a="urn:a" xmlns:ab="urn:a" a:y="1" B:z="2" ab:a="3" xmlnsNote="4" c="5"/></edXML:MessageHeader>'),
      );
    });

    it('a namespace name with &: xmlsec1 verifies its own signature (libxml2 canonicalizes & as &#38;), the connector refuses it (a known difference)', () => {
      const xml = unsigned.replace('</edXML:MessageHeader>', '<x:Ext xmlns:x="urn:x?a&amp;b"/></edXML:MessageHeader>');
      const theirs = xmlsecSign(withTemplate(xml, EXC), pki.h41, 'theirs-amp');
      assert.equal(xmlsecVerify(write('theirs-amp.check.xml', theirs)).code, 0);
      for (const attempt of [() => verifyPackage(theirs, trust), () => signPackage(Buffer.from(xml), credentials(pki.h41))]) {
        try {
          attempt();
          assert.fail('accepted');
        } catch (err) {
          assert.ok(err instanceof Rejection && err.reason === 'malformed-xml' && /not an absolute URI/.test(err.detail), String(err));
        }
      }
    });

    it('random namespace, attribute, text and processing-instruction structures: both ways, both canonicalizations', () => {
      fc.assert(
        fc.property(fc.integer(), (seed) => {
          const fragment = randomFragment(seed);
          bothWays(`random-${seed}`, unsigned.replace('</edXML:MessageHeader>', `${fragment}</edXML:MessageHeader>`));
        }),
        { numRuns: 25 },
      );
    });
  });
});
