/**
 * Issue 17 point 3: a signer certificate bound to From/OrganId the way the national PKI issues
 * them (UID=MST:<tax code>, or a fingerprint, or issuer and serial number), by rules in the trust
 * config. Certificates are made at test time by the test PKI's openssl CA.
 */
import { strict as assert } from 'node:assert';
import { X509Certificate } from 'node:crypto';
import * as fs from 'node:fs';
import { Rejection } from '../../../src/errors';
import { loadTrustStore, signPackage, verifyPackage, type TrustConfig, type TrustStore } from '../../../src/signature';
import { factsOf } from '../../../src/signature/certificate-facts';
import { bindingOf, compileIdentityRules, IdentityRuleError, parseDistinguishedName, type IdentityConfig } from '../../../src/signature/signer-identity';
import { issueCertificate, makeTestPki, ORGAN_G22, ORGAN_H41, type TestPki } from '../../support/pki';
import { credentials, packageFrom } from '../../support/signature-fixtures';

const ROOT_DN = 'C=VN, O=VDXP Test Root CA, CN=VDXP Test Root CA';
const SUB_DN = 'C=VN, O=VDXP Test Sub CA, CN=VDXP Test Sub CA';
const TAX_CODE = 'MST:0301519977-029';

type Issued = Awaited<ReturnType<typeof issueCertificate>>;

