/**
 * The trail page's authentication, attacked from outside: every request without the token (or
 * the client certificate) sees nothing of the documents, forged and expired sessions are refused,
 * guessing is throttled, and the config refuses a page without any authentication.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as https from 'node:https';
import * as os from 'node:os';
import * as path from 'node:path';
import { HashChain } from '../../../src/trail/chain';
import { OverdueRules, DEFAULT_STAGE_LIMITS } from '../../../src/trail/overdue';
import { DEFAULT_CALENDAR } from '../../../src/trail/calendar/working-time';
import { TrailReadModel } from '../../../src/trail/read-model';
import { startTrailWeb, type TrailWeb } from '../../../src/trail/web/server';
import { SESSION_COOKIE } from '../../../src/trail/web/auth';
import { parseConfig, ConfigError } from '../../../src/config/load';
import { freePort } from '../../support/ports';
import { makeWebTls, type WebTls } from '../../support/web-tls';

const TOKEN = 'vdxp-test-token-' + 'k'.repeat(40);
const SECRET_SUBJECT = 'Công văn mật số 42 về nhân sự';

function modelWithOneDocument() {
  const rules = new OverdueRules({ ...DEFAULT_STAGE_LIMITS, counterparts: {}, calendar: DEFAULT_CALENDAR });
  const model = new TrailReadModel(rules);
  const chain = new HashChain('c', '000.00.00.H41');
  const r = chain.append({ step: 'taken', documentId: 'doc-42', kind: 'edoc', counterparts: ['000.00.00.G22'], source: 'outbox', item: 'x', contentSha256: 'ab'.repeat(32), meta: { subject: SECRET_SUBJECT } }, new Date());
  model.apply({ entry: r.entry, hash: r.hash, offset: 0 });
  return { model, rules };
}

async function web(settings: Record<string, unknown>): Promise<TrailWeb> {
  return startTrailWeb({ organId: '000.00.00.H41', settings: { enabled: true, host: '127.0.0.1', port: await freePort(), refreshSeconds: 15, ...settings } as never, trail: modelWithOneDocument() });
}

async function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string; headers: Headers }> {
  const res = await fetch(url, { headers, redirect: 'manual' });
  return { status: res.status, body: await res.text(), headers: res.headers };
}

describe('trail web page: nothing is shown without authentication', function () {
  this.timeout(30_000);
  let dir: string;
  let tokenFile: string;
  const servers: TrailWeb[] = [];
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vdxp-trail-web-'));
    tokenFile = path.join(dir, 'token');
    fs.writeFileSync(tokenFile, TOKEN + '\n');
  });
  afterEach(async () => Promise.all(servers.splice(0).map((s) => s.close())));
  const start = async (settings: Record<string, unknown>) => {
    const s = await web(settings);
    servers.push(s);
    return `http://127.0.0.1:${s.port}`;
  };

  it('an unauthenticated request gets the login form or 401, and no document data', async () => {
    const base = await start({ tokenFile });
    for (const p of ['/', '/app.js', '/api/meta', '/api/documents', '/api/documents/doc-42', '/api/documents?q=42']) {
      const res = await get(base + p);
      assert.ok(res.status === 401 || res.status === 303, `${p}: ${res.status}`);
      assert.ok(!res.body.includes(SECRET_SUBJECT) && !res.body.includes('doc-42'), `${p} leaks data`);
    }
    assert.equal((await get(base + '/')).headers.get('location'), '/login');
    assert.match((await get(base + '/login')).body, /Mã truy cập/);
  });

  it('a wrong bearer token sees nothing; the right one sees the documents', async () => {
    const base = await start({ tokenFile });
    assert.equal((await get(base + '/api/documents', { Authorization: 'Bearer ' + TOKEN.slice(0, -1) + 'x' })).status, 401);
    const ok = await get(base + '/api/documents', { Authorization: 'Bearer ' + TOKEN });
    assert.equal(ok.status, 200);
    assert.ok(ok.body.includes(SECRET_SUBJECT));
  });

  it('logging in sets an HttpOnly SameSite=Strict session that works; a forged or expired one does not', async () => {
    const base = await start({ tokenFile });
    const wrong = await fetch(base + '/login', { method: 'POST', body: new URLSearchParams({ token: 'guess' }), redirect: 'manual' });
    assert.equal(wrong.status, 401);
    assert.equal(wrong.headers.get('set-cookie'), null);
    const login = await fetch(base + '/login', { method: 'POST', body: new URLSearchParams({ token: TOKEN }), redirect: 'manual' });
    assert.equal(login.status, 303);
    const cookie = login.headers.get('set-cookie')!;
    assert.match(cookie, /HttpOnly/);
    assert.match(cookie, /SameSite=Strict/);
    const session = cookie.split(';')[0]!;
    assert.equal((await get(base + '/api/meta', { Cookie: session })).status, 200);
    const [expiry, mac] = session.split('=')[1]!.split('.');
    // Extending the expiry without the token's HMAC, or a MAC for another expiry, is refused.
    assert.equal((await get(base + '/api/meta', { Cookie: `${SESSION_COOKIE}=${Number(expiry) + 1e9}.${mac}` })).status, 401);
    assert.equal((await get(base + '/api/meta', { Cookie: `${SESSION_COOKIE}=${Date.now() - 1000}.${mac}` })).status, 401);
    assert.equal((await get(base + '/api/meta', { Cookie: `${SESSION_COOKIE}=${expiry}.${'0'.repeat(64)}` })).status, 401);
  });

  it('guessing the token is throttled: the 11th wrong login within a minute gets 429, even with the right token', async () => {
    const base = await start({ tokenFile });
    for (let i = 0; i < 10; i++) assert.equal((await fetch(base + '/login', { method: 'POST', body: new URLSearchParams({ token: `guess-${i}` }), redirect: 'manual' })).status, 401);
    assert.equal((await fetch(base + '/login', { method: 'POST', body: new URLSearchParams({ token: TOKEN }), redirect: 'manual' })).status, 429);
  });

  it('every response forbids inline and foreign scripts, framing and sniffing', async () => {
    const base = await start({ tokenFile });
    const res = await get(base + '/', { Authorization: 'Bearer ' + TOKEN });
    assert.match(res.headers.get('content-security-policy') ?? '', /default-src 'none'; script-src 'self'/);
    assert.equal(res.headers.get('x-frame-options'), 'DENY');
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    assert.ok(!/<script>/.test(res.body), 'no inline script');
    assert.ok(!/https?:\/\//.test(res.body), 'nothing loaded from elsewhere: no CDN, no web fonts');
  });

  it('refuses a token shorter than 32 characters, and a config that would serve the page open', async () => {
    const short = path.join(dir, 'short');
    fs.writeFileSync(short, 'secret');
    await assert.rejects(web({ tokenFile: short }), /at least 32/);
    const yaml = (web: string) => `organId: 000.00.00.H41\nkafka: { brokers: ['127.0.0.1:9092'] }\ntrust: { insecureSkipVerification: true }\nconnectors: [{ name: a, type: file-drop, direction: source, options: { dir: /tmp } }]\ntrail: { web: ${web} }\n`;
    assert.throws(() => parseConfig(yaml('{ enabled: true }')), (e: unknown) => e instanceof ConfigError && /trail\.web: expected tokenFile, or tls\.clientCaFile/.test(e.message));
    assert.equal(parseConfig(yaml(`{ enabled: true, tokenFile: ${tokenFile} }`)).trail.web.enabled, true);
  });

  describe('with client certificates', () => {
    let tls: WebTls;
    before(async () => {
      tls = await makeWebTls(path.join(dir, 'tls'));
    });
    const request = (port: number, client?: { cert: string; key: string }) =>
      new Promise<{ status?: number; body: string; error?: string }>((resolve) => {
        const req = https.get(
          { host: '127.0.0.1', port, path: '/api/documents', ca: fs.readFileSync(tls.caFile), ...(client ? { cert: fs.readFileSync(client.cert), key: fs.readFileSync(client.key) } : {}) },
          (res) => {
            let body = '';
            res.on('data', (c) => (body += c));
            res.on('end', () => resolve({ status: res.statusCode, body }));
          },
        );
        req.on('error', (err) => resolve({ body: '', error: err.message }));
      });

    it('a client without a certificate, or with one from another CA, gets no answer; the clerk’s certificate does', async () => {
      const s = await web({ tls: { certFile: tls.serverCert, keyFile: tls.serverKey, clientCaFile: tls.caFile } });
      servers.push(s);
      const none = await request(s.port);
      assert.ok(none.error || none.status === 403 || none.status === 401, JSON.stringify(none));
      assert.ok(!none.body.includes(SECRET_SUBJECT));
      const stranger = await request(s.port, { cert: tls.strangerCert, key: tls.strangerKey });
      assert.ok(stranger.error, `a stranger's certificate is refused in the handshake: ${JSON.stringify(stranger)}`);
      const clerk = await request(s.port, { cert: tls.clientCert, key: tls.clientKey });
      assert.equal(clerk.status, 200);
      assert.ok(clerk.body.includes(SECRET_SUBJECT));
    });
  });
});
