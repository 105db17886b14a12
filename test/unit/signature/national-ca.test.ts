/**
 * Issue 17 point 4: the government CA certificates ship with the connector, pinned by SHA-256,
 * selected by `trust.anchors: national`; and the chain validator accepts the real G2 hierarchy:
 * the real issuing CA under the real root, and a leaf under a CA made at test time with the real
 * issuing CA's extensions (pathlen:0 among them), read from ca-nha-nuoc-g2.pem itself.
 */
import { strict as assert } from 'node:assert';
import { X509Certificate } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AsnConvert } from '@peculiar/asn1-schema';
import * as asn1 from '@peculiar/asn1-x509';
import { Rejection } from '../../../src/errors';
import { loadTrustStore, signPackage, verifyPackage } from '../../../src/signature';
import { factsOf, OID } from '../../../src/signature/certificate-facts';
import { trustedSignerOf } from '../../../src/signature/chain';
import { NATIONAL_CA_FILES, SHIPPED_NATIONAL_CA_DIR } from '../../../src/signature/national-ca';
import { validatePath } from '../../../src/signature/path-validation';
import { DEFAULT_SIGNER_RULES } from '../../../src/signature/signer-rules';
import { agencySubject, buildCase, G2_AGENCY_EXT, ISSUING_SUBJECT, ROOT_EXT, ROOT_SUBJECT, type CertSpec } from '../../support/chain-corpus';
import { NATIONAL_CA_DIR, REPO_ROOT } from '../../support/paths';
import { makeTestPki, ORGAN_H41 } from '../../support/pki';
import { credentials, packageFrom } from '../../support/signature-fixtures';

const CHART_COPY = path.join(REPO_ROOT, 'helm', 'vdxp-connector', 'files', 'national-ca');
const readCert = (dir: string, file: string) => new X509Certificate(fs.readFileSync(path.join(dir, file)));
const sha256 = (c: X509Certificate) => c.fingerprint256.replace(/:/g, '').toLowerCase();

/** Extensions of a certificate by OID: criticality and DER value. */
function extensionsOf(cert: X509Certificate): Map<string, { critical: boolean; value: string }> {
  const parsed = AsnConvert.parse(cert.raw, asn1.Certificate);
  return new Map((parsed.tbsCertificate.extensions ?? []).map((e) => [e.extnID, { critical: e.critical, value: Buffer.from(e.extnValue.buffer).toString('hex') }]));
}

/** Key-dependent extensions: an imitation with its own key cannot carry the same ones. */
const KEY_IDENTIFIERS = new Set(['2.5.29.14', '2.5.29.35']);

