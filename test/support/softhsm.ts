/**
 * SoftHSM2 tokens made at test time (Debian `softhsm2`, with `opensc` for pkcs11-tool): each in
 * its own SOFTHSM2_CONF directory, its RSA key generated inside the token (sensitive, never
 * extractable unless asked), and a certificate for that key issued by the test PKI's root CA.
 * The CSR is made with a throwaway key and the token key's public key is forced into the
 * certificate (`openssl x509 -force_pubkey`): the token's private key is never outside it.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { X509Certificate } from 'node:crypto';
import type { TestPki } from './pki';

const run = promisify(execFile);

export const SOFTHSM_MODULE = '/usr/lib/softhsm/libsofthsm2.so';
/** OpenSC's PKCS#11 spy: forwards every call to $PKCS11SPY and logs it (PIN included) to $PKCS11SPY_OUTPUT. */
export const SPY_MODULE = '/usr/lib/x86_64-linux-gnu/pkcs11/pkcs11-spy.so';

export interface TestToken {
  /** The SOFTHSM2_CONF file: every process using the token needs it in its environment. */
  conf: string;
  /** The directory SoftHSM keeps its tokens in (directories.tokendir). */
  tokenDir: string;
  label: string;
  serial: string;
  pin: string;
  pinFile: string;
  keyLabel: string;
  /** CKA_ID in hex. */
  keyId: string;
  /** The certificate the test root issued for the token's key (also written to the token when asked). */
  certPath: string;
  fingerprint: string;
}

export interface TokenOptions {
  /** Where the SoftHSM configuration and token store go (created). Several tokens may share one. */
  dir: string;
  label: string;
  /** Certificate subject, e.g. `/C=VN/O=So Noi vu/CN=So Noi vu 000.00.00.H41/UID=000.00.00.H41`. */
  subject: string;
  pki: TestPki;
  pin?: string;
  keyLabel?: string;
  keyId?: string;
  /** Generate the key as extractable and not sensitive (to test that the connector refuses it). */
  exportable?: boolean;
  /** Also store the certificate on the token, with the key's id and label. */
  certificateOnToken?: boolean;
}

export function softHsmEnv(conf: string): NodeJS.ProcessEnv {
  return { ...process.env, SOFTHSM2_CONF: conf };
}

/** The SOFTHSM2_CONF of `dir`, created with an empty token store if it does not exist yet. */
export function softHsmConf(dir: string): string {
  const conf = path.join(dir, 'softhsm2.conf');
  if (!fs.existsSync(conf)) {
    fs.mkdirSync(path.join(dir, 'tokens'), { recursive: true });
    fs.writeFileSync(conf, `directories.tokendir = ${path.join(dir, 'tokens')}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n`);
  }
  return conf;
}

export async function makeToken(options: TokenOptions): Promise<TestToken> {
  const conf = softHsmConf(options.dir);
  const env = softHsmEnv(conf);
  const pin = options.pin ?? '4711-2026';
  const keyLabel = options.keyLabel ?? 'agency-signing';
  const keyId = options.keyId ?? '01';
  await run('softhsm2-util', ['--init-token', '--free', '--label', options.label, '--pin', pin, '--so-pin', 'so-secret-2026'], { env });
  const tool = (...args: string[]) => run('pkcs11-tool', ['--module', SOFTHSM_MODULE, '--token-label', options.label, ...args], { env });
  await tool('--login', '--pin', pin, '--keypairgen', '--key-type', 'rsa:2048', '--label', keyLabel, '--id', keyId, '--usage-sign', ...(options.exportable ? ['--extractable'] : ['--sensitive']));

  const base = path.join(options.dir, options.label);
  await tool('--read-object', '--type', 'pubkey', '--id', keyId, '-o', `${base}.pub.der`);
  await run('openssl', ['pkey', '-pubin', '-inform', 'DER', '-in', `${base}.pub.der`, '-out', `${base}.pub.pem`]);
  const cnf = path.join(options.pki.dir, 'openssl.cnf');
  await run('openssl', ['req', '-new', '-config', cnf, '-newkey', 'rsa:2048', '-nodes', '-keyout', `${base}.throwaway.key`, '-out', `${base}.csr`, '-subj', options.subject]);
  const certPath = `${base}.pem`;
  await run('openssl', ['x509', '-req', '-in', `${base}.csr`, '-CA', options.pki.rootCaPath, '-CAkey', options.pki.rootCaKeyPath, '-set_serial', `0x${Date.now().toString(16)}${Math.floor(Math.random() * 1e6).toString(16)}`,
    '-force_pubkey', `${base}.pub.pem`, '-extfile', cnf, '-extensions', 'v3_leaf', '-days', '3650', '-sha256', '-out', certPath]);
  fs.rmSync(`${base}.throwaway.key`);
  if (options.certificateOnToken) {
    await run('openssl', ['x509', '-in', certPath, '-outform', 'DER', '-out', `${base}.der`]);
    await tool('--login', '--pin', pin, '--write-object', `${base}.der`, '--type', 'cert', '--id', keyId, '--label', keyLabel);
  }
  const pinFile = `${base}.pin`;
  fs.writeFileSync(pinFile, `${pin}\n`, { mode: 0o600 });
  const serial = await serialOf(conf, options.label);
  return {
    conf,
    tokenDir: path.join(options.dir, 'tokens'),
    label: options.label,
    serial,
    pin,
    pinFile,
    keyLabel,
    keyId,
    certPath,
    fingerprint: new X509Certificate(fs.readFileSync(certPath)).fingerprint256.replace(/:/g, '').toLowerCase(),
  };
}

async function serialOf(conf: string, label: string): Promise<string> {
  const { stdout } = await run('softhsm2-util', ['--show-slots'], { env: softHsmEnv(conf) });
  for (const block of stdout.split(/\nSlot /)) {
    const l = /Label:\s*(.*)/.exec(block)?.[1]?.trim();
    const s = /Serial number:\s*(.*)/.exec(block)?.[1]?.trim();
    if (l === label && s) return s;
  }
  throw new Error(`softhsm2-util --show-slots lists no token ${label}`);
}

/** The directory SoftHSM keeps this one token in (tokens/<uuid>/, found by the serial in token.object). */
export function storeOf(token: TestToken): string {
  for (const name of fs.readdirSync(token.tokenDir)) {
    const object = path.join(token.tokenDir, name, 'token.object');
    if (fs.existsSync(object) && fs.readFileSync(object).includes(Buffer.from(token.serial))) return path.join(token.tokenDir, name);
  }
  throw new Error(`no SoftHSM store for token ${token.label} (serial ${token.serial}) in ${token.tokenDir}`);
}

/** C_Login calls in a pkcs11-spy log, and the PKCS#11 return value of each. */
export function spyLogins(spyLog: string): string[] {
  if (!fs.existsSync(spyLog)) return [];
  const text = fs.readFileSync(spyLog, 'latin1');
  return [...text.matchAll(/\d+: C_Login\n[\s\S]*?Returned:\s+\d+\s+(CKR_\w+)/g)].map((m) => m[1]!);
}
