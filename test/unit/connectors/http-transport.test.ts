import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { HttpSink, HttpSource } from '../../../src/connectors/http';
import { DeliveryError, type DeliveryContext, type SourceHandler, type VendorMessage } from '../../../src/connectors/types';
import { Rejection } from '../../../src/errors';
import { buildMultipart } from '../../../src/connectors/http/multipart';
import { VendorHttpServer, postToIngest } from '../../support/vendor-systems';
import { freePort, listenOnFreePort } from '../../support/ports';

const SIGNING = { systemId: 'vendor-1', secret: 'vendor-1-secret' };
const CONTEXT: DeliveryContext = { documentId: '000.00.00.H41,2026/11/23,5/UBND-VP', idempotencyKey: 'abc123-def456', kind: 'edoc', fromOrganId: '000.00.00.H41' };
const MESSAGE: VendorMessage = { body: Buffer.from('{"subject":"x"}'), fileName: 'x.json', contentType: 'application/json', sideFiles: [] };

describe('HTTP ingest (source)', () => {
  let dir: string;
  let source: HttpSource;
  let url: string;
  let handler: SourceHandler;
  const handled: VendorMessage[] = [];

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vdxp-http-src-'));
    fs.writeFileSync(path.join(dir, 'secret'), `${SIGNING.secret}\n`);
    source = new HttpSource('ingest', { host: '127.0.0.1', port: await freePort(), allowPlainHttp: true, auth: { hmac: { clients: [{ systemId: SIGNING.systemId, secretFile: path.join(dir, 'secret') }] } }, retryAfterSeconds: 7, maxBodyBytes: 64 * 1024 });
    await source.start((m, s) => {
      handled.push(m);
      return handler(m, s);
    });
    url = `http://127.0.0.1:${source.port}/documents`;
  });

  after(() => source.stop());
  beforeEach(() => (handled.length = 0));

  it('answers 202 only once the item is accepted', async () => {
    let accept: (() => Promise<void>) | undefined;
    handler = async (_m, settle) => {
      await new Promise<void>((resolve) => (accept = async () => (await settle.accepted(), resolve())));
    };
    let answered = false;
    const answer = postToIngest(url, MESSAGE.body, 'application/json', SIGNING).then((a) => ((answered = true), a));
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(answered, false, 'no answer before Kafka holds the document');
    await accept!();
    assert.equal((await answer).status, 202);
    assert.equal(handled[0]!.body.toString(), MESSAGE.body.toString());
  });

  it('answers 4xx with the reason on rejected, 503 with Retry-After on retryLater', async () => {
    handler = (_m, s) => s.rejected(new Rejection('mapping-failed', 'field subject, rule …'));
    const rejected = await postToIngest(url, MESSAGE.body, 'application/json', SIGNING);
    assert.equal(rejected.status, 422);
    assert.deepEqual(rejected.json, { status: 'rejected', reason: 'mapping-failed', detail: 'field subject, rule …' });
    handler = (_m, s) => s.rejected(new Rejection('limit-exceeded', 'too big', 'limits.maxPackageBytes'));
    assert.equal((await postToIngest(url, MESSAGE.body, 'application/json', SIGNING)).status, 413);
    handler = (_m, s) => s.retryLater(new Error('Kafka unreachable'));
    const later = await postToIngest(url, MESSAGE.body, 'application/json', SIGNING);
    assert.equal(later.status, 503);
    assert.equal(later.headers['retry-after'], '7');
  });

  it('refuses unsigned and wrongly signed requests with 401 before handing anything over', async () => {
    handler = (_m, s) => s.accepted();
    assert.equal((await postToIngest(url, MESSAGE.body, 'application/json')).status, 401);
    const wrong = await postToIngest(url, MESSAGE.body, 'application/json', { ...SIGNING, secret: 'nope' });
    assert.equal(wrong.status, 401);
    assert.match(String(wrong.json.detail), /signature does not match/);
    assert.equal(handled.length, 0);
  });

  it('takes multipart bodies apart into the document and its side files', async () => {
    handler = (_m, s) => s.accepted();
    const pdf = Buffer.from('%PDF-1.4 ...');
    const mp = buildMultipart(MESSAGE.body, 'application/json', 'x.json', [{ name: 'vb.pdf', bytes: pdf }]);
    assert.equal((await postToIngest(url, mp.bytes, mp.contentType, SIGNING)).status, 202);
    assert.equal(handled[0]!.contentType, 'application/json');
    assert.deepEqual(handled[0]!.sideFiles, [{ name: 'vb.pdf', bytes: pdf }]);
  });

  it('refuses a body over maxBodyBytes with 413', async () => {
    handler = (_m, s) => s.accepted();
    const answer = await postToIngest(url, Buffer.alloc(65 * 1024, 0x41), 'application/json', SIGNING);
    assert.equal(answer.status, 413);
    assert.equal(handled.length, 0);
  });
});

