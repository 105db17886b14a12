/**
 * The hostile corpus of issue 4: every case is a package an attacker (or a broken sender) could
 * put on the backbone, each expecting its reason code. Packages are built at test time from a
 * genuine signed package so that each case differs from an accepted one by the attack alone.
 */
import { strict as assert } from 'node:assert';
import { DOMParser, XMLSerializer, type Element } from '@xmldom/xmldom';
import { SignedXml } from 'xml-crypto';
import * as fs from 'node:fs';
import { Rejection } from '../../../src/errors';
import { signPackage, verifyPackage, type TrustStore } from '../../../src/signature';
import { makeTestPki, ORGAN_G22, ORGAN_H41, type TestPki } from '../../support/pki';
import { agencySubject, buildCase, G2_ISSUING_EXT, ISSUING_SUBJECT, LEAF_EXT, ROOT_EXT, ROOT_SUBJECT } from '../../support/chain-corpus';
import { loadTrustStore } from '../../../src/signature';
import { credentials, packageFrom, replaceOnce, signWithXmlCrypto, trustFor, withoutPlaceholder } from '../../support/signature-fixtures';

const DSIG = 'http://www.w3.org/2000/09/xmldsig#';
const ENVELOPE_XPATH = "/*/*[local-name()='edXMLEnvelope']";

