/**
 * The VXP bridge's failure classes (what is retried through the breaker, what is dead-lettered
 * with status 02), its receive loop's confirmations, and its config checks, against a local
 * endpoint (test/support/vxp-endpoint.ts) that verifies the SDK's signature on every request.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { VxpCallError, VxpClient } from '../../../src/connectors/vxp-bridge/client';
import { VxpBridgeSink, VxpBridgeSource } from '../../../src/connectors/vxp-bridge';
import { DeliveryError, type SourceSettlement, type VendorMessage } from '../../../src/connectors/types';
import { classifyFailure } from '../../../src/pipeline/delivery/retry-policy';
import { Rejection } from '../../../src/errors';
import { parseConfig, ConfigError } from '../../../src/config/load';
import { fail, VxpEndpoint, type Answer } from '../../support/vxp-endpoint';
import { freePort } from '../../support/ports';
import { blocksUnder } from '../../support/markdown';
import { REPO_ROOT } from '../../support/paths';

const SECRET = 'unit-secret';
const CONTEXT = { documentId: 'H41,2026/11/23,1/UBND-VP', idempotencyKey: 'k', kind: 'edoc' as const, fromOrganId: '000.00.00.H41' };

describe('vxp bridge client and sink: which failures are transient', () => {
  let dir: string;
  let secretFile: string;
  let endpoint: VxpEndpoint;

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vxp-bridge-unit-'));
    secretFile = path.join(dir, 'secret');
    fs.writeFileSync(secretFile, `${SECRET}\n`);
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  beforeEach(async () => {
    endpoint = new VxpEndpoint({ bridge: SECRET });
    await endpoint.start();
  });
  afterEach(() => endpoint.stop());

  const sink = async (options: Record<string, unknown> = {}) => {
    const s = new VxpBridgeSink('hub', { endpoint: endpoint.url, systemId: 'bridge', secretFile, timeoutMs: 500, ...options });
    await s.start();
    return s;
  };
  const deliver = async (answer: Answer | undefined, options: Record<string, unknown> = {}) => {
    endpoint.override = (r) => (r.operation === 'sendEdoc' ? answer : undefined);
    const s = await sink(options);
    const message: VendorMessage = { body: Buffer.from('<edXML/>'), fileName: 'x.edxml', contentType: 'application/xml', sideFiles: [] };
    try {
      await s.deliver(message, CONTEXT);
      return undefined;
    } catch (err) {
      assert.ok(err instanceof DeliveryError, String(err));
      return err;
    }
  };

  it('OK: delivered, with the package, the sender as `from` and the SDK\'s signature', async () => {
    assert.equal(await deliver(undefined), undefined);
    assert.equal(endpoint.sent.length, 1);
    assert.equal(endpoint.sent[0]!.bytes.toString(), '<edXML/>');
    assert.equal(endpoint.sent[0]!.from, CONTEXT.fromOrganId);
    assert.ok(endpoint.requests[0]!.verdict.ok);
  });

  it('FAIL with a package error: permanent, dead-lettered as delivery-rejected with the ErrorCode and ErrorDesc', async () => {
    const err = await deliver({ json: fail('invalid-edxml', 'không đúng cấu trúc') });
    assert.equal(err!.transient, false);
    const failure = classifyFailure(err, 'hub');
    assert.equal(failure.kind, 'permanent');
    assert.match(failure.detail, /ErrorCode "invalid-edxml": không đúng cấu trúc/);
  });

  it('FAIL for the signature or the clock: transient (the connector\'s credentials, not the package)', async () => {
    for (const code of ['bad-signature', 'timestamp-skew', 'unknown-system']) assert.equal((await deliver({ json: fail(code, '…') }))!.transient, true, code);
  });

  it('FAIL with an ErrorCode configured as transient: retried', async () => {
    assert.equal((await deliver({ json: fail('busy', 'hệ thống bận') }, { transientErrorCodes: ['busy'] }))!.transient, true);
    assert.equal((await deliver({ json: fail('busy', 'hệ thống bận') }))!.transient, false);
  });

  it('HTTP 5xx, 408, 429, 401, 403: transient; other 4xx: permanent', async () => {
    for (const status of [500, 502, 503, 408, 429, 401, 403]) assert.equal((await deliver({ httpStatus: status, text: 'x' }))!.transient, true, String(status));
    for (const status of [400, 404, 413]) assert.equal((await deliver({ httpStatus: status, text: 'x' }))!.transient, false, String(status));
  });

  it('an answer that is not the SDK\'s JSON (not JSON, no status, an unknown status): transient', async () => {
    for (const answer of [{ text: '<html>proxy error</html>' }, { json: { ErrorCode: '0' } }, { json: { status: 'MAYBE' } }, { text: '[1]' }]) {
      assert.equal((await deliver(answer))!.transient, true, JSON.stringify(answer));
    }
  });

  it('connection refused and no answer in time: transient', async () => {
    const closed = `http://127.0.0.1:${await freePort()}`;
    const s = new VxpBridgeSink('hub', { endpoint: closed, systemId: 'bridge', secretFile, timeoutMs: 500 });
    await s.start();
    await assert.rejects(s.deliver({ body: Buffer.from('<a/>'), fileName: 'a', contentType: 'application/xml', sideFiles: [] }, CONTEXT), (e: DeliveryError) => e.transient && /ECONNREFUSED/.test(e.message));
    endpoint.override = () => new Promise(() => undefined); // never answers
    const slow = await sink({ timeoutMs: 300 });
    await assert.rejects(slow.deliver({ body: Buffer.from('<a/>'), fileName: 'a', contentType: 'application/xml', sideFiles: [] }, CONTEXT), (e: DeliveryError) => e.transient && /no answer within 300 ms/.test(e.message));
  });

  it('streams a body file, hashing it first: the endpoint gets the file and a CRLF', async () => {
    const file = path.join(dir, 'big.edxml');
    const bytes = Buffer.alloc(3 * 1024 * 1024, 'a');
    fs.writeFileSync(file, bytes);
    const s = await sink();
    await s.deliver({ body: Buffer.alloc(0), bodyFile: { path: file, length: bytes.length }, fileName: 'big.edxml', contentType: 'application/xml', sideFiles: [] }, { ...CONTEXT, kind: 'status' });
    assert.ok(endpoint.sent[0]!.bytes.equals(bytes));
    assert.equal(endpoint.sent[0]!.messageType, 'status');
    assert.equal(endpoint.requests[0]!.body.length, bytes.length + 2);
  });

  it('a wrong secret is refused by an endpoint that checks the SDK\'s signature', async () => {
    const wrong = path.join(dir, 'wrong');
    fs.writeFileSync(wrong, 'not-the-secret');
    const client = new VxpClient('hub', { endpoint: endpoint.url, systemId: 'bridge', secretFile: wrong });
    await assert.rejects(client.getReceivedEdocList('edoc'), (e: VxpCallError) => e.errorCode === 'bad-signature' && e.transient);
  });
});

describe('vxp bridge source: the receive loop settles each package with the endpoint', () => {
  let dir: string;
  let secretFile: string;
  let endpoint: VxpEndpoint;

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vxp-bridge-src-'));
    secretFile = path.join(dir, 'secret');
    fs.writeFileSync(secretFile, SECRET);
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  beforeEach(async () => {
    endpoint = new VxpEndpoint({ bridge: SECRET });
    await endpoint.start();
  });
  afterEach(() => endpoint.stop());

  const running: VxpBridgeSource[] = [];
  afterEach(async () => {
    await Promise.all(running.splice(0).map((r) => r.stop()));
  });

  /** A running source polling every 50 ms, with a handler that settles as `decide` says. */
  async function source(decide: (m: VendorMessage, s: SourceSettlement) => Promise<void>) {
    const s = new VxpBridgeSource('hub', { endpoint: endpoint.url, systemId: 'bridge', secretFile, pollIntervalMs: 50 });
    const seen: VendorMessage[] = [];
    running.push(s);
    await s.start(async (m, settle) => {
      seen.push(m);
      await decide(m, settle);
    });
    return { seen };
  }
  const until = async (cond: () => boolean, what: string) => {
    const deadline = Date.now() + 5_000;
    while (!cond()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };

  it('accepted → done; rejected → fail; retry later → left on the endpoint and offered again', async () => {
    endpoint.hold({ docId: 'd-ok', messageType: 'edoc', bytes: Buffer.from('<ok/>') });
    endpoint.hold({ docId: 'd-bad', messageType: 'edoc', bytes: Buffer.from('<bad/>') });
    endpoint.hold({ docId: 'd-later', messageType: 'status', bytes: Buffer.from('<later/>') });
    let later = 0;
    const { seen } = await source(async (m, settle) => {
      if (m.body.toString() === '<ok/>') return settle.accepted();
      if (m.body.toString() === '<bad/>') return settle.rejected(new Rejection('invalid-edxml', 'not edXML'));
      later += 1;
      return later === 1 ? settle.retryLater(new Error('Kafka down')) : settle.accepted();
    });
    await until(() => endpoint.held.size === 0, 'every package settled');
    assert.deepEqual(endpoint.confirmations, [
      { docId: 'd-ok', status: 'done' },
      { docId: 'd-bad', status: 'fail' },
      { docId: 'd-later', status: 'done' },
    ]);
    assert.deepEqual(seen.map((m) => m.body.toString()), ['<ok/>', '<bad/>', '<later/>', '<later/>'], 'the one left for later was offered again');
  });

  it('a confirmation the endpoint did not take is repeated first, and the package is not handed over again', async () => {
    endpoint.hold({ docId: 'd-1', messageType: 'edoc', bytes: Buffer.from('<one/>') });
    let refuse = true;
    endpoint.override = (r) => (r.operation === 'updateStatus' && refuse ? { httpStatus: 503, text: 'busy' } : undefined);
    const { seen } = await source((_m, settle) => settle.accepted());
    await until(() => endpoint.of('updateStatus').length >= 3, 'several refused confirmations');
    assert.equal(endpoint.confirmations.length, 0);
    refuse = false;
    await until(() => endpoint.confirmations.length === 1, 'the confirmation to be taken');
    assert.deepEqual(endpoint.confirmations, [{ docId: 'd-1', status: 'done' }]);
    assert.equal(seen.length, 1, 'handed over once');
    assert.equal(endpoint.of('getEdoc').length, 1, 'fetched once');
  });

  it('a package this process\'s bridge sink sent to the same account, listed back, is confirmed done and not taken again (no loop)', async () => {
    const sink = new VxpBridgeSink('hub-out', { endpoint: endpoint.url, systemId: 'bridge', secretFile });
    await sink.start();
    const pkg = Buffer.from('<edXML>sent by the sink</edXML>');
    await sink.deliver({ body: pkg, fileName: 'p.edxml', contentType: 'application/xml', sideFiles: [] }, CONTEXT);
    // An endpoint that routes it back to the same account.
    endpoint.hold({ docId: 'back-1', messageType: 'edoc', bytes: pkg });
    endpoint.hold({ docId: 'other', messageType: 'edoc', bytes: Buffer.from('<edXML>another</edXML>') });
    const { seen } = await source((_m, settle) => settle.accepted());
    await until(() => endpoint.held.size === 0, 'both confirmed');
    assert.deepEqual(seen.map((m) => m.body.toString()), ['<edXML>another</edXML>'], 'the one that came back is not handed over');
    assert.deepEqual(endpoint.confirmations.map((c) => c.status), ['done', 'done']);
  });

  it('a package getEdoc cannot fetch stays on the endpoint, unconfirmed', async () => {
    endpoint.hold({ docId: 'd-gone', messageType: 'edoc', bytes: Buffer.from('<x/>') });
    endpoint.override = (r) => (r.operation === 'getEdoc' ? { httpStatus: 500, text: 'oops' } : undefined);
    const { seen } = await source((_m, settle) => settle.accepted());
    await until(() => endpoint.of('getEdoc').length >= 3, 'several failed fetches');
    assert.equal(seen.length, 0);
    assert.equal(endpoint.confirmations.length, 0);
    assert.ok(endpoint.held.has('d-gone'));
  });
});

