/**
 * A throw-away PKI made with the openssl CLI at test time (no private key is ever committed):
 * a root CA, an intermediate CA, agency certificates whose subject carries UID=<OrganId>, an
 * expired one, a revoked one listed in the root's CRL, one revoked by the intermediate's own CRL,
 * and a self-signed attacker certificate
 * with the very same subject as a genuine agency.
 *
 * Building takes about a second (RSA key generation), so it is done once per test run and
 * shared: `makeTestPki()` returns the same promise every time it is called without a directory.
 */
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface TestCredential {
  organId: string;
  subject: string;
  keyPath: string;
  certPath: string;
  /** Intermediate certificates (PEM) between this certificate and the root, if any. */
  chainPath?: string;
  /** SHA-256 of the certificate's DER, lowercase hex without separators. */
  fingerprint: string;
}

export interface TestPki {
  dir: string;
  /** The trust anchor every genuine credential chains to. */
  rootCaPath: string;
  rootCaKeyPath: string;
  intermediateCaPath: string;
  /** The root's CRL; it lists `revoked`. */
  crlPath: string;
  /** The intermediate CA's CRL (signed by the intermediate; it covers `a80`, and lists `revokedUnderIntermediate`). */
  intermediateCrlPath: string;
  /** The root's CRL as it was in 2020: its nextUpdate passed long ago. */
  staleCrlPath: string;
  /** Agency 000.00.00.H41, issued by the root. */
  h41: TestCredential;
  /** Agency 000.00.00.G22, issued by the root. */
  g22: TestCredential;
  /** Agency 000.00.00.A80, issued by the intermediate CA (chainPath holds the intermediate). */
  a80: TestCredential;
  /** H41's subject, validity ended in 2021. */
  expired: TestCredential;
  /** G22's subject, revoked in `crlPath`. */
  revoked: TestCredential;
  /** Self-signed, same subject as `h41`: chains to nothing we trust. */
  attacker: TestCredential;
  /** A80's subject under the intermediate, revoked in `intermediateCrlPath`. */
  revokedUnderIntermediate: TestCredential;
}

export const ORGAN_H41 = '000.00.00.H41';
export const ORGAN_G22 = '000.00.00.G22';
export const ORGAN_A80 = '000.00.00.A80';

let shared: Promise<TestPki> | undefined;

/** The run's shared PKI, or a fresh one in `dir` (reused if `dir` already holds one). */
export function makeTestPki(dir?: string): Promise<TestPki> {
  if (dir !== undefined) return buildOrReuse(dir);
  shared ??= (async () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vdxp-test-pki-'));
    process.once('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));
    return buildOrReuse(tmp);
  })();
  return shared;
}

async function buildOrReuse(dir: string): Promise<TestPki> {
  const manifest = path.join(dir, 'pki.json');
  if (fs.existsSync(manifest)) return JSON.parse(fs.readFileSync(manifest, 'utf8')) as TestPki;
  fs.mkdirSync(dir, { recursive: true });
  const pki = await build(dir);
  fs.writeFileSync(manifest, JSON.stringify(pki, null, 2));
  return pki;
}

function subjectFor(organId: string, name: string): string {
  return `/C=VN/O=${name}/CN=${name} ${organId}/UID=${organId}`;
}

