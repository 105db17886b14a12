import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as https from 'node:https';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { HttpSink, HttpSource } from '../../../src/connectors/http';
import { DeliveryError } from '../../../src/connectors/types';
import { makeTestPki, type TestPki } from '../../support/pki';
import { freePort } from '../../support/ports';

const run = promisify(execFile);

function post(port: number, client?: { key: Buffer; cert: Buffer }): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = https.request({ host: '127.0.0.1', port, path: '/documents', method: 'POST', rejectUnauthorized: false, ...client }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end('{"subject":"x"}');
  });
}

describe('HTTP ingest with mutual TLS', function () {
  this.timeout(20_000);
  let pki: TestPki;
  let source: HttpSource;
  let accepted = 0;
  let serverCert: string;

  before(async () => {
    pki = await makeTestPki();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vdxp-mtls-'));
    const key = path.join(dir, 'server.key');
    const cert = path.join(dir, 'server.pem');
    await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-subj', '/CN=127.0.0.1', '-days', '1', '-addext', 'subjectAltName=IP:127.0.0.1']);
    serverCert = cert;
    source = new HttpSource('ingest', { host: '127.0.0.1', port: await freePort(), auth: { mutualTls: true }, tls: { certFile: cert, keyFile: key, caFile: pki.rootCaPath } });
    await source.start((_m, s) => ((accepted += 1), s.accepted()));
  });

  after(() => source.stop());

  it('accepts a client certificate issued under the configured CA, and refuses a connection without one or with an untrusted one', async () => {
    const genuine = { key: fs.readFileSync(pki.h41.keyPath), cert: fs.readFileSync(pki.h41.certPath) };
    assert.equal(await post(source.port!, genuine), 202);
    assert.equal(accepted, 1);
    await assert.rejects(post(source.port!));
    await assert.rejects(post(source.port!, { key: fs.readFileSync(pki.attacker.keyPath), cert: fs.readFileSync(pki.attacker.certPath) }));
    assert.equal(accepted, 1, 'nothing handed over without a trusted client certificate');
  });

  it('the HTTP sink delivers over TLS with its client certificate and CA file, and fails transiently when the server is not trusted', async () => {
    const url = `https://127.0.0.1:${source.port}/documents`;
    const message = { body: Buffer.from('{}'), fileName: 'a.json', contentType: 'application/json', sideFiles: [] };
    const context = { documentId: 'D', idempotencyKey: 'K', kind: 'edoc' as const, fromOrganId: 'X' };
    const before = accepted;
    const sink = new HttpSink('vendor', { url, tls: { caFile: serverCert, certFile: pki.h41.certPath, keyFile: pki.h41.keyPath } });
    await sink.start();
    await sink.deliver(message, context);
    assert.equal(accepted, before + 1);
    const untrusting = new HttpSink('vendor', { url, tls: { caFile: pki.rootCaPath, certFile: pki.h41.certPath, keyFile: pki.h41.keyPath } });
    await untrusting.start();
    await assert.rejects(untrusting.deliver(message, context), (err: unknown) => err instanceof DeliveryError && err.transient);
    assert.equal(accepted, before + 1);
  });
});
