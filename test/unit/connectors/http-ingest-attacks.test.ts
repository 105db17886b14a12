/**
 * A network attacker in front of the HTTP ingest (docs/SECURITY.md, "The HTTP ingest"): it
 * captures signed requests and sends them again, altered where the signature does not reach, and
 * a client tries to send as an agency it is not bound to. The ingest runs with the real send
 * pipeline (json profile, attachments as multipart parts) in front of a recording backbone.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Writable } from 'node:stream';
import { HttpSource } from '../../../src/connectors/http';
import { parseMultipart } from '../../../src/connectors/http/multipart';
import { signIngestRequest } from '../../../src/connectors/http/ingest-auth';
import { axisTimestamp, signRequest } from '../../../src/connectors/http/signing';
import type { OutgoingRecord } from '../../../src/broker/producer';
import { makeSendHandler } from '../../../src/pipeline/send';
import { Spool } from '../../../src/pipeline/spool';
import { withDefaults } from '../../../src/limits';
import { profileByName } from '../../../src/transform';
import { createLogger } from '../../../src/observability/log';
import { createMetrics, type Metrics } from '../../../src/observability/metrics';
import { readPackage } from '../../../src/edxml/reader';
import { sendRaw, type IngestAnswer } from '../../support/vendor-systems';
import { freePort } from '../../support/ports';
import { parseConfig } from '../../../src/config/load';
import type { SourceHandler } from '../../../src/connectors/types';

const H41 = '000.00.00.H41';
const DEPARTMENT = '000.00.01.H41';
const QLVB = { systemId: 'qlvb-h41', secret: 'qlvb-h41-secret-value' };
const DEPT = { systemId: 'phong-ban', secret: 'phong-ban-secret-value' };

function vendorDocument(subject: string, attachments: string[], from = H41): Buffer {
  return Buffer.from(
    JSON.stringify({
      documentId: `${from},2026/11/23,42/UBND-VP`,
      from: { organId: from, organName: 'UBND tỉnh Nghệ An' },
      to: ['000.00.00.G22'],
      number: '42',
      notation: 'UBND-VP',
      place: 'Nghệ An',
      promulgationDate: '2026-11-23',
      documentType: 1,
      documentTypeName: 'Công văn',
      priority: 1,
      steeringType: 0,
      subject,
      attachments: attachments.map((file) => ({ name: file, contentType: 'application/pdf', file })),
    }),
  );
}

function part(boundary: string, name: string, fileName: string, type: string, data: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${name}"; filename="${fileName}"\r\nContent-Type: ${type}\r\n\r\n`), data, Buffer.from('\r\n')]);
}

function multipart(boundary: string, parts: Buffer[]): Buffer {
  return Buffer.concat([...parts, Buffer.from(`--${boundary}--\r\n`)]);
}

interface Harness {
  url: string;
  sent: OutgoingRecord[];
  calls: () => number;
  logLines: () => Array<Record<string, unknown>>;
  rawLog: () => string;
  metrics: Metrics;
  /** Holds every item until released, to look at a request in flight. */
  hold(): () => void;
}