describe('HTTP delivery (sink)', () => {
  const vendor = new VendorHttpServer();
  let base: string;

  before(async () => {
    base = await vendor.start();
  });
  after(() => vendor.stop());

  async function deliver(options: Partial<ConstructorParameters<typeof HttpSink>[1]> = {}, message = MESSAGE): Promise<void> {
    const sink = new HttpSink('vendor', { url: `${base}/docs`, timeoutMs: 2_000, ...options });
    await sink.start();
    await sink.deliver(message, CONTEXT);
  }

  it('sends the Idempotency-Key and resolves on 2xx', async () => {
    vendor.answer = () => 201;
    await deliver();
    const r = vendor.received.at(-1)!;
    assert.equal(r.headers['idempotency-key'], CONTEXT.idempotencyKey);
    assert.equal(decodeURIComponent(String(r.headers['x-vdxp-document-id'])), CONTEXT.documentId);
    assert.equal(r.body.toString(), MESSAGE.body.toString());
  });

  it('classifies 5xx, 408 and 429 as transient, other 4xx as permanent', async () => {
    for (const [status, transient] of [[500, true], [503, true], [408, true], [429, true], [400, false], [404, false], [409, false]] as const) {
      vendor.answer = () => status;
      await assert.rejects(deliver(), (err: unknown) => err instanceof DeliveryError && err.transient === transient && err.message.includes(String(status)), String(status));
    }
  });

  it('treats a refused connection and a timeout as transient', async () => {
    await assert.rejects(deliver({ url: 'http://127.0.0.1:1/docs' }), (err: unknown) => err instanceof DeliveryError && err.transient);
    const slow = http.createServer(() => undefined);
    const port = await listenOnFreePort(slow);
    const started = Date.now();
    await assert.rejects(deliver({ url: `http://127.0.0.1:${port}/`, timeoutMs: 300 }), (err: unknown) => err instanceof DeliveryError && err.transient && /300 ms/.test(err.message));
    assert.ok(Date.now() - started < 2_000);
    slow.closeAllConnections();
    slow.close();
  });

  it('sends statuses to statusUrl and side files as multipart', async () => {
    vendor.answer = () => 200;
    const sink = new HttpSink('vendor', { url: `${base}/docs`, statusUrl: `${base}/statuses` });
    await sink.start();
    await sink.deliver(MESSAGE, { ...CONTEXT, kind: 'status', statusCode: '03' });
    assert.equal(vendor.received.at(-1)!.path, '/statuses');
    assert.equal(vendor.received.at(-1)!.headers['x-vdxp-status-code'], '03');
    await sink.deliver({ ...MESSAGE, sideFiles: [{ name: 'a.pdf', bytes: Buffer.from('pdf') }] }, CONTEXT);
    assert.match(String(vendor.received.at(-1)!.headers['content-type']), /^multipart\/form-data; boundary=/);
  });
});
