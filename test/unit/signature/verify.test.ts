import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import { Rejection } from '../../../src/errors';
import { XMLSerializer } from '@xmldom/xmldom';
import { parseXml, parseXmlDocument } from '../../../src/edxml/safe-xml';
import { DEFAULT_LIMITS } from '../../../src/limits';
import { signPackage, verifyDocument, verifyPackage, verifyParsed, type TrustStore } from '../../../src/signature';
import { makeTestPki, ORGAN_A80, ORGAN_G22, ORGAN_H41, type TestPki } from '../../support/pki';
import { credentials, packageFrom, signWithXmlCrypto, trustFor, withoutPlaceholder } from '../../support/signature-fixtures';

function reasonOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof Rejection) return err.reason;
    throw err;
  }
  return 'accepted';
}

function detailOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof Rejection) return err.detail;
    throw err;
  }
  return '';
}

describe('signature: verifyPackage', function () {
  this.timeout(30_000);
  let pki: TestPki;
  let trust: TrustStore;
  before(async () => {
    pki = await makeTestPki();
    trust = await trustFor(pki);
  });

  it('accepts a package signed by the sender, naming the signer', () => {
    const signed = signPackage(Buffer.from(packageFrom(ORGAN_H41)), credentials(pki.h41));
    const outcome = verifyPackage(signed, trust);
    assert.equal(outcome.status, 'valid');
    assert.ok(outcome.status === 'valid');
    assert.equal(outcome.signer.organId, ORGAN_H41);
    assert.equal(outcome.signer.fingerprint, pki.h41.fingerprint);
    assert.match(outcome.signer.subject, /So Noi vu/);
    assert.ok(outcome.signer.notAfter.getTime() > Date.now());
  });

  it('builds the chain through an intermediate the document carries', () => {
    const signed = signPackage(Buffer.from(packageFrom(ORGAN_A80)), credentials(pki.a80));
    const outcome = verifyPackage(signed, trust);
    assert.ok(outcome.status === 'valid' && outcome.signer.organId === ORGAN_A80);
  });

  it('refuses an intermediate-issued signer whose intermediate is missing from KeyInfo', () => {
    const { chainPem: _omitted, ...leafOnly } = credentials(pki.a80);
    const signed = signWithXmlCrypto(withoutPlaceholder(packageFrom(ORGAN_A80)), leafOnly);
    assert.equal(reasonOf(() => verifyPackage(Buffer.from(signed), trust)), 'untrusted-chain');
  });

  it('accepts signatures made by xml-crypto itself with inclusive and exclusive C14N', () => {
    for (const c14n of ['http://www.w3.org/2001/10/xml-exc-c14n#', 'http://www.w3.org/TR/2001/REC-xml-c14n-20010315']) {
      const signed = signWithXmlCrypto(withoutPlaceholder(packageFrom(ORGAN_G22)), credentials(pki.g22), { c14n });
      assert.equal(verifyPackage(Buffer.from(signed), trust).status, 'valid', c14n);
    }
  });

  it('checks the certificate dates at the given instant', () => {
    const signed = signPackage(Buffer.from(packageFrom(ORGAN_H41)), credentials(pki.h41));
    assert.equal(reasonOf(() => verifyPackage(signed, trust, { now: new Date('2090-01-01T00:00:00Z') })), 'cert-expired');
    assert.equal(reasonOf(() => verifyPackage(signed, trust, { now: new Date('2001-01-01T00:00:00Z') })), 'cert-expired');
  });

  it('refuses an expired certificate and a revoked one', () => {
    const expired = signWithXmlCrypto(withoutPlaceholder(packageFrom(ORGAN_H41)), credentials(pki.expired));
    assert.equal(reasonOf(() => verifyPackage(Buffer.from(expired), trust)), 'cert-expired');
    const revoked = signPackage(Buffer.from(packageFrom(ORGAN_G22)), credentials(pki.revoked));
    assert.equal(reasonOf(() => verifyPackage(revoked, trust)), 'cert-revoked');
    // Without the CRL the same certificate is not known to be revoked.
    return trustFor(pki, { crls: [], revocation: 'best-effort' }).then((noCrl) => assert.equal(verifyPackage(revoked, noCrl).status, 'valid'));
  });

  it('revokes a leaf under an intermediate by that intermediate\'s own CRL, checked against the intermediate (issue 13 hole 4)', () => {
    const revoked = signPackage(Buffer.from(packageFrom(ORGAN_A80)), credentials(pki.revokedUnderIntermediate));
    assert.equal(reasonOf(() => verifyPackage(revoked, trust)), 'cert-revoked');
    const genuine = signPackage(Buffer.from(packageFrom(ORGAN_A80)), credentials(pki.a80));
    assert.equal(verifyPackage(genuine, trust).status, 'valid');
  });

  it('refuses, by default, a path that no current CRL covers: the intermediate\'s CRL missing, or a CRL past its nextUpdate (issue 13 hole 4)', async () => {
    const underIntermediate = signPackage(Buffer.from(packageFrom(ORGAN_A80)), credentials(pki.a80));
    const rootCrlOnly = await trustFor(pki, { crls: [pki.crlPath] });
    assert.equal(reasonOf(() => verifyPackage(underIntermediate, rootCrlOnly)), 'revocation-unknown');
    const signed = signPackage(Buffer.from(packageFrom(ORGAN_H41)), credentials(pki.h41));
    const afterNextUpdate = new Date(trust.crlsStaleAfter!.getTime() + 60_000);
    assert.equal(reasonOf(() => verifyPackage(signed, trust, { now: afterNextUpdate })), 'revocation-unknown');
    assert.match(detailOf(() => verifyPackage(signed, trust, { now: afterNextUpdate })), /stale since .*nextUpdate passed/);
  });

  it('accepts such a path only under revocation: best-effort (a partner or the CLI flag), naming every gap', async () => {
    const signed = signPackage(Buffer.from(packageFrom(ORGAN_H41)), credentials(pki.h41));
    const afterNextUpdate = new Date(trust.crlsStaleAfter!.getTime() + 60_000);
    const partnerOptOut = await trustFor(pki, { partners: { [ORGAN_H41]: { revocation: 'best-effort' } } });
    const outcome = verifyPackage(signed, partnerOptOut, { now: afterNextUpdate });
    assert.ok(outcome.status === 'valid');
    assert.deepEqual(outcome.revocationGaps.map((g) => g.reason), ['stale-crl']);
    assert.equal(reasonOf(() => verifyPackage(Buffer.from(signWithXmlCrypto(withoutPlaceholder(packageFrom(ORGAN_G22)), credentials(pki.g22))), partnerOptOut, { now: afterNextUpdate })), 'revocation-unknown', 'other partners keep the default');
    const flag = verifyPackage(signed, trust, { now: afterNextUpdate, revocation: 'best-effort' });
    assert.ok(flag.status === 'valid' && flag.revocationGaps.length === 1);
    // A revoked serial in a stale CRL still revokes.
    const revoked = signPackage(Buffer.from(packageFrom(ORGAN_G22)), credentials(pki.revoked));
    assert.equal(reasonOf(() => verifyPackage(revoked, trust, { now: afterNextUpdate, revocation: 'best-effort' })), 'cert-revoked');
  });

  it('binds the signer to From/OrganId through the UID attribute', () => {
    const signedByG22ForH41 = signWithXmlCrypto(withoutPlaceholder(packageFrom(ORGAN_H41)), credentials(pki.g22));
    assert.equal(reasonOf(() => verifyPackage(Buffer.from(signedByG22ForH41), trust)), 'signer-not-sender');
  });

  it('binds through the trust config fingerprint mapping instead, when one exists for the OrganId', async () => {
    const mapped = await trustFor(pki, { organBindings: { [ORGAN_H41]: [pki.g22.fingerprint.toUpperCase()] } });
    const signedByG22ForH41 = Buffer.from(signWithXmlCrypto(withoutPlaceholder(packageFrom(ORGAN_H41)), credentials(pki.g22)));
    assert.equal(verifyPackage(signedByG22ForH41, mapped).status, 'valid');
    const signedByH41 = signPackage(Buffer.from(packageFrom(ORGAN_H41)), credentials(pki.h41));
    assert.equal(reasonOf(() => verifyPackage(signedByH41, mapped)), 'signer-not-sender');
  });

  it('applies the partner policy of From/OrganId to unsigned and placeholder packages', async () => {
    const placeholder = Buffer.from(packageFrom(ORGAN_H41));
    const unsigned = Buffer.from(withoutPlaceholder(packageFrom(ORGAN_H41)));
    assert.equal(reasonOf(() => verifyPackage(placeholder, trust)), 'placeholder-signature');
    assert.equal(reasonOf(() => verifyPackage(unsigned, trust)), 'unsigned');
    const lenient = await trustFor(pki, { partners: { [ORGAN_H41]: { policy: 'accept-unsigned' } } });
    assert.deepEqual(verifyPackage(placeholder, lenient), { status: 'unsigned-accepted', flagged: 'placeholder-signature' });
    assert.deepEqual(verifyPackage(unsigned, lenient), { status: 'unsigned-accepted', flagged: 'unsigned' });
    // Another sender under the same store keeps the default.
    assert.equal(reasonOf(() => verifyPackage(Buffer.from(withoutPlaceholder(packageFrom(ORGAN_G22))), lenient)), 'unsigned');
    // An explicit policy (the CLI's --policy) wins over the store.
    assert.equal(verifyPackage(unsigned, trust, { policy: 'accept-unsigned' }).status, 'unsigned-accepted');
  });

  it('never accepts a present but broken signature, whatever the policy', () => {
    const signed = signPackage(Buffer.from(packageFrom(ORGAN_H41)), credentials(pki.h41)).toString();
    const tampered = Buffer.from(signed.replace('UBND Tỉnh Nghệ An', 'UBND Tỉnh Hà Tĩnh'));
    assert.equal(reasonOf(() => verifyPackage(tampered, trust, { policy: 'accept-unsigned' })), 'digest-mismatch');
  });

  it('treats the SDK placeholder in the XMLDSig namespace (hand-written sample) as a placeholder', () => {
    const sample = fs.readFileSync(`${require('../../support/paths').SAMPLES_DIR}/vxp-sdk-example__edoc_new__inner-attachment_handwritten-input-with-xmldsig-ns.edxml`);
    assert.equal(reasonOf(() => verifyPackage(sample, trust)), 'placeholder-signature');
  });

  it('accepts SHA-1 only where the partner policy allows it', async () => {
    const sha1 = Buffer.from(
      signWithXmlCrypto(withoutPlaceholder(packageFrom(ORGAN_G22)), credentials(pki.g22), {
        signatureAlgorithm: 'http://www.w3.org/2000/09/xmldsig#rsa-sha1',
        digestAlgorithm: 'http://www.w3.org/2000/09/xmldsig#sha1',
      }),
    );
    assert.equal(reasonOf(() => verifyPackage(sha1, trust)), 'weak-algorithm');
    const legacy = await trustFor(pki, { partners: { [ORGAN_G22]: { allowSha1: true } } });
    assert.equal(verifyPackage(sha1, legacy).status, 'valid');
    assert.equal(verifyPackage(sha1, trust, { allowSha1: true }).status, 'valid');
  });
});

