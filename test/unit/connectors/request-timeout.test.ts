/**
 * `requestTimeoutSeconds` of the two listeners (HTTP ingest, VXP API): a request whose body is still
 * arriving when the limit passes is cut off and nothing is handed on; a slow one within the limit
 * goes through; and the default is DEFAULT_REQUEST_TIMEOUT_SECONDS, not Node's 300 s (which cut off
 * the real VXP SDK's 200 MB sendEdoc on this machine).
 */
import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { HttpSource } from '../../../src/connectors/http';
import { sha256Hex } from '../../../src/connectors/http/signing';
import { signIngestRequest } from '../../../src/connectors/http/ingest-auth';
import { VxpConnector } from '../../../src/connectors/vxp/connector';
import { buildSdkHeaders, formatSdkTimestamp, sdkHex, SDK_BODY_TRAILER } from '../../../src/connectors/vxp/xroad-hmac';
import { DEFAULT_REQUEST_TIMEOUT_SECONDS, type Source, type SourceHandler } from '../../../src/connectors/types';
import { makeEdoc } from '../../support/packages';
import { freePort } from '../../support/ports';

const SECRET = 'slow-client-secret';
const ORGAN = '000.00.00.G22';

interface Outcome {
  status?: number;
  closed?: boolean;
}

/** POSTs `body` in 10 pieces spread over `spreadMs`; resolves with the answer's status, or closed. */
function dribble(port: number, urlPath: string, headers: Record<string, string>, body: Buffer, spreadMs: number): Promise<Outcome> {
  return new Promise((resolve) => {
    const req = http.request({ host: '127.0.0.1', port, path: urlPath, method: 'POST', headers: { ...headers, 'Content-Length': String(body.length) } }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode }));
    });
    req.on('error', () => resolve({ closed: true }));
    const pieces = 10;
    const size = Math.ceil(body.length / pieces);
    let sent = 0;
    const next = () => {
      if (req.destroyed) return;
      const piece = body.subarray(sent * size, (sent + 1) * size);
      sent++;
      if (sent >= pieces) return void req.end(piece);
      req.write(piece);
      setTimeout(next, spreadMs / pieces);
    };
    next();
  });
}

describe('requestTimeoutSeconds: how long a listener waits for a whole request', function () {
  this.timeout(30_000);
  let dir: string;
  let secretFile: string;
  const started: Source[] = [];
  let handed: number;
  const handler: SourceHandler = async (_message, settle) => {
    handed++;
    await settle.accepted();
  };

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vdxp-request-timeout-'));
    secretFile = path.join(dir, 'secret');
    fs.writeFileSync(secretFile, `${SECRET}\n`);
  });
  beforeEach(() => (handed = 0));
  afterEach(async () => {
    await Promise.all(started.splice(0).map((s) => s.stop()));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  async function httpIngest(requestTimeoutSeconds?: number): Promise<HttpSource> {
    const source = new HttpSource('ingest', { port: await freePort(), allowPlainHttp: true, requestTimeoutSeconds, auth: { hmac: { clients: [{ systemId: 'slow', secretFile }] } } });
    await source.start(handler);
    started.push(source);
    return source;
  }

  async function vxpApi(requestTimeoutSeconds?: number): Promise<VxpConnector> {
    const connector = new VxpConnector('vxp', { port: await freePort(), allowPlainHttp: true, requestTimeoutSeconds, clients: [{ systemId: 'slow', secretFile, organIds: [ORGAN] }] }, {}, ORGAN);
    await connector.start(handler);
    started.push(connector);
    return connector;
  }

  function ingestRequest(): { headers: Record<string, string>; body: Buffer } {
    const body = makeEdoc({ from: ORGAN, to: ['000.00.00.H41'], number: 7, attachmentBytes: 4096 });
    const headers = signIngestRequest({ systemId: 'slow', secret: SECRET, bodySha256Hex: sha256Hex(body), contentType: 'application/xml', fileName: 'document.edxml' });
    return { headers: { ...headers, 'Content-Type': 'application/xml' }, body };
  }

  function sendEdocRequest(): { headers: Record<string, string>; body: Buffer } {
    const file = makeEdoc({ from: ORGAN, to: ['000.00.00.H41'], number: 7, attachmentBytes: 4096 });
    const hashFile = sdkHex(createHash('sha256').update(file).digest());
    const params: Array<[string, string]> = [['from', ORGAN], ['servicetype', 'eDoc'], ['messagetype', 'edoc'], ['hash-file', hashFile]];
    const headers = buildSdkHeaders({ systemId: 'slow', secret: SECRET, timestamp: formatSdkTimestamp(new Date()), contentType: 'application/octet-stream', params });
    return { headers, body: Buffer.concat([file, SDK_BODY_TRAILER]) };
  }

  const listeners = [
    { name: 'HTTP ingest', start: httpIngest, path: '/documents', request: ingestRequest, accepted: 202 },
    { name: 'VXP API sendEdoc', start: vxpApi, path: '/sendEdoc', request: sendEdocRequest, accepted: 200 },
  ] as const;

  for (const listener of listeners) {
    describe(listener.name, () => {
      it('cuts off a request still arriving after requestTimeoutSeconds and hands nothing of it on, while a good request goes through', async () => {
        const source = await listener.start(1);
        const { headers, body } = listener.request();
        const slow = dribble(source.port!, listener.path, headers, body, 3000);
        // A good request sent meanwhile is taken at once, while the slow one is still arriving.
        const good = listener.request();
        const goodOutcome = await dribble(source.port!, listener.path, good.headers, good.body, 0);
        assert.equal(goodOutcome.status, listener.accepted);
        assert.equal(handed, 1, 'the good request reached the pipeline');
        const outcome = await slow;
        assert.ok(outcome.closed || outcome.status === 408, `the slow request was answered ${JSON.stringify(outcome)}`);
        assert.equal(handed, 1, 'nothing of the slow request reached the pipeline');
      });

      it('takes a slow request that arrives within requestTimeoutSeconds', async () => {
        const source = await listener.start(10);
        const { headers, body } = listener.request();
        const outcome = await dribble(source.port!, listener.path, headers, body, 3000);
        assert.equal(outcome.status, listener.accepted);
        assert.equal(handed, 1);
      });

      it(`waits ${DEFAULT_REQUEST_TIMEOUT_SECONDS} s by default, not Node's 300 s`, async () => {
        const source = await listener.start();
        const server = (source as unknown as { server: http.Server }).server;
        assert.equal(server.requestTimeout, DEFAULT_REQUEST_TIMEOUT_SECONDS * 1000);
      });
    });
  }
});
