/** HTTP delivery of bodies over LARGE_BODY_BYTES: streamed from the file, signed over the streamed bytes. */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { HttpSink } from '../../../src/connectors/http';
import { sha256Hex, verifyRequest } from '../../../src/connectors/http/signing';
import { parseMultipart } from '../../../src/connectors/http/multipart';
import { DeliveryError, type DeliveryContext, type VendorMessage } from '../../../src/connectors/types';
import { VendorHttpServer, type ReceivedRequest } from '../../support/vendor-systems';
import { writeLargeFile } from '../../support/large-files';
import { listenOnFreePort } from '../../support/ports';

const MB = 1024 * 1024;
const CONTEXT: DeliveryContext = { documentId: '000.00.00.H41,2026/11/23,7/UBND-VP', idempotencyKey: 'large-key-1', kind: 'edoc', fromOrganId: '000.00.00.H41' };

describe('HTTP delivery (sink) of a bodyFile', function () {
  this.timeout(60_000);
  const vendor = new VendorHttpServer();
  let dir: string;
  let base: string;
  let secret: string;
  let big: ReturnType<typeof writeLargeFile>;
  let message: VendorMessage;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vdxp-http-large-'));
    secret = `secret-${process.pid}-${Date.now()}`;
    fs.writeFileSync(path.join(dir, 'hmac.secret'), `${secret}\n`, { mode: 0o600 });
    big = writeLargeFile(path.join(dir, 'body'), 30 * MB);
    message = { body: Buffer.alloc(0), bodyFile: { path: big.path, length: big.length }, fileName: 'scan.pdf', contentType: 'application/pdf', sideFiles: [] };
    base = await vendor.start();
  });
  after(async () => {
    await vendor.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function signedSink(url = `${base}/docs`): Promise<HttpSink> {
    const sink = new HttpSink('vendor', { url, timeoutMs: 20_000, hmac: { systemId: 'vdxp-g22', secretFile: path.join(dir, 'hmac.secret') } });
    await sink.start();
    return sink;
  }

  function verify(r: ReceivedRequest) {
    const header = (name: string) => {
      const v = r.headers[name.toLowerCase()];
      return Array.isArray(v) ? v[0] : v;
    };
    return verifyRequest(header, r.body, (id) => (id === 'vdxp-g22' ? secret : undefined), new Date(), 300_000);
  }

  it('streams the file as the body with Content-Length, Idempotency-Key and a signature the receiver verifies', async () => {
    vendor.answer = () => 201;
    await (await signedSink()).deliver(message, CONTEXT);
    const r = vendor.received.at(-1)!;
    assert.equal(r.body.length, big.length);
    assert.equal(sha256Hex(r.body), big.sha256);
    assert.equal(r.headers['content-length'], String(big.length));
    assert.equal(r.headers['content-type'], 'application/pdf');
    assert.equal(r.headers['idempotency-key'], CONTEXT.idempotencyKey);
    const verified = verify(r);
    assert.ok(verified.ok, JSON.stringify(verified));
    assert.equal(fs.statSync(big.path).size, big.length, 'the file stays where it was');
  });

  it('streams a bodyFile with side files as multipart, with an exact Content-Length', async () => {
    vendor.answer = () => 200;
    const pdf = Buffer.from('%PDF-1.4 phụ lục');
    await (await signedSink()).deliver({ ...message, contentType: 'application/json', fileName: 'văn-bản.json', sideFiles: [{ name: 'phu-luc.pdf', bytes: pdf }] }, CONTEXT);
    const r = vendor.received.at(-1)!;
    assert.equal(r.headers['content-length'], String(r.body.length));
    const verified = verify(r);
    assert.ok(verified.ok, JSON.stringify(verified));
    const parsed = parseMultipart(r.body, String(r.headers['content-type']));
    assert.equal(sha256Hex(parsed.body), big.sha256);
    assert.equal(parsed.bodyContentType, 'application/json');
    assert.equal(parsed.fileName, 'văn-bản.json');
    assert.deepEqual(parsed.sideFiles, [{ name: 'phu-luc.pdf', bytes: pdf }]);
  });

  it('reports a connection dropped mid-body as a transient failure', async () => {
    let receivedBeforeDrop = 0;
    const dropping = http.createServer((req) => {
      req.on('data', (c: Buffer) => {
        receivedBeforeDrop += c.length;
        if (receivedBeforeDrop > 2 * MB) req.socket.destroy();
      });
    });
    const droppingPort = await listenOnFreePort(dropping);
    try {
      const sink = await signedSink(`http://127.0.0.1:${droppingPort}/docs`);
      await assert.rejects(sink.deliver(message, CONTEXT), (err: unknown) => err instanceof DeliveryError && err.transient);
      assert.ok(receivedBeforeDrop > 2 * MB && receivedBeforeDrop < big.length, `the server got ${receivedBeforeDrop} bytes before dropping`);
    } finally {
      dropping.closeAllConnections();
      await new Promise<void>((r) => dropping.close(() => r()));
    }
  });

  it('refuses a bodyFile shorter than its stated length before sending anything', async () => {
    const before = vendor.received.length;
    const sink = await signedSink();
    await assert.rejects(sink.deliver({ ...message, bodyFile: { path: big.path, length: big.length + 1 } }, CONTEXT), (err: unknown) => err instanceof DeliveryError && err.transient);
    assert.equal(vendor.received.length, before);
  });
});