function reasonOf(bytes: string | Buffer, trust: TrustStore): string {
  try {
    verifyPackage(Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes), trust);
  } catch (err) {
    if (err instanceof Rejection) return err.reason;
    throw err;
  }
  return 'accepted';
}

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
  this.timeout(30_000);
  let pki: TestPki;
  let trust: TrustStore;
  let genuine: string;
  let h41Cert: string;
  before(async () => {
    pki = await makeTestPki();
    trust = await trustFor(pki);
    genuine = signPackage(Buffer.from(packageFrom(ORGAN_H41)), credentials(pki.h41)).toString('utf8');
    h41Cert = fs.readFileSync(pki.h41.certPath, 'utf8');
  });

  it('the genuine package every case starts from is accepted', () => {
    assert.equal(reasonOf(genuine, trust), 'accepted');
  });

  describe('keys carried by the document (CVE-2024-32962 class)', () => {
    it('an attacker re-signs with a self-signed certificate carrying the agency subject: untrusted-chain', () => {
      const forged = signWithXmlCrypto(withoutPlaceholder(packageFrom(ORGAN_H41)).replace('UBND Tỉnh Nghệ An', 'Attacker'), credentials(pki.attacker));
      assert.ok(xmlCryptoAccepts(forged, fs.readFileSync(pki.attacker.certPath, 'utf8')), 'the forged signature is cryptographically sound');
      assert.equal(reasonOf(forged, trust), 'untrusted-chain');
    });

    it('an attacker signs and ships only a KeyValue: untrusted-chain', () => {
      const forged = signWithXmlCrypto(withoutPlaceholder(packageFrom(ORGAN_H41)), credentials(pki.attacker), { keyInfo: 'key-value' });
      assert.match(forged, /<KeyValue>/);
      assert.equal(reasonOf(forged, trust), 'untrusted-chain');
    });

    it('an attacker signs with its key but ships the genuine certificate: bad-signature', () => {
      const forged = signWithXmlCrypto(withoutPlaceholder(packageFrom(ORGAN_H41)), credentials(pki.attacker), { keyInfoCertPem: h41Cert });
      assert.equal(reasonOf(forged, trust), 'bad-signature');
    });
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
      assert.equal(reasonOf(forged, nationalTrust), 'untrusted-chain');
    });
  });

  describe('wrapping', () => {
    it('two signatures (a copy of the genuine one inside the body): multiple-signatures', () => {
      const signature = /<Signature xmlns=[\s\S]*<\/Signature>/.exec(genuine)![0];
      const twice = replaceOnce(genuine, '</edXML:edXMLManifest>', `</edXML:edXMLManifest>${signature}`);
      assert.equal(reasonOf(twice, trust), 'multiple-signatures');
    });

    it('a second SignedInfo with the attacker\'s references (CVE-2025-29774): bad-signature', () => {
      const tampered = genuine.replace('UBND Tỉnh Nghệ An', 'Attacker');
      const forgedSignedInfo = /<SignedInfo>[\s\S]*<\/SignedInfo>/.exec(signWithXmlCrypto(withoutPlaceholder(packageFrom(ORGAN_H41)).replace('UBND Tỉnh Nghệ An', 'Attacker'), credentials(pki.attacker)))![0];
      const forged = replaceOnce(tampered, '</SignedInfo>', `</SignedInfo>${forgedSignedInfo}`);
      assert.equal(reasonOf(forged, trust), 'bad-signature');
    });

    it('an Id-based reference covering only the envelope (attachments left out): reference-not-whole-document', () => {
      const envelopeOnly = signWithXmlCrypto(withoutPlaceholder(packageFrom(ORGAN_H41)), credentials(pki.h41), { referenceXpath: ENVELOPE_XPATH });
      assert.match(envelopeOnly, /<Reference URI="#_0"/);
      // The attachment is outside the envelope, so changing it keeps xml-crypto's own check happy.
      const swappedAttachment = envelopeOnly.replace(/(<edXML:ContentTransferEncoded[^>]*>)[^<]{8}/, '$1AAAAAAAA');
      assert.ok(xmlCryptoAccepts(swappedAttachment, h41Cert));
      assert.equal(reasonOf(swappedAttachment, trust), 'reference-not-whole-document');
    });

    it('the signed envelope hidden behind a forged one: reference-not-whole-document', () => {
      const signed = signWithXmlCrypto(withoutPlaceholder(packageFrom(ORGAN_H41)), credentials(pki.h41), { referenceXpath: ENVELOPE_XPATH });
      const doc = new DOMParser().parseFromString(signed, 'text/xml');
      const envelope = doc.documentElement!.getElementsByTagNameNS('*', 'edXMLEnvelope').item(0)!;
      const hidden = envelope.cloneNode(true) as Element;
      const hiddenSignature = hidden.getElementsByTagNameNS(DSIG, 'Signature').item(0)!;
      hiddenSignature.parentNode!.removeChild(hiddenSignature);
      envelope.removeAttribute('Id');
      const subject = envelope.getElementsByTagNameNS('*', 'Subject').item(0)!;
      subject.textContent = 'Forged subject';
      const object = doc.createElementNS(DSIG, 'Object');
      object.appendChild(hidden);
      envelope.getElementsByTagNameNS(DSIG, 'Signature').item(0)!.appendChild(object);
      const forged = new XMLSerializer().serializeToString(doc);
      assert.ok(xmlCryptoAccepts(forged, h41Cert), 'xml-crypto alone accepts the forged envelope');
      assert.equal(reasonOf(forged, trust), 'reference-not-whole-document');
    });

    it('the signature moved out of edXMLHeader: bad-signature', () => {
      const signature = /<Signature xmlns=[\s\S]*<\/Signature>/.exec(genuine)![0];
      const moved = replaceOnce(genuine.replace(signature, ''), '</edXML:edXMLManifest>', `</edXML:edXMLManifest>${signature}`);
      assert.equal(reasonOf(moved, trust), 'bad-signature');
    });

    it('an extra reference: limit-exceeded by default, reference-not-whole-document when the limit allows it', () => {
      const reference = /<Reference URI="">[\s\S]*?<\/Reference>/.exec(genuine)![0];
      const extra = replaceOnce(genuine, '</SignedInfo>', `${reference.replace('URI=""', 'URI="#x"')}</SignedInfo>`);
      assert.equal(reasonOf(extra, trust), 'limit-exceeded');
      try {
        verifyPackage(Buffer.from(extra), trust, { limits: { maxSignatureReferences: 2 } });
        assert.fail('accepted');
      } catch (err) {
        assert.ok(err instanceof Rejection && err.reason === 'reference-not-whole-document', String(err));
      }
    });

    it('an XPath transform that narrows the reference: reference-not-whole-document', () => {
      const narrowed = replaceOnce(genuine, '<Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>', '<Transform Algorithm="http://www.w3.org/TR/1999/REC-xpath-19991116"><XPath>ancestor-or-self::*[local-name()="edXMLHeader"]</XPath></Transform>');
      assert.equal(reasonOf(narrowed, trust), 'reference-not-whole-document');
    });

    it('more transforms than limits.maxSignatureTransforms: limit-exceeded', () => {
      const many = replaceOnce(genuine, '</Transforms>', '<Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/></Transforms>');
      assert.equal(reasonOf(many, trust), 'limit-exceeded');
    });
  });

  describe('comment injection', () => {
    it('a forged digest in a comment inside DigestValue (CVE-2025-29775): digest-mismatch', () => {
      const tamperedBody = genuine.replace('UBND Tỉnh Nghệ An', 'Attacker');
      const forgedDigest = /<DigestValue>([^<]*)<\/DigestValue>/.exec(
        signPackage(Buffer.from(withoutPlaceholder(packageFrom(ORGAN_H41)).replace('UBND Tỉnh Nghệ An', 'Attacker')), credentials(pki.h41)).toString(),
      )![1];
      const forged = tamperedBody.replace(/<DigestValue>/, `<DigestValue><!--${forgedDigest}-->`);
      assert.equal(reasonOf(forged, trust), 'digest-mismatch');
    });

    it('a comment that hides changed text: digest-mismatch', () => {
      const forged = replaceOnce(genuine, 'V/v kết nối, liên thông', 'V/v <!--kết nối, liên thông-->hủy bỏ');
      assert.equal(reasonOf(forged, trust), 'digest-mismatch');
    });

    it('a comment splitting From/OrganId changes nothing signed, and the whole text is what binds', () => {
      const split = replaceOnce(genuine, `<edXML:OrganId>${ORGAN_H41}</edXML:OrganId>`, '<edXML:OrganId>000.00.<!--000.00.00.G22-->00.H41</edXML:OrganId>');
      const outcome = verifyPackage(Buffer.from(split), trust);
      assert.ok(outcome.status === 'valid' && outcome.signer.organId === ORGAN_H41);
    });
  });

  describe('tampering after signing', () => {
    it('the subject: digest-mismatch', () => {
      assert.equal(reasonOf(replaceOnce(genuine, /<edXML:Subject>[^<]*/, '<edXML:Subject>Công văn giả mạo'), trust), 'digest-mismatch');
    });

    it('a recipient: digest-mismatch', () => {
      assert.equal(reasonOf(replaceOnce(genuine, '<edXML:OrganId>000.00.00.H14</edXML:OrganId>', '<edXML:OrganId>000.00.00.X99</edXML:OrganId>'), trust), 'digest-mismatch');
    });

    it('one base64 character of the attachment: digest-mismatch', () => {
      const forged = genuine.replace(/(<edXML:ContentTransferEncoded[^>]*>[^<]{100})(.)/, (_m, head: string, c: string) => head + (c === 'A' ? 'B' : 'A'));
      assert.notEqual(forged, genuine);
      assert.equal(reasonOf(forged, trust), 'digest-mismatch');
    });

    it('the sender: signer-not-sender or digest-mismatch, never accepted', () => {
      const forged = replaceOnce(genuine, `<edXML:OrganId>${ORGAN_H41}</edXML:OrganId>`, '<edXML:OrganId>000.00.00.G22</edXML:OrganId>');
      assert.equal(reasonOf(forged, trust), 'digest-mismatch');
    });
  });

  describe('hostile XML', () => {
    it('a DTD with an external entity (XXE): dtd-forbidden', () => {
      const xxe = genuine.replace('<?xml version="1.0" encoding="UTF-8"?>', '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE edXML [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>');
      assert.equal(reasonOf(xxe.replace('UBND Tỉnh Nghệ An', '&xxe;'), trust), 'dtd-forbidden');
    });

    it('entity expansion (billion laughs): dtd-forbidden', () => {
      const lol = '<!DOCTYPE edXML [<!ENTITY a "lol"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>';
      const bomb = genuine.replace('<?xml version="1.0" encoding="UTF-8"?>', `<?xml version="1.0" encoding="UTF-8"?>\n${lol}`).replace('UBND Tỉnh Nghệ An', '&c;');
      assert.equal(reasonOf(bomb, trust), 'dtd-forbidden');
    });

    it('a truncated package: malformed-xml', () => {
      const bytes = Buffer.from(genuine);
      assert.equal(reasonOf(bytes.subarray(0, Math.floor(bytes.length / 2)), trust), 'malformed-xml');
    });
  });

  describe('algorithms and the field placeholder', () => {
    it('SHA-1 under the default policy: weak-algorithm', () => {
      const sha1 = signWithXmlCrypto(withoutPlaceholder(packageFrom(ORGAN_H41)), credentials(pki.h41), {
        signatureAlgorithm: 'http://www.w3.org/2000/09/xmldsig#rsa-sha1',
        digestAlgorithm: 'http://www.w3.org/2000/09/xmldsig#sha1',
      });
      assert.equal(reasonOf(sha1, trust), 'weak-algorithm');
    });

    it('an HMAC signature method (key confusion): weak-algorithm', () => {
      const hmac = replaceOnce(genuine, 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256', 'http://www.w3.org/2000/09/xmldsig#hmac-sha1');
      assert.equal(reasonOf(hmac, trust), 'weak-algorithm');
    });

    it('canonicalization with comments: weak-algorithm', () => {
      const withComments = replaceOnce(genuine, '<CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>', '<CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#WithComments"/>');
      assert.equal(reasonOf(withComments, trust), 'weak-algorithm');
    });

    it('the SDK placeholder: placeholder-signature', () => {
      assert.equal(reasonOf(packageFrom(ORGAN_H41), trust), 'placeholder-signature');
    });

    it('no signature at all: unsigned', () => {
      assert.equal(reasonOf(withoutPlaceholder(packageFrom(ORGAN_H41)), trust), 'unsigned');
    });

    it('a real signature beside the SDK placeholder: multiple-signatures', () => {
      const signature = /<Signature xmlns=[\s\S]*<\/Signature>/.exec(genuine)![0];
      const placeholder = /<Signature>[\s\S]*?<\/Signature>/.exec(packageFrom(ORGAN_H41))![0];
      assert.equal(reasonOf(genuine.replace(signature, placeholder + signature), trust), 'multiple-signatures');
    });
  });
});