async function build(dir: string): Promise<TestPki> {
  const cnf = path.join(dir, 'openssl.cnf');
  fs.writeFileSync(cnf, opensslConfig(dir));
  for (const ca of ['root', 'inter']) {
    const caDir = path.join(dir, ca);
    fs.mkdirSync(path.join(caDir, 'newcerts'), { recursive: true });
    fs.writeFileSync(path.join(caDir, 'index.txt'), '');
    fs.writeFileSync(path.join(caDir, 'serial'), ca === 'root' ? '1000\n' : '2000\n');
    fs.writeFileSync(path.join(caDir, 'crlnumber'), '01\n');
  }
  const openssl = (...args: string[]) => run('openssl', args, { cwd: dir });

  const rootKey = path.join(dir, 'root', 'ca.key');
  const rootCert = path.join(dir, 'root', 'ca.pem');
  await openssl('req', '-x509', '-config', cnf, '-newkey', 'rsa:2048', '-nodes', '-keyout', rootKey, '-out', rootCert,
    '-subj', '/C=VN/O=VDXP Test Root CA/CN=VDXP Test Root CA', '-days', '3650', '-extensions', 'v3_ca');

  const keyAndCsr = async (name: string, subject: string) => {
    const keyPath = path.join(dir, `${name}.key`);
    const csr = path.join(dir, `${name}.csr`);
    await openssl('req', '-new', '-config', cnf, '-newkey', 'rsa:2048', '-nodes', '-keyout', keyPath, '-out', csr, '-subj', subject);
    return { keyPath, csr };
  };
  const issue = async (ca: 'root' | 'inter', name: string, subject: string, ext: string, dates: string[] = ['-days', '3650']) => {
    const { keyPath, csr } = await keyAndCsr(name, subject);
    const certPath = path.join(dir, `${name}.pem`);
    await openssl('ca', '-batch', '-config', cnf, '-name', ca, '-in', csr, '-out', certPath, '-notext', '-preserveDN',
      '-extensions', ext, ...dates);
    return { keyPath, certPath };
  };
  const credential = (organId: string, subject: string, files: { keyPath: string; certPath: string }, chainPath?: string): TestCredential => ({
    organId,
    subject,
    ...files,
    ...(chainPath ? { chainPath } : {}),
    fingerprint: fingerprintOf(files.certPath),
  });

  // The intermediate must exist before anything it issues; the rest is independent.
  const inter = await issue('root', 'intermediate', '/C=VN/O=VDXP Test Sub CA/CN=VDXP Test Sub CA', 'v3_ca');
  fs.copyFileSync(inter.keyPath, path.join(dir, 'inter', 'ca.key'));
  fs.copyFileSync(inter.certPath, path.join(dir, 'inter', 'ca.pem'));

  const h41Subject = subjectFor(ORGAN_H41, 'So Noi vu');
  const g22Subject = subjectFor(ORGAN_G22, 'Bo Tai chinh');
  const a80Subject = subjectFor(ORGAN_A80, 'UBND xa Hoa Tien');
  // openssl ca writes to a shared index and serial file, so issuing stays sequential.
  const h41 = await issue('root', 'h41', h41Subject, 'v3_leaf');
  const g22 = await issue('root', 'g22', g22Subject, 'v3_leaf');
  const expired = await issue('root', 'expired', h41Subject, 'v3_leaf', ['-startdate', '20200101000000Z', '-enddate', '20210101000000Z']);
  const revoked = await issue('root', 'revoked', g22Subject, 'v3_leaf');
  const a80 = await issue('inter', 'a80', a80Subject, 'v3_leaf');
  const revokedUnderIntermediate = await issue('inter', 'a80-revoked', a80Subject, 'v3_leaf');

  await openssl('ca', '-config', cnf, '-name', 'root', '-revoke', revoked.certPath, '-crl_reason', 'keyCompromise');
  const crlPath = path.join(dir, 'root.crl.pem');
  await openssl('ca', '-config', cnf, '-name', 'root', '-gencrl', '-out', crlPath);
  await openssl('ca', '-config', cnf, '-name', 'inter', '-revoke', revokedUnderIntermediate.certPath, '-crl_reason', 'keyCompromise');
  const staleCrlPath = path.join(dir, 'root.stale.crl.pem');
  await openssl('ca', '-config', cnf, '-name', 'root', '-gencrl', '-crl_lastupdate', '20200101000000Z', '-crl_nextupdate', '20200201000000Z', '-out', staleCrlPath);
  const intermediateCrlPath = path.join(dir, 'inter.crl.pem');
  await openssl('ca', '-config', cnf, '-name', 'inter', '-gencrl', '-out', intermediateCrlPath);

  const attackerKey = path.join(dir, 'attacker.key');
  const attackerCert = path.join(dir, 'attacker.pem');
  await openssl('req', '-x509', '-config', cnf, '-newkey', 'rsa:2048', '-nodes', '-keyout', attackerKey, '-out', attackerCert,
    '-subj', h41Subject, '-days', '3650', '-extensions', 'v3_leaf');

  return {
    dir,
    rootCaPath: rootCert,
    rootCaKeyPath: rootKey,
    intermediateCaPath: inter.certPath,
    crlPath,
    intermediateCrlPath,
    staleCrlPath,
    h41: credential(ORGAN_H41, h41Subject, h41),
    g22: credential(ORGAN_G22, g22Subject, g22),
    a80: credential(ORGAN_A80, a80Subject, a80, inter.certPath),
    expired: credential(ORGAN_H41, h41Subject, expired),
    revoked: credential(ORGAN_G22, g22Subject, revoked),
    attacker: credential(ORGAN_H41, h41Subject, { keyPath: attackerKey, certPath: attackerCert }),
    revokedUnderIntermediate: credential(ORGAN_A80, a80Subject, revokedUnderIntermediate, inter.certPath),
  };
}

