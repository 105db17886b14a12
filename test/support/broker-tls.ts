/**
 * A Kafka broker with a SASL_SSL listener (SCRAM) for tests, and the TLS material it needs, made
 * with the openssl CLI at test time: a backbone CA, a broker certificate for 127.0.0.1 issued by
 * it, a PKCS12 keystore for the broker, and a second, unrelated CA that a misconfigured client
 * might trust instead. Nothing here is ever committed.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from './paths';
import { freePort } from './ports';

export { freePort };

const run = promisify(execFile);

export interface BrokerTls {
  /** PEM CA that issued the broker certificate: what a correctly configured client trusts. */
  caFile: string;
  /** PEM CA that issued nothing the broker presents: trusting only this must fail verification. */
  untrustedCaFile: string;
  /** PKCS12 with the broker's key and certificate chain. */
  keystoreFile: string;
  keystorePassword: string;
}

const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

async function makeCa(dir: string, name: string, commonName: string): Promise<{ cert: string; key: string }> {
  const cert = path.join(dir, `${name}.crt`);
  const key = path.join(dir, `${name}.key`);
  await run('openssl', [
    'req', '-x509', ...EC_KEY, '-keyout', key, '-out', cert, '-days', '2', '-subj', `/CN=${commonName}`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  return { cert, key };
}

export async function makeBrokerTls(dir: string): Promise<BrokerTls> {
  fs.mkdirSync(dir, { recursive: true });
  const [ca, untrusted] = await Promise.all([
    makeCa(dir, 'backbone-ca', 'VDXP test backbone CA'),
    makeCa(dir, 'untrusted-ca', 'Some other CA'),
  ]);
  const key = path.join(dir, 'broker.key');
  const csr = path.join(dir, 'broker.csr');
  const cert = path.join(dir, 'broker.crt');
  const extensions = path.join(dir, 'broker.ext');
  fs.writeFileSync(
    extensions,
    ['basicConstraints=CA:FALSE', 'keyUsage=critical,digitalSignature', 'extendedKeyUsage=serverAuth', 'subjectAltName=IP:127.0.0.1,DNS:localhost', ''].join('\n'),
  );
  await run('openssl', ['req', '-new', ...EC_KEY, '-keyout', key, '-out', csr, '-subj', '/CN=127.0.0.1']);
  await run('openssl', ['x509', '-req', '-in', csr, '-CA', ca.cert, '-CAkey', ca.key, '-CAcreateserial', '-out', cert, '-days', '2', '-extfile', extensions]);

  const keystoreFile = path.join(dir, 'broker.p12');
  const keystorePassword = randomBytes(18).toString('hex');
  await run('openssl', ['pkcs12', '-export', '-inkey', key, '-in', cert, '-certfile', ca.cert, '-name', 'broker', '-out', keystoreFile, '-passout', 'env:VDXP_KEYSTORE_PASSWORD'], {
    env: { ...process.env, VDXP_KEYSTORE_PASSWORD: keystorePassword },
  });
  return { caFile: ca.cert, untrustedCaFile: untrusted.cert, keystoreFile, keystorePassword };
}

export interface SecureBrokerOptions {
  tls: BrokerTls;
  /** SCRAM users created when the broker's storage is formatted: name → password (letters and digits). */
  users: Record<string, string>;
  /** Holds the broker's data and logs; one directory per broker. */
  runDir: string;
  mechanism?: 'SCRAM-SHA-256' | 'SCRAM-SHA-512';
  /**
   * The KRaft StandardAuthorizer, deny by default: only these users (among `users`) and the
   * broker's own are super users; every other principal has what an ACL grants.
   */
  authorizer?: { superUsers: string[] };
}

export interface SecureBroker {
  /** host:port of the SASL_SSL listener. */
  bootstrap: string;
  logFile: string;
  /** The broker's server.properties. */
  propertiesFile: string;
  stop(): Promise<void>;
}

const KAFKA_SCRIPT = path.join(REPO_ROOT, 'scripts', 'kafka.sh');

/** Starts a single-node broker whose only client listener is SASL_SSL, on free ports; resolves once it serves SCRAM clients. */
export async function startSecureBroker(options: SecureBrokerOptions): Promise<SecureBroker> {
  for (const [name, password] of Object.entries(options.users)) {
    if (!/^[A-Za-z0-9._-]+$/.test(name) || !/^[A-Za-z0-9]+$/.test(password)) throw new Error(`SCRAM user ${name}: name or password has characters --add-scram would need quoted`);
  }
  const port = await freePort();
  let controllerPort = await freePort();
  while (controllerPort === port) controllerPort = await freePort();
  const env = {
    ...process.env,
    VDXP_RUN_DIR: options.runDir,
    KAFKA_PORT: String(port),
    KAFKA_CONTROLLER_PORT: String(controllerPort),
    KAFKA_CLUSTER_ID: clusterId(),
    KAFKA_SECURITY: 'sasl_ssl',
    KAFKA_SSL_KEYSTORE: options.tls.keystoreFile,
    KAFKA_SSL_KEYSTORE_PASSWORD: options.tls.keystorePassword,
    KAFKA_SSL_CA: options.tls.caFile,
    KAFKA_SCRAM_MECHANISM: options.mechanism ?? 'SCRAM-SHA-512',
    KAFKA_SCRAM_USERS: Object.entries(options.users).map(([name, password]) => `${name}=${password}`).join(' '),
    KAFKA_AUTHORIZER: options.authorizer ? 'standard' : 'none',
    KAFKA_SUPER_USERS: options.authorizer?.superUsers.join(' ') ?? '',
  };
  const logFile = path.join(options.runDir, `kafka-${port}`, 'kafka.log');
  try {
    // Two JVM starts (storage format, broker) and the broker start-up: over a minute on a busy 2-core machine.
    await run('bash', [KAFKA_SCRIPT, 'start'], { env, timeout: 110_000 });
  } catch (err) {
    const e = err as Error & { stderr?: string; killed?: boolean };
    await run('bash', [KAFKA_SCRIPT, 'stop'], { env }).catch(() => undefined);
    throw new Error(`secure broker did not start${e.killed ? ' within 110 s' : ''}: ${e.stderr?.trim() || e.message} (broker log: ${logFile})`);
  }
  return {
    bootstrap: `127.0.0.1:${port}`,
    logFile,
    propertiesFile: path.join(options.runDir, `kafka-${port}`, 'server.properties'),
    stop: async () => {
      await run('bash', [KAFKA_SCRIPT, 'stop'], { env });
    },
  };
}

/** What `StorageTool random-uuid` prints (16 random bytes, base64url), without its JVM start; never starting with '-', which would read as an option. */
function clusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

