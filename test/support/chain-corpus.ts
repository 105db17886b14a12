/**
 * Certificate paths made with the openssl CLI at test time, one small PKI per case, for the
 * differential test of the path validator against `openssl verify`. A case lists its
 * certificates (issuers first, the signer last) as openssl extension lines; every CA of the case
 * publishes a CRL unless the case says otherwise. No key is ever committed: a pool of keys is
 * generated once per run.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface CertSpec {
  /** File stem and the name other specs use as `issuer`; the first spec is the trust anchor. */
  name: string;
  /** Name of the issuing spec; undefined for a self-signed certificate. */
  issuer?: string;
  subject: string;
  /** openssl x509v3 config lines of the `[ext]` section; further sections may follow after a blank line. */
  ext: string;
  /** Key pool entry (default: one per role, see keyFor). */
  key?: string;
  /** openssl ca -startdate / -enddate (YYYYMMDDHHMMSSZ). */
  dates?: [string, string];
  md?: 'sha256' | 'sha1';
  /** Made, and used to issue, but not shipped in the chain (an issuer the verifier must not find). */
  hidden?: boolean;
}

export interface BuiltCase {
  dir: string;
  anchorPath: string;
  /** Certificates between the signer and the anchor, as one PEM file (openssl -untrusted); undefined when there are none. */
  untrustedPath: string | undefined;
  leafPath: string;
  leafKeyPath: string;
  /** The intermediates as PEM (what `chainPem` of signing credentials holds); empty when none. */
  chainPem: string;
  /** DER of the signer then the intermediates: what a document's KeyInfo would carry. */
  keyInfoDer: Buffer[];
  crlPaths: string[];
}

export const ROOT_EXT = [
  'basicConstraints = critical,CA:TRUE',
  'keyUsage = critical,keyCertSign,cRLSign',
  'subjectKeyIdentifier = hash',
  'authorityKeyIdentifier = keyid:always',
].join('\n');

export const CA_EXT = ROOT_EXT;

/** The extensions of the real G2 issuing CAs (../shared/national-ca/ca-nha-nuoc-g2.pem), imitated. */
export const G2_ISSUING_EXT = [
  'basicConstraints = critical,CA:TRUE,pathlen:0',
  'keyUsage = critical,keyCertSign,cRLSign',
  'certificatePolicies = @g2_policy',
  'crlDistributionPoints = URI:http://ca.gov.vn/pki/pub/crl/rootcag2.crl',
  'authorityInfoAccess = caIssuers;URI:http://ca.gov.vn/pki/pub/crt/rootcag2.crt,OCSP;URI:http://ocsp.ca.gov.vn/',
  'subjectKeyIdentifier = hash',
  'authorityKeyIdentifier = keyid:always',
  '',
  '[ g2_policy ]',
  'policyIdentifier = 2.16.704.1.1.1.1.1',
  'CPS.1 = https://ca.gov.vn/pki/pub/policies/CP',
].join('\n');

export const LEAF_EXT = [
  'basicConstraints = critical,CA:FALSE',
  'keyUsage = critical,digitalSignature,nonRepudiation',
  'subjectKeyIdentifier = hash',
  'authorityKeyIdentifier = keyid',
].join('\n');

/** An agency certificate as the G2 issuing CAs would make it: policy, CRL and OCSP pointers, UID. */
export const G2_AGENCY_EXT = [
  LEAF_EXT,
  'extendedKeyUsage = emailProtection,clientAuth',
  'certificatePolicies = 2.16.704.1.1.1.1.1',
  'crlDistributionPoints = URI:http://ca.gov.vn/pki/pub/crl/cpcag2.crl',
  'authorityInfoAccess = OCSP;URI:http://ocsp.ca.gov.vn/',
].join('\n');