/**
 * One more certificate from the test PKI's root (or intermediate) CA, made at test time: for
 * subjects as the national PKI writes them (`/C=VN/O=…/CN=…/UID=MST:0301519977-029`, UTF-8).
 * Not in any CRL, so it is good under the PKI's CRLs. Issuing is sequential (one CA database).
 */
export async function issueCertificate(pki: TestPki, name: string, subject: string, ca: 'root' | 'inter' = 'root'): Promise<TestCredential & { serialNumber: string; issuer: string }> {
  const dir = pki.dir;
  const cnf = path.join(dir, 'openssl.cnf');
  const keyPath = path.join(dir, `${name}.key`);
  const certPath = path.join(dir, `${name}.pem`);
  const openssl = (...args: string[]) => run('openssl', args, { cwd: dir });
  if (!fs.existsSync(certPath)) {
    const csr = path.join(dir, `${name}.csr`);
    await openssl('req', '-new', '-utf8', '-config', cnf, '-newkey', 'rsa:2048', '-nodes', '-keyout', keyPath, '-out', csr, '-subj', subject);
    await openssl('ca', '-batch', '-utf8', '-config', cnf, '-name', ca, '-in', csr, '-out', certPath, '-notext', '-preserveDN', '-extensions', 'v3_leaf', '-days', '3650');
  }
  const cert = new X509Certificate(fs.readFileSync(certPath));
  const uid = /UID=([^/]+)/.exec(subject)?.[1] ?? '';
  return {
    organId: uid,
    subject,
    keyPath,
    certPath,
    ...(ca === 'inter' ? { chainPath: pki.intermediateCaPath } : {}),
    fingerprint: fingerprintOf(certPath),
    serialNumber: cert.serialNumber,
    issuer: cert.issuer.split('\n').join(', '),
  };
}

function fingerprintOf(certPath: string): string {
  return new X509Certificate(fs.readFileSync(certPath)).fingerprint256.replace(/:/g, '').toLowerCase();
}

function opensslConfig(dir: string): string {
  return `
[ req ]
distinguished_name = req_dn
prompt = no
[ req_dn ]
CN = placeholder
[ ca ]
default_ca = root
${caSection(dir, 'root')}
${caSection(dir, 'inter')}
[ policy_any ]
commonName = supplied
[ v3_ca ]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[ v3_leaf ]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,nonRepudiation
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
`;
}

/**
 * A PKI for OCSP tests, in its own directory: a root, an issuing CA under it (pathlen:0, like
 * the national G2 CAs) whose agency certificates name an OCSP responder at
 * http://127.0.0.1:<port>/ in authorityInfoAccess, the responder certificates `openssl ocsp`
 * signs with, and the openssl `ca` index it serves.
 */
