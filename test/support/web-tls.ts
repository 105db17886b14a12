/**
 * TLS material for the trail's web page, made with the openssl CLI at test time: a CA, a server
 * certificate for 127.0.0.1, a client certificate from that CA, and a client certificate from a
 * CA the page does not trust. Nothing here is ever committed.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

export interface WebTls {
  caFile: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  strangerCert: string;
  strangerKey: string;
}

async function ca(dir: string, name: string): Promise<{ cert: string; key: string }> {
  const cert = path.join(dir, `${name}.crt`);
  const key = path.join(dir, `${name}.key`);
  await run('openssl', ['req', '-x509', ...EC_KEY, '-keyout', key, '-out', cert, '-days', '2', '-subj', `/CN=${name}`, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  return { cert, key };
}

async function leaf(dir: string, name: string, issuer: { cert: string; key: string }, usage: string): Promise<{ cert: string; key: string }> {
  const key = path.join(dir, `${name}.key`);
  const csr = path.join(dir, `${name}.csr`);
  const cert = path.join(dir, `${name}.crt`);
  const ext = path.join(dir, `${name}.ext`);
  fs.writeFileSync(ext, ['basicConstraints=CA:FALSE', 'keyUsage=critical,digitalSignature', `extendedKeyUsage=${usage}`, 'subjectAltName=IP:127.0.0.1,DNS:localhost', ''].join('\n'));
  await run('openssl', ['req', '-new', ...EC_KEY, '-keyout', key, '-out', csr, '-subj', `/CN=${name}`]);
  await run('openssl', ['x509', '-req', '-in', csr, '-CA', issuer.cert, '-CAkey', issuer.key, '-CAcreateserial', '-out', cert, '-days', '2', '-extfile', ext]);
  return { cert, key };
}

export async function makeWebTls(dir: string): Promise<WebTls> {
  fs.mkdirSync(dir, { recursive: true });
  const [root, other] = await Promise.all([ca(dir, 'trail-web-ca'), ca(dir, 'stranger-ca')]);
  const [server, client, stranger] = await Promise.all([leaf(dir, 'server', root, 'serverAuth'), leaf(dir, 'clerk', root, 'clientAuth'), leaf(dir, 'stranger', other, 'clientAuth')]);
  return { caFile: root.cert, serverCert: server.cert, serverKey: server.key, clientCert: client.cert, clientKey: client.key, strangerCert: stranger.cert, strangerKey: stranger.key };
}
