import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as https from 'node:https';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { HttpSource } from '../../../src/connectors/http';
import { makeTestPki, type TestPki } from '../../support/pki';

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

  before(async () => {
    pki = await makeTestPki();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vdxp-mtls-'));
    const key = path.join(dir, 'server.key');
    const cert = path.join(dir, 'server.pem');
    await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-subj', '/CN=127.0.0.1', '-days', '1', '-addext', 'subjectAltName=IP:127.0.0.1']);
    source = new HttpSource('ingest', { host: '127.0.0.1', port: 0, auth: { mutualTls: true }, tls: { certFile: cert, keyFile: key, caFile: pki.rootCaPath } });
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
});
