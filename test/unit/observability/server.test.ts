import { strict as assert } from 'node:assert';
import { Writable } from 'node:stream';
import { createLogger } from '../../../src/observability/log';
import { createMetrics } from '../../../src/observability/metrics';
import { startOpsServer, type OpsServer, type ReadinessCheck } from '../../../src/observability/server';
import { freePort } from '../../support/ports';

interface Reply {
  status: number;
  contentType: string | null;
  body: string;
}

async function get(server: OpsServer, path: string, method = 'GET'): Promise<Reply> {
  const res = await fetch(`http://127.0.0.1:${server.port}${path}`, { method });
  return { status: res.status, contentType: res.headers.get('content-type'), body: await res.text() };
}

describe('observability/server', () => {
  let server: OpsServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  async function start(readinessChecks: ReadinessCheck[], extra: { checkTimeoutMs?: number; lines?: string[] } = {}) {
    const metrics = createMetrics({ defaultMetrics: false });
    const lines = extra.lines;
    const logger = lines
      ? createLogger({ destination: new Writable({ write: (chunk, _enc, done) => (lines.push(String(chunk)), done()) }) })
      : undefined;
    return startOpsServer({ port: await freePort(), host: '127.0.0.1', metrics, readinessChecks, checkTimeoutMs: extra.checkTimeoutMs, logger });
  }

  it('answers /healthz while the process runs, even when not ready', async () => {
    server = await start([{ name: 'kafka', check: async () => false }]);
    const reply = await get(server, '/healthz');
    assert.equal(reply.status, 200);
    assert.deepEqual(JSON.parse(reply.body), { status: 'alive' });
  });

  it('is ready only when every check passes', async () => {
    server = await start([
      { name: 'kafka', check: async () => true },
      { name: 'trust', check: async () => true },
      { name: 'config', check: async () => true },
    ]);
    const reply = await get(server, '/readyz');
    assert.equal(reply.status, 200);
    assert.deepEqual(JSON.parse(reply.body).failed, []);
  });

  it('names each failed check: false, a reason string, a throw and a hang', async () => {
    server = await start(
      [
        { name: 'config', check: async () => true },
        { name: 'kafka', check: async () => 'SASL authentication failed' },
        { name: 'trust', check: async () => false },
        { name: 'crl', check: async () => Promise.reject(new Error('CRL expired at 2026-01-01')) },
        { name: 'slow', check: () => new Promise<boolean>(() => undefined) },
      ],
      { checkTimeoutMs: 100 },
    );
    const reply = await get(server, '/readyz');
    assert.equal(reply.status, 503);
    const body = JSON.parse(reply.body);
    assert.equal(body.ready, false);
    assert.deepEqual(body.failed, ['kafka', 'trust', 'crl', 'slow']);
    const detail = Object.fromEntries(body.checks.map((c: { name: string; detail?: string }) => [c.name, c.detail]));
    assert.equal(detail.kafka, 'SASL authentication failed');
    assert.equal(detail.crl, 'CRL expired at 2026-01-01');
    assert.match(detail.slow, /timed out after 100 ms/);
  });

  it('is not ready once draining, although the checks pass and /healthz still answers', async () => {
    server = await start([{ name: 'kafka', check: async () => true }]);
    server.setDraining();
    const ready = await get(server, '/readyz');
    assert.equal(ready.status, 503);
    assert.deepEqual(JSON.parse(ready.body), { ready: false, draining: true, failed: [], checks: [{ name: 'kafka', ok: true }] });
    assert.equal((await get(server, '/healthz')).status, 200);
  });

  it('serves the exposition on /metrics with readiness reflected in vdxp_ready', async () => {
    let kafkaUp = true;
    server = await start([{ name: 'kafka', check: async () => kafkaUp }]);
    let reply = await get(server, '/metrics');
    assert.equal(reply.status, 200);
    assert.match(reply.contentType ?? '', /^text\/plain; version=0\.0\.4/);
    assert.match(reply.body, /^vdxp_ready 1$/m);
    kafkaUp = false;
    reply = await get(server, '/metrics');
    assert.match(reply.body, /^vdxp_ready 0$/m);
    assert.match(reply.body, /^vdxp_readiness_check_ok\{check="kafka"\} 0$/m);
  });

  it('logs a failing check once when it starts failing and once when it recovers', async () => {
    const lines: string[] = [];
    let kafkaUp = false;
    server = await start([{ name: 'kafka', check: async () => (kafkaUp ? true : 'broker certificate untrusted') }], { lines });
    await get(server, '/readyz');
    await get(server, '/readyz');
    kafkaUp = true;
    await get(server, '/readyz');
    const events = lines.map((l) => JSON.parse(l));
    assert.equal(events.length, 2);
    assert.equal(events[0].level, 'warn');
    assert.equal(events[0].check, 'kafka');
    assert.match(events[0].msg, /broker certificate untrusted/);
    assert.equal(events[1].level, 'info');
  });

  it('answers 404 for unknown paths, 405 for other methods, and HEAD without a body', async () => {
    server = await start([]);
    assert.equal((await get(server, '/nope')).status, 404);
    assert.equal((await get(server, '/readyz', 'POST')).status, 405);
    const head = await get(server, '/readyz', 'HEAD');
    assert.equal(head.status, 200);
    assert.equal(head.body, '');
  });
});