export interface OcspTestPki {
  dir: string;
  port: number;
  /** The responder URL the agency certificates carry. */
  url: string;
  rootCaPath: string;
  /** The root's CRL (covers the issuing CA, which names no OCSP responder). */
  rootCrlPath: string;
  issuingCaPath: string;
  issuingCaKeyPath: string;
  /** SHA-256 of the issuing CA certificate (the key of trust.ocsp.responders). */
  issuingCaFingerprint: string;
  /** The issuing CA's CRL as `openssl ca` made it with nothing revoked (a fallback source). */
  issuingCrlPath: string;
  /** The openssl `ca` database of the issuing CA: every certificate it issued, all valid. */
  indexPath: string;
  /** A delegated responder: issued by the issuing CA with id-kp-OCSPSigning. */
  responder: { certPath: string; keyPath: string };
  /** Issued by the issuing CA, but without id-kp-OCSPSigning: may not sign responses. */
  responderWithoutEku: { certPath: string; keyPath: string };
  /** id-kp-OCSPSigning, but issued by another CA: may not sign responses for the issuing CA. */
  foreignResponder: { certPath: string; keyPath: string; caPath: string };
  /** Agency 000.00.00.H41 under the issuing CA, AIA pointing at the responder. */
  h41: TestCredential & { serial: string };
  /** Agency 000.00.00.G22 under the issuing CA, AIA pointing at the responder. */
  g22: TestCredential & { serial: string };
  /** Agency 000.00.00.A80 under the issuing CA, with no authorityInfoAccess (only a configured responder can answer). */
  a80NoAia: TestCredential & { serial: string };
}

export async function makeOcspPki(dir: string, port: number): Promise<OcspTestPki> {
  fs.mkdirSync(dir, { recursive: true });
  const url = `http://127.0.0.1:${port}/`;
  const cnf = path.join(dir, 'openssl.cnf');
  fs.writeFileSync(cnf, ocspOpensslConfig(dir, url));
  for (const ca of ['root', 'issuing', 'other']) {
    fs.mkdirSync(path.join(dir, ca, 'newcerts'), { recursive: true });
    fs.writeFileSync(path.join(dir, ca, 'index.txt'), '');
    fs.writeFileSync(path.join(dir, ca, 'serial'), { root: '1000\n', issuing: '3000\n', other: '5000\n' }[ca]!);
    fs.writeFileSync(path.join(dir, ca, 'crlnumber'), '01\n');
  }
  const openssl = (...args: string[]) => run('openssl', args, { cwd: dir });
  const selfSigned = async (ca: string, subject: string) => {
    await openssl('req', '-x509', '-config', cnf, '-newkey', 'rsa:2048', '-nodes', '-keyout', path.join(dir, ca, 'ca.key'), '-out', path.join(dir, ca, 'ca.pem'),
      '-subj', subject, '-days', '3650', '-extensions', 'v3_root');
  };
  const issue = async (ca: string, name: string, subject: string, ext: string) => {
    const keyPath = path.join(dir, `${name}.key`);
    const csr = path.join(dir, `${name}.csr`);
    const certPath = path.join(dir, `${name}.pem`);
    await openssl('req', '-new', '-config', cnf, '-newkey', 'rsa:2048', '-nodes', '-keyout', keyPath, '-out', csr, '-subj', subject);
    await openssl('ca', '-batch', '-config', cnf, '-name', ca, '-in', csr, '-out', certPath, '-notext', '-preserveDN', '-extensions', ext, '-days', '3650');
    return { keyPath, certPath };
  };
  await selfSigned('root', '/C=VN/O=VDXP OCSP Test Root/CN=VDXP OCSP Test Root');
  await selfSigned('other', '/C=VN/O=VDXP Other CA/CN=VDXP Other CA');
  const issuing = await issue('root', 'issuing-ca', '/C=VN/O=VDXP OCSP Test Issuing CA/CN=VDXP OCSP Test Issuing CA', 'v3_issuing');
  fs.copyFileSync(issuing.keyPath, path.join(dir, 'issuing', 'ca.key'));
  fs.copyFileSync(issuing.certPath, path.join(dir, 'issuing', 'ca.pem'));
  const responder = await issue('issuing', 'responder', '/C=VN/O=VDXP OCSP Test Issuing CA/CN=OCSP responder', 'v3_responder');
  const responderWithoutEku = await issue('issuing', 'responder-no-eku', '/C=VN/O=VDXP OCSP Test Issuing CA/CN=Not an OCSP responder', 'v3_not_responder');
  const foreign = await issue('other', 'responder-foreign', '/C=VN/O=VDXP Other CA/CN=Foreign OCSP responder', 'v3_responder');
  const leaf = async (name: string, organId: string, org: string, ext: string) => {
    const subject = subjectFor(organId, org);
    const files = await issue('issuing', name, subject, ext);
    return { organId, subject, ...files, chainPath: issuing.certPath, fingerprint: fingerprintOf(files.certPath), serial: new X509Certificate(fs.readFileSync(files.certPath)).serialNumber.toUpperCase() };
  };
  const h41 = await leaf('ocsp-h41', ORGAN_H41, 'So Noi vu', 'v3_leaf_aia');
  const g22 = await leaf('ocsp-g22', ORGAN_G22, 'Bo Tai chinh', 'v3_leaf_aia');
  const a80NoAia = await leaf('ocsp-a80', ORGAN_A80, 'UBND xa Hoa Tien', 'v3_leaf');
  const rootCrlPath = path.join(dir, 'root.crl.pem');
  await openssl('ca', '-config', cnf, '-name', 'root', '-gencrl', '-out', rootCrlPath);
  const issuingCrlPath = path.join(dir, 'issuing.crl.pem');
  await openssl('ca', '-config', cnf, '-name', 'issuing', '-gencrl', '-out', issuingCrlPath);
  return {
    dir,
    port,
    url,
    rootCaPath: path.join(dir, 'root', 'ca.pem'),
    rootCrlPath,
    issuingCaPath: issuing.certPath,
    issuingCaKeyPath: issuing.keyPath,
    issuingCaFingerprint: fingerprintOf(issuing.certPath),
    issuingCrlPath,
    indexPath: path.join(dir, 'issuing', 'index.txt'),
    responder,
    responderWithoutEku,
    foreignResponder: { ...foreign, caPath: path.join(dir, 'other', 'ca.pem') },
    h41,
    g22,
    a80NoAia,
  };
}