describe('HTTP ingest under attack: what the signature binds, replays, who may send as whom', function () {
  this.timeout(20_000);
  let dir: string;
  let spool: Spool;
  let source: HttpSource;
  let h: Harness;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vdxp-ingest-attacks-'));
    fs.writeFileSync(path.join(dir, 'qlvb'), `${QLVB.secret}\n`);
    fs.writeFileSync(path.join(dir, 'dept'), `${DEPT.secret}\n`);
    spool = await Spool.open();
    const chunks: string[] = [];
    const log = createLogger({ destination: new Writable({ write: (c, _e, done) => (chunks.push(String(c)), done()) }), level: 'debug', organId: H41 });
    const metrics = createMetrics({ defaultMetrics: false });
    const sent: OutgoingRecord[] = [];
    const send = makeSendHandler({
      organId: H41,
      limits: withDefaults(),
      profile: profileByName('json'),
      profileOptions: { attachments: 'multipart' },
      producer: { send: async (r) => void sent.push(r), sendFile: async () => undefined, topicExists: async () => true },
      spool,
      log,
      metrics,
    });
    let calls = 0;
    let gate: Promise<void> | undefined;
    const handler: SourceHandler = async (message, settle) => {
      calls++;
      await gate;
      return send(message, settle);
    };
    source = new HttpSource(
      'vendor-ingest',
      {
        port: await freePort(),
        allowPlainHttp: true,
        auth: { hmac: { clients: [{ systemId: QLVB.systemId, secretFile: path.join(dir, 'qlvb') }, { systemId: DEPT.systemId, secretFile: path.join(dir, 'dept'), organIds: [DEPARTMENT] }] } },
      },
      { log, metrics },
    );
    await source.start(handler);
    h = {
      url: `http://127.0.0.1:${source.port}/documents`,
      sent,
      calls: () => calls,
      logLines: () => chunks.join('').trimEnd().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>),
      rawLog: () => chunks.join(''),
      metrics,
      hold: () => {
        let open!: () => void;
        gate = new Promise<void>((resolve) => (open = resolve));
        return () => ((gate = undefined), open());
      },
    };
  });

  after(async () => {
    await source.stop();
    await spool.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  beforeEach(() => (h.sent.length = 0));

  const signedHeaders = (body: Buffer, contentType: string, signer = QLVB, fileName?: string): Record<string, string> => ({
    ...signIngestRequest({ ...signer, body, contentType, fileName }),
    'Content-Length': String(body.length),
  });
  const subjectOf = (record: OutgoingRecord) => {
    const pkg = readPackage(record.value);
    return pkg.kind === 'edoc' ? pkg.header.subject : undefined;
  };

  describe('the signature covers what decides the document', () => {
    // One body, two readings: with boundary A it is document 1 with its PDF; with boundary B the
    // "PDF" holds a complete multipart body of its own, and document 2 is what a parser finds.
    const pdfWithHiddenBody = Buffer.concat([
      Buffer.from('%PDF-1.4\n'),
      Buffer.from('\r\n'),
      part('B', 'document', 'd.json', 'application/json', vendorDocument('Văn bản của kẻ tấn công', [])),
      Buffer.from('--B--\r\n%%EOF\n'),
    ]);
    const body = multipart('A', [part('A', 'document', 'd.json', 'application/json', vendorDocument('Công văn thật', ['cv.pdf'])), part('A', 'file', 'cv.pdf', 'application/pdf', pdfWithHiddenBody)]);

    it('the same bytes are another document under another boundary (what the attack rests on)', () => {
      assert.match(parseMultipart(body, 'multipart/form-data; boundary=A').body.toString(), /Công văn thật/);
      assert.match(parseMultipart(body, 'multipart/form-data; boundary=B').body.toString(), /kẻ tấn công/);
    });

    it('a captured request sent with another boundary is refused with 401 and sends nothing', async () => {
      const captured = signedHeaders(body, 'multipart/form-data; boundary=A');
      const before = h.calls();
      const altered = await sendRaw(h.url, body, { ...captured, 'Content-Type': 'multipart/form-data; boundary=B' });
      assert.equal(altered.status, 401, JSON.stringify(altered.json));
      assert.equal(altered.json.reason, 'header-mismatch');
      assert.match(String(altered.json.detail), /Content-Type .*boundary=B.* is not the signed XroadVnpt-content-type/);
      assert.equal(h.calls(), before, 'nothing reached the pipeline');
      assert.equal(h.sent.length, 0);

      const genuine = await sendRaw(h.url, body, captured);
      assert.equal(genuine.status, 202, JSON.stringify(genuine.json));
      assert.deepEqual(h.sent.map(subjectOf), ['Công văn thật']);
    });

    it('a signature that leaves Content-Type out (the bare axis scheme) is refused, naming what is missing', async () => {
      const doc = vendorDocument('Không ký Content-Type', []);
      const answer = await sendRaw(h.url, doc, { ...signRequest({ ...QLVB, body: doc }), 'Content-Type': 'application/json', 'Content-Length': String(doc.length) });
      assert.equal(answer.status, 401);
      assert.equal(answer.json.reason, 'unsigned-header');
      assert.match(String(answer.json.detail), /content-type is not among the signed headers/);
    });

    it('X-File-Name is bound: changed, added or removed after signing, the request is refused', async () => {
      const doc = vendorDocument('Tên tệp', []);
      const named = signedHeaders(doc, 'application/json', QLVB, 'công văn 42.json');
      const unnamed = signedHeaders(doc, 'application/json');
      const { 'X-File-Name': _dropped, ...withoutName } = named;
      const cases: Array<[string, Record<string, string>, RegExp]> = [
        ['changed', { ...named, 'X-File-Name': encodeURIComponent('khác.json') }, /X-File-Name .* but XroadVnpt-file-name is signed as/],
        ['added', { ...unnamed, 'X-File-Name': 'x.json' }, /X-File-Name is sent but file-name is not among the signed headers/],
        ['removed', withoutName, /X-File-Name is missing but XroadVnpt-file-name is signed/],
      ];
      for (const [what, headers, detail] of cases) {
        const answer = await sendRaw(h.url, doc, headers);
        assert.equal(answer.status, 401, `${what}: ${JSON.stringify(answer.json)}`);
        assert.match(String(answer.json.detail), detail, what);
      }
      assert.equal(h.sent.length, 0);
      assert.equal((await sendRaw(h.url, doc, named)).status, 202, 'the request as signed is accepted');
    });
  });

  describe('a request replayed within the skew window sends nothing', () => {
    it('a copy of an accepted request is answered as accepted, and the backbone sees one record', async () => {
      const doc = vendorDocument('Gửi một lần', []);
      const headers = signedHeaders(doc, 'application/json');
      const first = await sendRaw(h.url, doc, headers);
      assert.equal(first.status, 202);
      assert.equal(first.json.replay, undefined);
      const copy = await sendRaw(h.url, doc, headers);
      assert.equal(copy.status, 202, JSON.stringify(copy.json));
      assert.equal(copy.json.replay, true);
      assert.match(String(copy.json.detail), /nothing was sent again/);
      // Header case and spacing do not make another request.
      const respelled = await sendRaw(h.url, doc, { ...headers, 'XroadVnpt-hash-header': ` ${headers['XroadVnpt-hash-header']!.toUpperCase()} ` });
      assert.equal(respelled.json.replay, true, JSON.stringify(respelled.json));
      assert.equal(h.sent.length, 1, 'one record on the backbone');
    });

    it('a copy sent while the first is being handled gets 503 and is not handled', async () => {
      const doc = vendorDocument('Đang xử lý', []);
      const headers = signedHeaders(doc, 'application/json');
      const release = h.hold();
      const callsBefore = h.calls();
      const first = sendRaw(h.url, doc, headers);
      let copy: IngestAnswer | 'no answer';
      try {
        while (h.calls() === callsBefore) await new Promise((r) => setTimeout(r, 10));
        copy = await Promise.race([sendRaw(h.url, doc, headers), new Promise<'no answer'>((r) => setTimeout(() => r('no answer'), 3_000))]);
      } finally {
        release();
      }
      if (copy === 'no answer') assert.fail('the copy was held with the first instead of being answered');
      assert.equal(copy.status, 503);
      assert.equal(copy.json.replay, true);
      assert.equal((await first).status, 202);
      assert.equal(h.calls(), callsBefore + 1, 'the copy never reached the pipeline');
      assert.equal(h.sent.length, 1);
    });

    it('a request that was refused may be sent again as it was (a retry after fixing nothing is refused again)', async () => {
      const doc = vendorDocument('Thiếu tệp', ['khong-co.pdf']);
      const headers = signedHeaders(doc, 'application/json');
      const answers: IngestAnswer[] = [await sendRaw(h.url, doc, headers), await sendRaw(h.url, doc, headers)];
      assert.deepEqual(answers.map((a) => [a.status, a.json.replay]), [[422, undefined], [422, undefined]]);
    });

    it('counts the copies it answered', async () => {
      const text = await h.metrics.exposition();
      assert.match(text, /vdxp_ingest_replays_total\{connector="vendor-ingest",first="accepted"\} 2/);
      assert.match(text, /vdxp_ingest_replays_total\{connector="vendor-ingest",first="in_flight"\} 1/);
    });
  });

  describe('each systemId sends only as the OrganIds it is bound to', () => {
    it('a client bound to a department cannot send as the agency: 403 sender-not-allowed', async () => {
      const doc = vendorDocument('Mạo danh UBND tỉnh', []);
      const answer = await sendRaw(h.url, doc, signedHeaders(doc, 'application/json', DEPT));
      assert.equal(answer.status, 403, JSON.stringify(answer.json));
      assert.equal(answer.json.reason, 'sender-not-allowed');
      assert.match(String(answer.json.detail), /system "phong-ban" may send as 000\.00\.01\.H41 only, and this package's From\/OrganId is 000\.00\.00\.H41/);
      assert.equal(h.sent.length, 0);
    });

    it("a client without organIds sends as the agency's own OrganId, and only as that", async () => {
      const own = vendorDocument('Của UBND tỉnh', []);
      assert.equal((await sendRaw(h.url, own, signedHeaders(own, 'application/json'))).status, 202);
      const other = vendorDocument('Của phòng ban', [], DEPARTMENT);
      const answer = await sendRaw(h.url, other, signedHeaders(other, 'application/json'));
      assert.equal(answer.status, 403);
      assert.match(String(answer.json.detail), /system "qlvb-h41" may send as 000\.00\.00\.H41 only/);
      assert.equal(h.sent.length, 1);
    });
  });

  describe('a multipart part the document does not list (issue 16 point 11)', () => {
    it('is refused with unlisted-attachment naming it, and nothing is sent', async () => {
      const pdf = Buffer.from('%PDF-1.4\n%%EOF\n');
      const body = multipart('C', [part('C', 'document', 'd.json', 'application/json', vendorDocument('Có tệp thừa', ['cv.pdf'])), part('C', 'file', 'cv.pdf', 'application/pdf', pdf), part('C', 'file', 'phu-luc.pdf', 'application/pdf', pdf)]);
      const answer = await sendRaw(h.url, body, signedHeaders(body, 'multipart/form-data; boundary=C'));
      assert.equal(answer.status, 422, JSON.stringify(answer.json));
      assert.equal(answer.json.reason, 'unlisted-attachment');
      assert.match(String(answer.json.detail), /"phu-luc\.pdf"/);
      assert.equal(h.sent.length, 0);
    });

    it('a second part with a listed name is refused too, instead of one of the two winning', async () => {
      const body = multipart('D', [part('D', 'document', 'd.json', 'application/json', vendorDocument('Hai tệp cùng tên', ['cv.pdf'])), part('D', 'file', 'cv.pdf', 'application/pdf', Buffer.from('one')), part('D', 'file', 'cv.pdf', 'application/pdf', Buffer.from('two'))]);
      const answer = await sendRaw(h.url, body, signedHeaders(body, 'multipart/form-data; boundary=D'));
      assert.equal(answer.json.reason, 'unlisted-attachment');
    });
  });

  describe('every 401 is logged and counted by reason, never with a secret (issue 16 point 13)', () => {
    it('logs the reason and counts it; the secret, the HMAC and the body stay out of the log', async () => {
      const doc = vendorDocument('Bị từ chối', []);
      const good = signedHeaders(doc, 'application/json');
      const stale = signIngestRequest({ ...QLVB, body: doc, contentType: 'application/json', now: new Date(Date.now() - 3_600_000) });
      const logBefore = h.logLines().length;
      const attempts: Array<[string, Record<string, string>]> = [
        ['missing-signature', { 'Content-Type': 'application/json' }],
        ['bad-signature', { ...signIngestRequest({ ...QLVB, secret: 'not-the-secret', body: doc, contentType: 'application/json' }) }],
        ['unknown-system', { ...signIngestRequest({ systemId: 'ke-la', secret: 'x', body: doc, contentType: 'application/json' }) }],
        ['timestamp-skew', stale],
        ['body-mismatch', { ...good }],
      ];
      for (const [reason, headers] of attempts) {
        const sentBody = reason === 'body-mismatch' ? Buffer.from(doc.toString().replace('Bị từ chối', 'Bị sửa đổi')) : doc;
        const answer = await sendRaw(h.url, sentBody, { ...headers, 'Content-Length': String(sentBody.length) });
        assert.equal(answer.status, 401, reason);
        assert.equal(answer.json.reason, reason);
      }
      const lines = h.logLines().slice(logBefore).filter((l) => String(l.msg).startsWith('request refused with 401'));
      assert.deepEqual(lines.map((l) => l.reason), attempts.map(([reason]) => reason));
      for (const l of lines) assert.equal(l.connector, 'vendor-ingest');
      assert.equal(lines.find((l) => l.reason === 'bad-signature')!.systemId, QLVB.systemId, 'a known systemId is named');
      assert.equal(lines.find((l) => l.reason === 'unknown-system')!.systemId, undefined, "an unknown systemId is the client's text and not a log field");
      const raw = h.rawLog();
      for (const secret of [QLVB.secret, DEPT.secret, 'not-the-secret', good['XroadVnpt-hash-header']!, 'Bị từ chối']) assert.ok(!raw.includes(secret), `the log holds ${secret}`);
      const text = await h.metrics.exposition();
      for (const [reason] of attempts) assert.match(text, new RegExp(`vdxp_ingest_unauthorized_total\\{connector="vendor-ingest",reason="${reason}"\\} [1-9]`), reason);
    });

    it('a flood of refusals is counted in full but logged once a second per reason', async () => {
      const doc = vendorDocument('Dồn dập', []);
      const headers = { 'Content-Type': 'application/json', 'XroadVnpt-timestamp': axisTimestamp(new Date()) };
      await new Promise((r) => setTimeout(r, 1_100)); // the previous test's line for this reason is a second old
      const before = h.logLines().length;
      for (let i = 0; i < 20; i++) assert.equal((await sendRaw(h.url, doc, headers)).status, 401);
      const lines = h.logLines().slice(before).filter((l) => l.reason === 'missing-signature');
      assert.ok(lines.length >= 1 && lines.length <= 3, `${lines.length} lines for 20 refusals`);
      assert.match(await h.metrics.exposition(), /vdxp_ingest_unauthorized_total\{connector="vendor-ingest",reason="missing-signature"\} 2[1-9]/);
    });
  });
});

describe('HMAC over plain HTTP', () => {
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vdxp-plain-http-'));
    fs.writeFileSync(path.join(dir, 'secret'), 'a-secret\n');
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('refuses to start without tls unless allowPlainHttp is set, and warns when it is', async () => {
    const auth = { hmac: { clients: [{ systemId: 'x', secretFile: path.join(dir, 'secret') }] } };
    const refused = new HttpSource('plain', { port: await freePort(), auth });
    await assert.rejects(refused.start(async () => undefined), /connector plain: HMAC request signing over plain HTTP .* configure tls .* or set allowPlainHttp: true/);
    const chunks: string[] = [];
    const log = createLogger({ destination: new Writable({ write: (c, _e, done) => (chunks.push(String(c)), done()) }) });
    const allowed = new HttpSource('plain', { port: await freePort(), auth, allowPlainHttp: true }, { log });
    await allowed.start(async () => undefined);
    await allowed.stop();
    assert.match(chunks.join(''), /"level":"warn".*HMAC over plain HTTP \(allowPlainHttp: true\)/);
  });

  it('config check names the key, for an ingest with hmac and neither tls nor allowPlainHttp', () => {
    const config = (options: string) => `
organId: "${H41}"
kafka: { brokers: ["127.0.0.1:9092"] }
trust: { insecureSkipVerification: true }
connectors:
  - { name: ingest, type: http, direction: source, options: { port: 8443, auth: { hmac: { clients: [{ systemId: x, secretFile: /s }] } }${options} } }
`;
    assert.throws(() => parseConfig(config('')), /connectors\[0\]\.options\.tls: expected tls \(certFile, keyFile\) for an ingest with HMAC request signing, or allowPlainHttp: true/);
    assert.doesNotThrow(() => parseConfig(config(', allowPlainHttp: true')));
    assert.doesNotThrow(() => parseConfig(config(', tls: { certFile: /c, keyFile: /k }')));
  });
});