export const ROOT_SUBJECT = '/C=VN/O=Ban Co yeu Chinh phu/CN=RootCA chuyen dung Chinh phu G2 (test)';
export const ISSUING_SUBJECT = '/C=VN/O=Ban Co yeu Chinh phu/CN=CA phuc vu cac co quan Nha nuoc G2 (test)';
export const agencySubject = (organId: string, name = 'Van phong Chinh phu') => `/C=VN/O=${name}/CN=${name}/UID=${organId}`;

const KEY_POOL = ['root', 'issuing', 'sub', 'leaf', 'rogue', 'impostor', 'weak'] as const;

let pool: Promise<string> | undefined;
const madeDirs: string[] = [];
process.once('exit', () => madeDirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

/** A directory of keys, generated once per run: RSA 2048 for each role, RSA 1024 as `weak`. */
function keyPool(): Promise<string> {
  pool ??= (async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vdxp-chain-keys-'));
    madeDirs.push(dir);
    await Promise.all(
      KEY_POOL.map((k) => run('openssl', ['genpkey', '-algorithm', 'RSA', '-pkeyopt', `rsa_keygen_bits:${k === 'weak' ? 1024 : 2048}`, '-out', path.join(dir, `${k}.key`)])),
    );
    return dir;
  })();
  return pool;
}

function keyFor(spec: CertSpec, index: number): string {
  if (spec.key) return spec.key;
  if (index === 0) return 'root';
  if (spec.name.startsWith('leaf')) return 'leaf';
  return (['issuing', 'sub', 'rogue'] as const)[Math.min(index - 1, 2)]!;
}