/**
 * A copy of the issuing CA's index in which the certificates with these serials are revoked (as
 * `openssl ca -revoke` writes it: R, the revocation time, keyCompromise), for a restarted responder.
 */
export function indexWithRevoked(pki: OcspTestPki, serials: readonly string[], file = path.join(pki.dir, `index-revoked-${serials.join('-') || 'none'}.txt`)): string {
  const when = new Date().toISOString().replace(/[-:T]/g, '').slice(2, 14) + 'Z';
  const lines = fs.readFileSync(pki.indexPath, 'utf8').split('\n').map((line) => {
    const fields = line.split('\t');
    if (fields.length < 6 || fields[0] !== 'V' || !serials.some((s) => s.toUpperCase() === fields[3]!.toUpperCase())) return line;
    return ['R', fields[1], `${when},keyCompromise`, ...fields.slice(3)].join('\t');
  });
  fs.writeFileSync(file, lines.join('\n'));
  fs.writeFileSync(`${file}.attr`, 'unique_subject = no\n');
  return file;
}

function ocspOpensslConfig(dir: string, url: string): string {
  return `${opensslConfig(dir).replace(/\[ ca \][\s\S]*?\[ policy_any \]/, `[ ca ]
default_ca = root
${['root', 'issuing', 'other'].map((name) => caSection(dir, name)).join('\n')}
[ policy_any ]`)}
[ v3_root ]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[ v3_issuing ]
basicConstraints = critical,CA:TRUE,pathlen:0
keyUsage = critical,keyCertSign,cRLSign,digitalSignature
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[ v3_responder ]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = OCSPSigning
noCheck = ignored
[ v3_not_responder ]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = emailProtection
[ v3_leaf_aia ]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,nonRepudiation
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
authorityInfoAccess = OCSP;URI:${url}
`;
}

function caSection(dir: string, name: string): string {
  return `
[ ${name} ]
dir = ${path.join(dir, name)}
database = $dir/index.txt
serial = $dir/serial
crlnumber = $dir/crlnumber
new_certs_dir = $dir/newcerts
certificate = $dir/ca.pem
private_key = $dir/ca.key
default_md = sha256
default_crl_days = 30
policy = policy_any
unique_subject = no
`;
}
