/**
 * The hostile corpus (issues 4 and 13, test/support/hostile-packages.ts): every case is a package
 * an attacker, or a broken sender, could put on the backbone, each expecting its reason code. The
 * same cases go through xmlsec1 in test/integration/signature-differential.test.ts.
 */
import { strict as assert } from 'node:assert';
import { DOMParser } from '@xmldom/xmldom';
import { SignedXml } from 'xml-crypto';
import * as fs from 'node:fs';
import * as iconv from 'iconv-lite';
import { loadTrustStore, type TrustStore } from '../../../src/signature';
import { agencySubject, buildCase, G2_ISSUING_EXT, ISSUING_SUBJECT, LEAF_EXT, ROOT_EXT, ROOT_SUBJECT } from '../../support/chain-corpus';
import { hostileCorpus, verdictOf, type HostileCase } from '../../support/hostile-packages';
import { makeTestPki, ORGAN_G22, ORGAN_H41 } from '../../support/pki';
import { packageFrom, signWithXmlCrypto, trustFor, withoutPlaceholder } from '../../support/signature-fixtures';

/** xml-crypto's own check with the genuine certificate pinned: shows a case is a real bypass, not a broken file. */
function xmlCryptoAccepts(xml: string, certPem: string): boolean {
  const doc = new DOMParser().parseFromString(xml, 'text/xml');
  const sig = new SignedXml({ publicCert: certPem });
  sig.loadSignature(sig.findSignatures(doc as never)[0]!);
  try {
    return sig.checkSignature(xml);
  } catch {
    return false;
  }
}

describe('signature: hostile corpus', function () {
  this.timeout(60_000);
  let trust: TrustStore;
  let corpus: HostileCase[];
  before(async () => {
    const pki = await makeTestPki();
    trust = await trustFor(pki);
    corpus = await hostileCorpus(pki);
  });
  const byName = (name: string) => {
    const c = corpus.find((k) => k.name === name);
    if (!c) throw new Error(`no case ${name}`);
    return c;
  };

  it('every case gets its verdict (the reason code, or accepted and by whom)', () => {
    const wrong = corpus
      .map((c) => ({ c, got: verdictOf(c, trust) }))
      .filter(({ c, got }) => got.verdict !== c.expected || (c.signer !== undefined && got.signer !== c.signer))
      .map(({ c, got }) => `${c.group}: ${c.name}: expected ${c.expected}, got ${got.verdict}${got.detail ? ` (${got.detail})` : ''}`);
    assert.deepEqual(wrong, []);
    assert.ok(corpus.length >= 60, `${corpus.length} cases`);
  });

  it('the crafted signatures are cryptographically sound: xml-crypto alone accepts them', () => {
    const sound = corpus.filter((c) => c.xmlCryptoAcceptsWith);
    assert.ok(sound.length >= 3);
    for (const c of sound) assert.ok(xmlCryptoAccepts(c.bytes.toString('utf8'), c.xmlCryptoAcceptsWith!), c.name);
  });

  describe('certificate paths (issue 13 hole 2)', () => {
    it('an agency certificate mis-issued CA:TRUE under a pathlen:0 issuing CA mints UID=000.00.00.G22 and signs as G22: untrusted-chain', async () => {
      const attack = await buildCase([
        { name: 'root', subject: ROOT_SUBJECT, ext: ROOT_EXT },
        { name: 'issuing', issuer: 'root', subject: ISSUING_SUBJECT, ext: G2_ISSUING_EXT },
        { name: 'misissued', issuer: 'issuing', subject: agencySubject(ORGAN_H41, 'UBND Tinh Nghe An'), ext: LEAF_EXT.replace('CA:FALSE', 'CA:TRUE').replace('digitalSignature,nonRepudiation', 'digitalSignature,keyCertSign') },
        { name: 'leaf', issuer: 'misissued', subject: agencySubject(ORGAN_G22), ext: LEAF_EXT },
      ]);
      const nationalTrust = await loadTrustStore({ anchors: [attack.anchorPath], crls: attack.crlPaths });
      const forged = signWithXmlCrypto(withoutPlaceholder(packageFrom(ORGAN_G22)), {
        keyPem: fs.readFileSync(attack.leafKeyPath),
        certPem: fs.readFileSync(attack.leafPath),
        chainPem: attack.chainPem,
      });
      assert.ok(xmlCryptoAccepts(forged, fs.readFileSync(attack.leafPath, 'utf8')), 'the forged signature is cryptographically sound');
      assert.equal(verdictOf({ bytes: Buffer.from(forged) }, nationalTrust).verdict, 'untrusted-chain');
    });
  });

  describe('one package, two readings (issue 13 hole 1)', () => {
    it("the UTF-7 wrapping: the UTF-7 reading is G22's signed package, the UTF-8 reading the attacker's; refused as unsupported-encoding", () => {
      const wrapped = byName("a package G22 signed, wrapped so that its UTF-7 reading verifies and its UTF-8 reading is the attacker's");
      const subjectOf = (text: string) => new DOMParser().parseFromString(text, 'text/xml').getElementsByTagNameNS('*', 'Subject').item(0)?.textContent;
      const utf7Reading = iconv.decode(wrapped.bytes, 'utf7');
      assert.equal(subjectOf(utf7Reading.replace(/^<\?xml[^>]*\?>/, '')), 'V/v kết nối, liên thông phần mềm quản lý văn bản');
      assert.match(utf7Reading, new RegExp(`<edXML:OrganId>${ORGAN_G22}</edXML:OrganId>`));
      assert.equal(subjectOf(wrapped.bytes.toString('utf8')), 'Lệnh chuyển tiền khẩn');
      const got = verdictOf(wrapped, trust);
      assert.equal(got.verdict, 'unsupported-encoding');
      assert.match(got.detail!, /declares encoding="UTF-7"/);
    });

    it('a declaration is read wherever it ends: the padded ISO-8859-1 one names its encoding in the refusal', () => {
      const late = byName('an encoding declared past the first 512 bytes (ISO-8859-1)');
      assert.ok(late.bytes.indexOf('?>') > 512);
      assert.match(verdictOf(late, trust).detail!, /ISO-8859-1/);
    });
  });
});