/** openssl x509v3 config lines that remake the real certificate's extensions (key identifiers aside). */
function opensslLinesImitating(cert: X509Certificate): string {
  const parsed = AsnConvert.parse(cert.raw, asn1.Certificate);
  const lines: string[] = [];
  const sections: string[] = [];
  for (const ext of parsed.tbsCertificate.extensions ?? []) {
    const critical = ext.critical ? 'critical,' : '';
    const value = ext.extnValue.buffer;
    switch (ext.extnID) {
      case OID.basicConstraints: {
        const bc = AsnConvert.parse(value, asn1.BasicConstraints);
        lines.push(`basicConstraints = ${critical}CA:${bc.cA ? 'TRUE' : 'FALSE'}${bc.pathLenConstraint !== undefined ? `,pathlen:${bc.pathLenConstraint}` : ''}`);
        break;
      }
      case OID.keyUsage: {
        const bits = AsnConvert.parse(value, asn1.KeyUsage).toNumber();
        const names = Object.entries({ digitalSignature: 1, nonRepudiation: 2, keyEncipherment: 4, dataEncipherment: 8, keyAgreement: 16, keyCertSign: 32, cRLSign: 64 })
          .filter(([, bit]) => (bits & bit) !== 0)
          .map(([name]) => name);
        lines.push(`keyUsage = ${critical}${names.join(',')}`);
        break;
      }
      case OID.certificatePolicies: {
        const policies = AsnConvert.parse(value, asn1.CertificatePolicies);
        const refs = policies.map((p, i) => {
          const cps = (p.policyQualifiers ?? []).map((q) => AsnConvert.parse(q.qualifier!, asn1.DisplayText).ia5String ?? '');
          sections.push(`[ policy${i} ]\npolicyIdentifier = ${p.policyIdentifier}\n${cps.map((uri, j) => `CPS.${j + 1} = ${uri}`).join('\n')}`);
          return `@policy${i}`;
        });
        lines.push(`certificatePolicies = ${critical}${refs.join(',')}`);
        break;
      }
      case '2.5.29.31': {
        const points = AsnConvert.parse(value, asn1.CRLDistributionPoints);
        const uris = points.flatMap((p) => (p.distributionPoint?.fullName ?? []).map((n) => `URI:${n.uniformResourceIdentifier}`));
        lines.push(`crlDistributionPoints = ${critical}${uris.join(',')}`);
        break;
      }
      case '1.3.6.1.5.5.7.1.1': {
        const access = AsnConvert.parse(value, asn1.AuthorityInfoAccessSyntax);
        const entries = access.map((a) => `${a.accessMethod === '1.3.6.1.5.5.7.48.1' ? 'OCSP' : 'caIssuers'};URI:${a.accessLocation.uniformResourceIdentifier}`);
        lines.push(`authorityInfoAccess = ${critical}${entries.join(',')}`);
        break;
      }
      case '2.5.29.14':
        lines.push('subjectKeyIdentifier = hash');
        break;
      case '2.5.29.35':
        lines.push('authorityKeyIdentifier = keyid:always');
        break;
      default:
        throw new Error(`the imitation does not know how to remake extension ${ext.extnID}`);
    }
  }
  return [...lines, '', ...sections].join('\n');
}