describe('vxp bridge config', () => {
  const config = (connector: Record<string, unknown>) =>
    `organId: 000.00.00.H41\nkafka: { brokers: ['127.0.0.1:9092'] }\ntrust: { insecureSkipVerification: true }\nconnectors:\n  - ${JSON.stringify({ name: 'hub', type: 'vxp-bridge', ...connector })}\n`;
  const problems = (text: string) => {
    try {
      parseConfig(text);
      return [];
    } catch (err) {
      assert.ok(err instanceof ConfigError, String(err));
      return err.problems.map((p) => `${p.path}: ${p.expected}`);
    }
  };
  const options = { endpoint: 'https://lgsp.example.gov.vn/vxp', systemId: 'h41-bridge', secretFile: '/run/secrets/hub' };

  it('accepts a source and a sink with the SDK\'s three settings', () => {
    assert.deepEqual(problems(config({ direction: 'source', options })), []);
    assert.deepEqual(problems(config({ direction: 'sink', options: { ...options, timeZone: 'Asia/Bangkok', transientErrorCodes: ['busy'] } })), []);
  });

  it('names what is missing or wrong', () => {
    assert.match(problems(config({ direction: 'source', options: { endpoint: options.endpoint } })).join('\n'), /connectors\[0\]\.options.*systemId/);
    assert.match(problems(config({ direction: 'sink', options: { ...options, endpoint: 'ftp://x' } })).join('\n'), /connectors\[0\]\.options\.endpoint/);
    assert.match(problems(config({ direction: 'sink', options: { ...options, timeZone: 'Mars/Olympus' } })).join('\n'), /connectors\[0\]\.options\.timeZone: an IANA time zone/);
    assert.match(problems(config({ direction: 'source', profile: 'json', options })).join('\n'), /connectors\[0\]\.profile: "edxml"/);
  });

  it('the example of docs/OPERATIONS.md "The VXP bridge" is a valid config', () => {
    const guide = fs.readFileSync(path.join(REPO_ROOT, 'docs', 'OPERATIONS.md'), 'utf8');
    const [example] = blocksUnder(guide, '## The VXP bridge', 'yaml');
    assert.ok(example?.includes('type: vxp-bridge'));
    const text = `organId: 000.00.00.H41\nkafka: { brokers: ['127.0.0.1:9092'] }\ntrust: { insecureSkipVerification: true }\n${example}`;
    const parsed = parseConfig(text);
    assert.deepEqual(parsed.connectors.map((c) => `${c.type}/${c.direction}`), ['vxp-bridge/source', 'vxp-bridge/sink']);
  });
});