export async function buildCase(specs: readonly CertSpec[], options: { revoke?: string[]; crlsFrom?: string[] } = {}): Promise<BuiltCase> {
  const keys = await keyPool();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vdxp-chain-case-'));
  madeDirs.push(dir);
  const openssl = (...args: string[]) => run('openssl', args, { cwd: dir });
  const certPath = (name: string) => path.join(dir, `${name}.pem`);
  const keyPath = (name: string) => path.join(keys, `${keyFor(specs.find((s) => s.name === name)!, specs.findIndex((s) => s.name === name))}.key`);
  const issuers = new Set(specs.map((s) => s.issuer).filter((i): i is string => i !== undefined));

  // One `openssl ca` section per issuing certificate, each with its own database and serials.
  const sections = [...issuers].map((name, i) => {
    const caDir = path.join(dir, `ca-${name}`);
    fs.mkdirSync(path.join(caDir, 'newcerts'), { recursive: true });
    fs.writeFileSync(path.join(caDir, 'index.txt'), '');
    fs.writeFileSync(path.join(caDir, 'serial'), `${(0x1000 * (i + 1) + Math.floor(Math.random() * 0xfff)).toString(16)}\n`);
    fs.writeFileSync(path.join(caDir, 'crlnumber'), '01\n');
    return `[ ca_${name} ]\ndir = ${caDir}\ndatabase = $dir/index.txt\nserial = $dir/serial\ncrlnumber = $dir/crlnumber\nnew_certs_dir = $dir/newcerts\ncertificate = ${certPath(name)}\nprivate_key = ${keyPath(name)}\ndefault_md = sha256\ndefault_crl_days = 30\npolicy = policy_any\nunique_subject = no\n`;
  });
  const cnf = path.join(dir, 'openssl.cnf');
  fs.writeFileSync(cnf, `[ req ]\ndistinguished_name = dn\nprompt = no\n[ dn ]\nCN = x\n[ policy_any ]\ncommonName = optional\n${sections.join('\n')}`);

  for (const [index, spec] of specs.entries()) {
    const extFile = path.join(dir, `${spec.name}.ext`);
    fs.writeFileSync(extFile, `[ ext ]\n${spec.ext}\n`);
    const key = path.join(keys, `${keyFor(spec, index)}.key`);
    if (!spec.issuer) {
      const selfCnf = path.join(dir, `${spec.name}.req.cnf`);
      fs.writeFileSync(selfCnf, `[ req ]\ndistinguished_name = dn\nprompt = no\n[ dn ]\nCN = x\n[ ext ]\n${spec.ext}\n`);
      await openssl('req', '-x509', '-config', selfCnf, '-key', key, '-subj', spec.subject, '-days', '3650', `-${spec.md ?? 'sha256'}`, '-extensions', 'ext', '-out', certPath(spec.name));
      continue;
    }
    const csr = path.join(dir, `${spec.name}.csr`);
    await openssl('req', '-new', '-config', cnf, '-key', key, '-subj', spec.subject, '-out', csr);
    const dates = spec.dates ? ['-startdate', spec.dates[0], '-enddate', spec.dates[1]] : ['-days', '3650'];
    await openssl('ca', '-batch', '-config', cnf, '-name', `ca_${spec.issuer}`, '-in', csr, '-out', certPath(spec.name), '-notext', '-preserveDN',
      '-extfile', extFile, '-extensions', 'ext', '-md', spec.md ?? 'sha256', ...dates);
  }

  for (const name of options.revoke ?? []) {
    const spec = specs.find((s) => s.name === name)!;
    await openssl('ca', '-config', cnf, '-name', `ca_${spec.issuer}`, '-revoke', certPath(name), '-crl_reason', 'keyCompromise');
  }
  const crlPaths: string[] = [];
  for (const name of options.crlsFrom ?? [...issuers]) {
    const crl = path.join(dir, `${name}.crl.pem`);
    await openssl('ca', '-config', cnf, '-name', `ca_${name}`, '-gencrl', '-out', crl);
    crlPaths.push(crl);
  }

  const leaf = specs[specs.length - 1]!;
  const middle = specs.slice(1, -1).filter((s) => !s.hidden);
  let untrustedPath: string | undefined;
  if (middle.length > 0) {
    untrustedPath = path.join(dir, 'untrusted.pem');
    fs.writeFileSync(untrustedPath, middle.map((s) => fs.readFileSync(certPath(s.name), 'utf8')).join(''));
  }
  const der = (name: string) => {
    const pem = fs.readFileSync(certPath(name), 'utf8');
    return Buffer.from(pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
  };
  return {
    dir,
    anchorPath: certPath(specs[0]!.name),
    untrustedPath,
    leafPath: certPath(leaf.name),
    leafKeyPath: keyPath(leaf.name),
    chainPem: middle.map((s) => fs.readFileSync(certPath(s.name), 'utf8')).join(''),
    keyInfoDer: [der(leaf.name), ...middle.map((s) => der(s.name))],
    crlPaths,
  };
}

export interface OpensslVerdict {
  ok: boolean;
  /** X509_V_ERR code of the first error, when not ok. */
  error: number | undefined;
  output: string;
}

/**
 * `openssl verify -x509_strict` as the reference: the signing purpose closest to ours (smimesign: keyUsage
 * digitalSignature or nonRepudiation, extendedKeyUsage emailProtection where present, on the
 * leaf and on the CAs), security level 2 (RSA ≥ 2048, no SHA-1 signatures), every CRL checked
 * (-crl_check_all), at `at`.
 */
export async function opensslVerify(built: BuiltCase, at: Date): Promise<OpensslVerdict> {
  const args = ['verify', '-x509_strict', '-purpose', 'smimesign', '-auth_level', '2', '-crl_check_all', '-attime', String(Math.floor(at.getTime() / 1000)), '-CAfile', built.anchorPath];
  if (built.untrustedPath) args.push('-untrusted', built.untrustedPath);
  for (const crl of built.crlPaths) args.push('-CRLfile', crl);
  args.push(built.leafPath);
  try {
    const { stdout, stderr } = await run('openssl', args);
    return { ok: /: OK\s*$/.test(stdout), error: undefined, output: stdout + stderr };
  } catch (err) {
    const output = `${(err as { stdout?: string }).stdout ?? ''}${(err as { stderr?: string }).stderr ?? ''}`;
    const code = /error (\d+) at/.exec(output);
    return { ok: false, error: code ? Number(code[1]) : undefined, output };
  }
}