describe('signature: the national CA preset (issue 17 point 4)', function () {
  this.timeout(120_000);

  it('ships the public certificates byte for byte, pinned as ../shared/national-ca/README.md lists them', () => {
    const readme = fs.readFileSync(path.join(NATIONAL_CA_DIR, 'README.md'), 'utf8');
    for (const entry of NATIONAL_CA_FILES) {
      const original = fs.readFileSync(path.join(NATIONAL_CA_DIR, entry.file));
      assert.ok(fs.readFileSync(path.join(SHIPPED_NATIONAL_CA_DIR, entry.file)).equals(original), `config/trust/national-ca/${entry.file}`);
      assert.ok(fs.readFileSync(path.join(CHART_COPY, entry.file)).equals(original), `helm/vdxp-connector/files/national-ca/${entry.file}`);
      assert.equal(sha256(readCert(NATIONAL_CA_DIR, entry.file)), entry.sha256, entry.file);
      const row = readme.split('\n').find((l) => l.startsWith(`| \`${entry.file}\``));
      assert.ok(row, `README row of ${entry.file}`);
      assert.equal(/([0-9A-F]{2}(:[0-9A-F]{2}){31})/.exec(row)![1]!.replace(/:/g, '').toLowerCase(), entry.sha256, `README fingerprint of ${entry.file}`);
    }
    assert.deepEqual(fs.readdirSync(SHIPPED_NATIONAL_CA_DIR).filter((f) => f.endsWith('.pem')).sort(), NATIONAL_CA_FILES.map((f) => f.file).sort());
  });

  it('anchors: national selects the G2 and G1 roots as anchors and their issuing CAs as intermediates; national-public the MIC root', async () => {
    const national = await loadTrustStore({ anchors: 'national', revocation: 'best-effort' });
    const subjects = (list: ReadonlyArray<{ description: string }>) => list.map((c) => c.description).sort();
    assert.deepEqual(subjects(national.anchors.map((a) => a.facts)), subjects([readCert(NATIONAL_CA_DIR, 'rootca-g1.pem'), readCert(NATIONAL_CA_DIR, 'rootca-g2.pem')].map(factsOf)));
    assert.deepEqual(subjects(national.intermediates), subjects(['ca-nha-nuoc-g2.pem', 'ca-dang-g2.pem', 'ca-chinh-phu-g1.pem'].map((f) => factsOf(readCert(NATIONAL_CA_DIR, f)))));
    assert.deepEqual(national.presets, ['national']);
    // Government certificates carry no OrganId: the UID=OrganId default is off unless asked for.
    assert.equal(national.identity.uidIsOrganId, false);
    assert.equal((await loadTrustStore({ anchors: 'national', revocation: 'best-effort', uidIsOrganId: true })).identity.uidIsOrganId, true);
    const both = await loadTrustStore({ anchors: ['national', 'national-public'], revocation: 'best-effort' });
    assert.equal(both.anchors.length, 3);
    assert.ok(both.anchors.some((a) => /Vietnam National Root CA/.test(a.facts.description)));
    // With the test PKI's own root beside it.
    const pki = await makeTestPki();
    assert.equal((await loadTrustStore({ anchors: ['national', pki.rootCaPath], crls: [pki.crlPath] })).anchors.length, 3);
  });

  it('does not let a UID=<OrganId> in a certificate bind it under the preset, unless uidIsOrganId: true says so', async () => {
    const pki = await makeTestPki();
    const signed = signPackage(Buffer.from(packageFrom(ORGAN_H41)), credentials(pki.h41));
    const preset = await loadTrustStore({ anchors: ['national', pki.rootCaPath], crls: [pki.crlPath] });
    assert.throws(() => verifyPackage(signed, preset), (err: Rejection) => err.reason === 'signer-not-sender' && /the UID=<OrganId> default is off/.test(err.detail));
    const optedIn = await loadTrustStore({ anchors: ['national', pki.rootCaPath], crls: [pki.crlPath], uidIsOrganId: true });
    assert.equal(verifyPackage(signed, optedIn).status, 'valid');
  });

  it('refuses to start on a tampered, replaced, doubled or missing preset file', async () => {
    const pki = await makeTestPki();
    const copy = () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vdxp-national-ca-'));
      for (const f of fs.readdirSync(SHIPPED_NATIONAL_CA_DIR)) fs.copyFileSync(path.join(SHIPPED_NATIONAL_CA_DIR, f), path.join(dir, f));
      return dir;
    };
    const intact = copy();
    await loadTrustStore({ anchors: 'national', nationalCaDir: intact, revocation: 'best-effort' });

    const replaced = copy();
    fs.copyFileSync(pki.rootCaPath, path.join(replaced, 'rootca-g2.pem'));
    await assert.rejects(loadTrustStore({ anchors: 'national', nationalCaDir: replaced, revocation: 'best-effort' }), /rootca-g2\.pem is not the pinned certificate \(SHA-256 [0-9a-f]{64}, pinned f04ba4b4/);

    // One bit of the signature changed: still a readable certificate, no longer the pinned one.
    const tampered = copy();
    const der = Buffer.from(readCert(tampered, 'ca-nha-nuoc-g2.pem').raw);
    der[der.length - 5]! ^= 0x01;
    fs.writeFileSync(path.join(tampered, 'ca-nha-nuoc-g2.pem'), `-----BEGIN CERTIFICATE-----\n${der.toString('base64').replace(/(.{64})/g, '$1\n')}\n-----END CERTIFICATE-----\n`);
    await assert.rejects(loadTrustStore({ anchors: 'national', nationalCaDir: tampered, revocation: 'best-effort' }), /ca-nha-nuoc-g2\.pem is not the pinned certificate/);

    const doubled = copy();
    fs.appendFileSync(path.join(doubled, 'rootca-g1.pem'), fs.readFileSync(pki.rootCaPath));
    await assert.rejects(loadTrustStore({ anchors: 'national', nationalCaDir: doubled, revocation: 'best-effort' }), /rootca-g1\.pem holds 2 certificates/);

    const missing = copy();
    fs.rmSync(path.join(missing, 'ca-dang-g2.pem'));
    await assert.rejects(loadTrustStore({ anchors: 'national', nationalCaDir: missing, revocation: 'best-effort' }), /ca-dang-g2\.pem cannot be read/);
    // national-public alone does not need the government files.
    await loadTrustStore({ anchors: 'national-public', nationalCaDir: missing, revocation: 'best-effort' });
    for (const d of [intact, replaced, tampered, doubled, missing]) fs.rmSync(d, { recursive: true, force: true });
  });

  it('accepts the real G2 path: ca-nha-nuoc-g2 and ca-dang-g2 under rootca-g2, with their real extensions', async () => {
    const root = factsOf(readCert(NATIONAL_CA_DIR, 'rootca-g2.pem'));
    for (const file of ['ca-nha-nuoc-g2.pem', 'ca-dang-g2.pem']) {
      const links = validatePath([factsOf(readCert(NATIONAL_CA_DIR, file)), root], DEFAULT_SIGNER_RULES);
      assert.equal(links.length, 2);
    }
    // Through the preset: the issuing CA is found, and refused as a signer only for being a CA.
    const national = await loadTrustStore({ anchors: 'national', revocation: 'best-effort' });
    assert.throws(() => trustedSignerOf([readCert(NATIONAL_CA_DIR, 'ca-nha-nuoc-g2.pem').raw], national, new Date()), (err: Rejection) => err.reason === 'untrusted-chain' && /is a CA certificate/.test(err.detail));
  });

  describe('a leaf under a CA made with ca-nha-nuoc-g2.pem\'s own extensions', () => {
    const real = readCert(NATIONAL_CA_DIR, 'ca-nha-nuoc-g2.pem');
    const root: CertSpec = { name: 'root', subject: ROOT_SUBJECT, ext: opensslLinesImitating(readCert(NATIONAL_CA_DIR, 'rootca-g2.pem')) };
    const issuing: CertSpec = { name: 'issuing', issuer: 'root', subject: ISSUING_SUBJECT, ext: opensslLinesImitating(real) };
    const leaf: CertSpec = { name: 'leaf', issuer: 'issuing', subject: `${agencySubject('000.00.00.H41')}`.replace('UID=000.00.00.H41', 'UID=MST:0301519977-029'), ext: G2_AGENCY_EXT };

    it('carries the same extensions as the real issuing CA, pathlen:0 included', async () => {
      const built = await buildCase([root, issuing, leaf]);
      const imitation = extensionsOf(new X509Certificate(fs.readFileSync(path.join(built.dir, 'issuing.pem'))));
      const original = extensionsOf(real);
      assert.deepEqual([...imitation.keys()].sort(), [...original.keys()].sort());
      for (const [oid, ext] of original) if (!KEY_IDENTIFIERS.has(oid)) assert.deepEqual(imitation.get(oid), ext, `extension ${oid}`);
      assert.deepEqual(factsOf(real).basicConstraints, { cA: true, pathLen: 0 });
    });

    it('is accepted with its CRLs, with or without the issuing CA in KeyInfo (as a configured intermediate)', async () => {
      const built = await buildCase([root, issuing, leaf]);
      const trust = await loadTrustStore({ anchors: [built.anchorPath], crls: built.crlPaths });
      assert.equal(trustedSignerOf(built.keyInfoDer, trust, new Date()).revocationGaps.length, 0);
      // Most field signers put only their own certificate in KeyInfo: the intermediate comes from the config.
      assert.throws(() => trustedSignerOf([built.keyInfoDer[0]!], trust, new Date()), (err: Rejection) => err.reason === 'untrusted-chain');
      const withIntermediate = await loadTrustStore({ anchors: [built.anchorPath], crls: built.crlPaths, intermediates: [path.join(built.dir, 'issuing.pem')] });
      assert.equal(trustedSignerOf([built.keyInfoDer[0]!], withIntermediate, new Date()).revocationGaps.length, 0);
    });

    it('refuses a CA below it: pathlen:0', async () => {
      const sub: CertSpec = { name: 'sub', issuer: 'issuing', subject: '/C=VN/O=Rogue/CN=Sub CA under pathlen 0', ext: ROOT_EXT };
      const built = await buildCase([root, issuing, sub, { ...leaf, issuer: 'sub' }]);
      const trust = await loadTrustStore({ anchors: [built.anchorPath], crls: built.crlPaths });
      assert.throws(() => trustedSignerOf(built.keyInfoDer, trust, new Date()), (err: Rejection) => err.reason === 'untrusted-chain' && /path length constraint exceeded/.test(err.detail));
    });
  });
});