describe('signature: attachment text digested from the bytes', function () {
  this.timeout(30_000);
  let pki: TestPki;
  let trust: TrustStore;
  before(async () => {
    pki = await makeTestPki();
    trust = await trustFor(pki);
  });

  const signedWithAttachment = (attachmentText: string) =>
    signPackage(Buffer.from(packageFrom(ORGAN_H41).replace(/(<edXML:ContentTransferEncoded[^>]*>)[^<]*/, `$1${attachmentText}`)), credentials(pki.h41));

  it('gives the same verdict as the full DOM for line-wrapped, CRLF-wrapped and entity-bearing base64', () => {
    const base64 = Buffer.alloc(3000, 7).toString('base64');
    for (const text of [base64, base64.replace(/(.{76})/g, '$1\n'), base64.replace(/(.{76})/g, '$1\r\n'), `&#x41;${base64.slice(1)}`, `${base64.slice(0, 40)}<!-- note -->${base64.slice(40)}`]) {
      const signed = signedWithAttachment(text);
      assert.equal(verifyPackage(signed, trust).status, 'valid');
      assert.equal(verifyDocument(parseXmlDocument(signed), trust).status, 'valid');
      const { document, scan } = parseXml(signed, DEFAULT_LIMITS, { omitAttachmentText: true });
      assert.equal(verifyParsed({ document, scan, repairs: [] }, trust).status, 'valid');
      const tampered = Buffer.from(signed.toString().replace(/(.)([^<]{10}<\/edXML:ContentTransferEncoded>)/, (_m, c: string, tail: string) => (c === 'A' ? 'B' : 'A') + tail));
      assert.notDeepEqual(tampered, signed);
      assert.equal(reasonOf(() => verifyPackage(tampered, trust)), 'digest-mismatch');
    }
  });

  it('leaves a DOM parsed without attachment text as it was', () => {
    const signed = signedWithAttachment(Buffer.alloc(600, 1).toString('base64'));
    const parsed = parseXml(signed, DEFAULT_LIMITS, { omitAttachmentText: true });
    const before = new XMLSerializer().serializeToString(parsed.document);
    verifyParsed(parsed, trust);
    assert.equal(new XMLSerializer().serializeToString(parsed.document), before);
  });
});
