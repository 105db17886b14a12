import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { DOMParser, type Element } from '@xmldom/xmldom';
import { Rejection } from '../../../src/errors';
import { signPackage, verifyPackage, type TrustStore } from '../../../src/signature';
import { canonicalSignedInfo, signedInfo } from '../../../src/signature/sign';
import { canonicalize } from '../../../src/signature/canonical';
import { C14N_EXCLUSIVE, DSIG_NS } from '../../../src/signature/algorithms';
import { sampleFiles } from '../../support/paths';
import { makeTestPki, ORGAN_A80, ORGAN_G22, ORGAN_H41, type TestPki } from '../../support/pki';
import { credentials, packageFrom, signatureCount, signWithXmlCrypto, trustFor, withoutPlaceholder } from '../../support/signature-fixtures';

function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof Rejection) return err.reason;
    throw err;
  }
  return 'signed';
}

/** The package as canonical XML with every XMLDSig Signature taken out. */
function contentWithoutSignatures(xml: string | Buffer): string {
  const doc = new DOMParser().parseFromString(xml.toString(), 'text/xml');
  const signatures = doc.getElementsByTagNameNS(DSIG_NS, 'Signature');
  while (signatures.length > 0) signatures.item(0)!.parentNode!.removeChild(signatures.item(0)!);
  return canonicalize(doc.documentElement!, C14N_EXCLUSIVE);
}

function header(xml: Buffer): Element {
  return new DOMParser().parseFromString(xml.toString(), 'text/xml').getElementsByTagNameNS('*', 'edXMLHeader').item(0)!;
}

function lastElementChild(el: Element): Element | undefined {
  let last: Element | undefined;
  for (let c = el.firstChild; c; c = c.nextSibling) if (c.nodeType === c.ELEMENT_NODE) last = c as Element;
  return last;
}

describe('signature: the SignedInfo the signer writes', () => {
  it('is signed in exactly its exclusive canonical form', () => {
    for (const digest of ['', 'AAAA', 'q83vEjRWeJq83vEjRWeJq83vEjRWeJq83vEjRWeJq80=']) {
      const parsed = new DOMParser().parseFromString(signedInfo(digest), 'text/xml').documentElement!;
      assert.equal(canonicalSignedInfo(digest), canonicalize(parsed, C14N_EXCLUSIVE));
    }
  });
});

describe('signature: signPackage', function () {
  this.timeout(60_000);
  let pki: TestPki;
  let trust: TrustStore;
  before(async () => {
    pki = await makeTestPki();
    trust = await trustFor(pki);
  });

  it('replaces the SDK placeholder with one RSA-SHA256 / exclusive C14N signature, last in edXMLHeader', () => {
    const signed = signPackage(Buffer.from(packageFrom(ORGAN_H41)), credentials(pki.h41));
    const text = signed.toString();
    assert.equal(signatureCount(text), 1);
    assert.doesNotMatch(text, /<Signature>/, 'the placeholder is gone');
    const last = lastElementChild(header(signed))!;
    assert.equal(last.localName, 'Signature');
    assert.equal(last.namespaceURI, DSIG_NS);
    assert.match(text, /<SignatureMethod Algorithm="http:\/\/www\.w3\.org\/2001\/04\/xmldsig-more#rsa-sha256"\/>/);
    assert.match(text, /<CanonicalizationMethod Algorithm="http:\/\/www\.w3\.org\/2001\/10\/xml-exc-c14n#"\/>/);
    assert.match(text, /<Reference URI="">/);
    assert.equal(verifyPackage(signed, trust).status, 'valid');
  });

  it('changes nothing but the signature', () => {
    const input = withoutPlaceholder(packageFrom(ORGAN_H41));
    const signed = signPackage(Buffer.from(input), credentials(pki.h41));
    assert.equal(contentWithoutSignatures(signed), contentWithoutSignatures(input));
  });

  it('adds a signature to a package that has none (a status package)', () => {
    const status = sampleFiles().find((f) => path.basename(f) === 'vxp-sdk-example__status.edxml')!;
    const signed = signPackage(Buffer.from(packageFrom(ORGAN_H41, status)), credentials(pki.h41));
    assert.equal(lastElementChild(header(signed))!.localName, 'Signature');
    assert.equal(verifyPackage(signed, trust).status, 'valid');
  });

  it('signs every field sample so that it verifies', () => {
    for (const file of sampleFiles()) {
      const signed = signPackage(Buffer.from(packageFrom(ORGAN_H41, file)), credentials(pki.h41));
      assert.equal(signatureCount(signed.toString()), 1, path.basename(file));
      assert.equal(verifyPackage(signed, trust).status, 'valid', path.basename(file));
    }
  });

  it('re-signs a package its own agency signed before, keeping one signature (chain through the intermediate)', () => {
    const once = signPackage(Buffer.from(packageFrom(ORGAN_A80)), credentials(pki.a80));
    const twice = signPackage(once, credentials(pki.a80));
    assert.equal(signatureCount(twice.toString()), 1);
    assert.equal(verifyPackage(twice, trust).status, 'valid');
  });

  it('refuses to re-sign a package carrying a valid signature of another agency', () => {
    const byG22 = Buffer.from(signWithXmlCrypto(withoutPlaceholder(packageFrom(ORGAN_H41)), credentials(pki.g22)));
    assert.equal(refusal(() => signPackage(byG22, credentials(pki.h41))), 'signed-by-another-agency');
    assert.equal(refusal(() => signPackage(byG22, credentials(pki.h41), { trust })), 'signed-by-another-agency');
  });

  it('replaces a signature that is not valid (tampered after signing, or not chaining to an anchor when trust is given)', () => {
    const byG22 = signWithXmlCrypto(withoutPlaceholder(packageFrom(ORGAN_H41)), credentials(pki.g22));
    const tampered = Buffer.from(byG22.replace('UBND Tỉnh Nghệ An', 'UBND Tỉnh Hà Tĩnh'));
    const resigned = signPackage(tampered, credentials(pki.h41));
    assert.equal(signatureCount(resigned.toString()), 1);
    assert.equal(verifyPackage(resigned, trust).status, 'valid');

    const byAttacker = Buffer.from(signWithXmlCrypto(withoutPlaceholder(packageFrom(ORGAN_G22)), credentials(pki.attacker)));
    // Without a trust store the attacker's certificate (UID 000.00.00.H41) counts as another agency's.
    assert.equal(refusal(() => signPackage(byAttacker, credentials(pki.g22))), 'signed-by-another-agency');
    assert.equal(verifyPackage(signPackage(byAttacker, credentials(pki.g22), { trust }), trust).status, 'valid');
  });

  it('refuses to sign for a sender its certificate is not bound to', () => {
    assert.equal(refusal(() => signPackage(Buffer.from(packageFrom(ORGAN_G22)), credentials(pki.h41))), 'signer-not-sender');
  });

  it('refuses a key that does not belong to the certificate', () => {
    const mismatched = { ...credentials(pki.h41), keyPem: credentials(pki.g22).keyPem };
    assert.throws(() => signPackage(Buffer.from(packageFrom(ORGAN_H41)), mismatched), /does not belong to the certificate/);
  });

  it('refuses hostile input before signing it', () => {
    const xxe = packageFrom(ORGAN_H41).replace('<?xml version="1.0" encoding="UTF-8"?>', '<?xml version="1.0" encoding="UTF-8"?><!DOCTYPE edXML [<!ENTITY x SYSTEM "file:///etc/passwd">]>');
    assert.equal(refusal(() => signPackage(Buffer.from(xxe), credentials(pki.h41))), 'dtd-forbidden');
  });
});