describe('signature: signer identity rules (issue 17 point 3)', function () {
  this.timeout(120_000);
  let pki: TestPki;
  /** UID=MST:0301519977-029 under the root, as the G2 CAs write an agency's tax code. */
  let branch: Issued;
  /** The same UID under the intermediate CA: another issuer. */
  let branchUnderSub: Issued;
  /** The head office: MST:0301519977 (a prefix of the branch's value). */
  let headOffice: Issued;
  const facts = (c: { certPath: string }) => factsOf(new X509Certificate(fs.readFileSync(c.certPath)));
  const rules = (config: IdentityConfig) => compileIdentityRules(config);
  const store = (extra: Partial<TrustConfig>): Promise<TrustStore> => loadTrustStore({ anchors: [pki.rootCaPath], crls: [pki.crlPath, pki.intermediateCrlPath], ...extra });
  const conflict = (config: IdentityConfig): IdentityRuleError => {
    try {
      rules(config);
    } catch (err) {
      if (err instanceof IdentityRuleError) return err;
      throw err;
    }
    assert.fail('the rules were accepted');
  };

  before(async () => {
    pki = await makeTestPki();
    branch = await issueCertificate(pki, 'mst-branch', `/C=VN/O=Sở Tài chính TP Hồ Chí Minh/CN=Sở Tài chính TP Hồ Chí Minh/UID=${TAX_CODE}`);
    branchUnderSub = await issueCertificate(pki, 'mst-branch-sub', `/C=VN/O=Sở Tài chính TP Hồ Chí Minh/CN=Sở Tài chính (khác)/UID=${TAX_CODE}`, 'inter');
    headOffice = await issueCertificate(pki, 'mst-head', '/C=VN/O=Cục Thuế/CN=Cục Thuế/UID=MST:0301519977');
  });

  it('binds by a subject attribute with its prefix, UID=MST:… → OrganId, exactly (not by a prefix of the value)', () => {
    const identity = rules({ identityRules: [{ organId: ORGAN_H41, subject: `UID=${TAX_CODE}` }] });
    const bound = bindingOf(facts(branch), ORGAN_H41, identity);
    assert.deepEqual(bound, { bound: true, by: { rule: 'trust.identityRules[0]', kind: 'subject-attribute', match: `UID=${TAX_CODE}` } });
    assert.equal(bindingOf(facts(branch), ORGAN_G22, identity).bound, false);
    // MST:0301519977 is a prefix of the rule's value, not the value: no binding.
    assert.equal(bindingOf(facts(headOffice), ORGAN_H41, identity).bound, false);
    // Compared as names are: case and spaces around the value do not matter.
    assert.equal(bindingOf(facts(branch), ORGAN_H41, rules({ identityRules: [{ organId: ORGAN_H41, subject: ' uid = mst:0301519977-029 ' }] })).bound, true);
    // By dotted OID too.
    assert.equal(bindingOf(facts(branch), ORGAN_H41, rules({ identityRules: [{ organId: ORGAN_H41, subject: `0.9.2342.19200300.100.1.1=${TAX_CODE}` }] })).bound, true);
  });

  it('restricts a subject rule to an issuer: the same UID from another CA is not bound', () => {
    const identity = rules({ identityRules: [{ name: 'HCMC finance', organId: ORGAN_H41, subject: `UID=${TAX_CODE}`, issuer: ROOT_DN }] });
    const bound = bindingOf(facts(branch), ORGAN_H41, identity);
    assert.ok(bound.bound && bound.by.name === 'HCMC finance' && bound.by.match === `UID=${TAX_CODE} issued by ${ROOT_DN}`);
    const other = bindingOf(facts(branchUnderSub), ORGAN_H41, identity);
    assert.ok(!other.bound && /trust\.identityRules\[0\]/.test(other.why), JSON.stringify(other));
    // RFC 4514 order (last RDN first) names the same issuer.
    assert.equal(bindingOf(facts(branch), ORGAN_H41, rules({ identityRules: [{ organId: ORGAN_H41, subject: `UID=${TAX_CODE}`, issuer: 'CN=VDXP Test Root CA,O=VDXP Test Root CA,C=VN' }] })).bound, true);
  });

  it('binds by issuer and serial number: that one certificate, not another of the same issuer', () => {
    const identity = rules({ identityRules: [{ organId: ORGAN_H41, issuer: ROOT_DN, serialNumber: branch.serialNumber.replace(/(..)(?=.)/g, '$1:') }] });
    const bound = bindingOf(facts(branch), ORGAN_H41, identity);
    assert.ok(bound.bound && bound.by.kind === 'issuer-serial', JSON.stringify(bound));
    assert.equal(bindingOf(facts(headOffice), ORGAN_H41, identity).bound, false);
    assert.equal(bindingOf(facts(branch), ORGAN_H41, rules({ identityRules: [{ organId: ORGAN_H41, issuer: SUB_DN, serialNumber: branch.serialNumber }] })).bound, false);
  });

  it('binds by fingerprint, and organBindings is read as fingerprint rules', () => {
    const identity = rules({ identityRules: [{ organId: ORGAN_H41, fingerprint: branch.fingerprint.toUpperCase() }] });
    assert.equal(bindingOf(facts(branch), ORGAN_H41, identity).bound, true);
    const legacy = bindingOf(facts(pki.g22), ORGAN_H41, rules({ organBindings: { [ORGAN_H41]: [pki.g22.fingerprint] } }));
    assert.deepEqual(legacy, { bound: true, by: { rule: `trust.organBindings.${ORGAN_H41}[0]`, kind: 'fingerprint', match: `SHA-256 ${pki.g22.fingerprint}` } });
    // One certificate for the agencies of a shared server: one rule, several OrganIds.
    const shared = rules({ identityRules: [{ organId: [ORGAN_H41, ORGAN_G22], subject: `UID=${TAX_CODE}` }] });
    assert.equal(bindingOf(facts(branch), ORGAN_H41, shared).bound, true);
    assert.equal(bindingOf(facts(branch), ORGAN_G22, shared).bound, true);
  });

  it('keeps the UID=OrganId default for test PKIs, except for OrganIds and certificates a rule decides', () => {
    const none = rules({});
    assert.deepEqual(bindingOf(facts(pki.h41), ORGAN_H41, none), { bound: true, by: { rule: 'default', kind: 'uid-is-organid', match: `UID=${ORGAN_H41}` } });
    assert.equal(bindingOf(facts(pki.h41), ORGAN_H41, rules({ uidIsOrganId: false })).bound, false);
    // H41 has a rule: its own UID no longer binds another certificate to it.
    const ruled = rules({ identityRules: [{ organId: ORGAN_H41, subject: `UID=${TAX_CODE}` }] });
    const h41 = bindingOf(facts(pki.h41), ORGAN_H41, ruled);
    assert.ok(!h41.bound && /is bound by trust\.identityRules\[0\]/.test(h41.why));
    // G22's certificate, bound by a rule to H41, does not sign for G22 through its UID any more.
    const moved = rules({ identityRules: [{ organId: ORGAN_H41, fingerprint: pki.g22.fingerprint }] });
    assert.equal(bindingOf(facts(pki.g22), ORGAN_G22, moved).bound, false);
  });

  it('refuses at load two rules that match the same certificates, naming both', () => {
    const contradicting = conflict({ identityRules: [{ organId: ORGAN_H41, subject: `UID=${TAX_CODE}` }, { organId: ORGAN_G22, subject: `uid=${TAX_CODE.toLowerCase()}` }] });
    assert.equal(contradicting.path, 'trust.identityRules[1]');
    assert.match(contradicting.message, /trust\.identityRules\[0\] \(UID=MST:0301519977-029 → 000\.00\.00\.H41\).*trust\.identityRules\[1\] \(UID=mst:0301519977-029 → 000\.00\.00\.G22\)/);
    const duplicate = conflict({ identityRules: [{ organId: ORGAN_H41, issuer: ROOT_DN, serialNumber: '1A' }, { organId: ORGAN_H41, issuer: 'CN=VDXP Test Root CA, O=VDXP Test Root CA, C=VN', serialNumber: '00:1a' }] });
    assert.match(duplicate.message, /trust\.identityRules\[0\].*trust\.identityRules\[1\].*the same rule/);
    const acrossKeys = conflict({ organBindings: { [ORGAN_G22]: [branch.fingerprint] }, identityRules: [{ organId: ORGAN_H41, fingerprint: branch.fingerprint }] });
    assert.match(acrossKeys.message, /trust\.identityRules\[0\].*trust\.organBindings\.000\.00\.00\.G22\[0\]/);
    const ambiguous = conflict({ identityRules: [{ organId: ORGAN_H41, subject: `UID=${TAX_CODE}` }, { organId: ORGAN_G22, subject: `UID=${TAX_CODE}`, issuer: ROOT_DN }] });
    assert.match(ambiguous.message, /trust\.identityRules\[0\].*and trust\.identityRules\[1\].*ambiguous/);
    // The same value under two different issuers is two agencies, not a conflict.
    rules({ identityRules: [{ organId: ORGAN_H41, subject: `UID=${TAX_CODE}`, issuer: ROOT_DN }, { organId: ORGAN_G22, subject: `UID=${TAX_CODE}`, issuer: SUB_DN }] });
  });

  it('refuses at load a rule it cannot use, naming the key', () => {
    const path = (config: IdentityConfig) => conflict(config).path;
    assert.equal(path({ identityRules: [{ organId: ORGAN_H41 }] }), 'trust.identityRules[0]');
    assert.equal(path({ identityRules: [{ organId: ORGAN_H41, fingerprint: branch.fingerprint, subject: `UID=${TAX_CODE}` }] }), 'trust.identityRules[0]');
    assert.equal(path({ identityRules: [{ organId: ORGAN_H41, serialNumber: '1A' }] }), 'trust.identityRules[0].issuer');
    assert.equal(path({ identityRules: [{ organId: ORGAN_H41, fingerprint: branch.fingerprint, issuer: ROOT_DN }] }), 'trust.identityRules[0].issuer');
    assert.equal(path({ identityRules: [{ organId: ORGAN_H41, subject: 'NICKNAME=x' }] }), 'trust.identityRules[0].subject');
    assert.equal(path({ identityRules: [{ organId: ORGAN_H41, subject: `UID=${TAX_CODE}`, issuer: 'C = VN, garbage' }] }), 'trust.identityRules[0].issuer');
    assert.equal(path({ identityRules: [{ organId: [], subject: `UID=${TAX_CODE}` }] }), 'trust.identityRules[0].organId');
  });

  it('refuses at use a certificate two rules bind to different agencies, naming both', () => {
    const identity = rules({ identityRules: [{ organId: ORGAN_H41, subject: `UID=${TAX_CODE}` }, { organId: ORGAN_G22, fingerprint: branch.fingerprint }] });
    const refused = bindingOf(facts(branch), ORGAN_H41, identity);
    assert.ok(!refused.bound && /trust\.identityRules\[0\].*and trust\.identityRules\[1\].*ambiguous/.test(refused.why), JSON.stringify(refused));
    // Two rules for the same agency: the most specific one is reported.
    const both = rules({ identityRules: [{ organId: ORGAN_H41, subject: `UID=${TAX_CODE}` }, { organId: ORGAN_H41, fingerprint: branch.fingerprint }] });
    const bound = bindingOf(facts(branch), ORGAN_H41, both);
    assert.ok(bound.bound && bound.by.rule === 'trust.identityRules[1]' && bound.by.kind === 'fingerprint');
  });

  it('parses distinguished names as OpenSSL and RFC 4514 write them', () => {
    assert.deepEqual(parseDistinguishedName('C = VN, O=Ban Cơ yếu Chính phủ, CN=A\\, B'), [['2.5.4.6=vn'], ['2.5.4.10=ban cơ yếu chính phủ'], ['2.5.4.3=a, b']]);
    assert.deepEqual(parseDistinguishedName('CN=x+UID=y'), [['0.9.2342.19200300.100.1.1=y', '2.5.4.3=x'].sort()]);
    assert.equal(typeof parseDistinguishedName('just text'), 'string');
  });

  it('verifyPackage reports the rule that bound the signer; a signer no rule binds is signer-not-sender', async () => {
    const trust = await store({ identityRules: [{ name: 'HCMC finance', organId: ORGAN_H41, subject: `UID=${TAX_CODE}`, issuer: ROOT_DN }] });
    const signed = signPackage(Buffer.from(packageFrom(ORGAN_H41)), credentials(branch), { trust });
    const outcome = verifyPackage(signed, trust);
    assert.ok(outcome.status === 'valid', JSON.stringify(outcome));
    assert.deepEqual(outcome.signer.boundBy, { rule: 'trust.identityRules[0]', name: 'HCMC finance', kind: 'subject-attribute', match: `UID=${TAX_CODE} issued by ${ROOT_DN}` });
    assert.equal(outcome.signer.issuer, ROOT_DN);
    // The same UID under the intermediate, the chain otherwise valid: refused, with the reason.
    const lenient = await store({ identityRules: [{ organId: [ORGAN_H41, ORGAN_G22], fingerprint: branchUnderSub.fingerprint }] });
    const other = signPackage(Buffer.from(packageFrom(ORGAN_H41)), credentials(branchUnderSub), { trust: lenient });
    assert.throws(() => verifyPackage(other, trust), (err: Rejection) => err.reason === 'signer-not-sender' && /is bound by trust\.identityRules\[0\]/.test(err.detail));
    assert.equal(verifyPackage(other, lenient).status, 'valid');
  });

  it('stops loadTrustStore on conflicting rules (a configuration error at start)', async () => {
    await assert.rejects(
      store({ identityRules: [{ organId: ORGAN_H41, subject: `UID=${TAX_CODE}` }, { organId: ORGAN_G22, subject: `UID=${TAX_CODE}` }] }),
      /trust\.identityRules\[1\].*trust\.identityRules\[0\]/,
    );
  });
});
