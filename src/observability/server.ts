/**
 * The ops HTTP server: /metrics, /healthz, /readyz (issue 8 §2; semantics in docs/MONITORING.md).
 *
 * - /healthz answers 200 whenever the event loop runs; it never looks at Kafka, so a broker
 *   outage does not make Kubernetes restart healthy pods.
 * - /readyz answers 200 only when every injected check passes within its time limit and the
 *   process is not draining; otherwise 503 with a JSON body naming the failed checks.
 * - /metrics evaluates readiness too, so vdxp_ready is current at every scrape.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from './log';
import type { Metrics } from './metrics';
import { scrubText } from './redact';

export interface ReadinessCheck {
  name: string;
  /**
   * true: passing; `{ ok: true, note }`: passing, with something an operator must see (shown in
   * the /readyz body). false or a string (the reason): failing. Throwing counts as failing.
   */
  check: () => Promise<boolean | string | { ok: true; note: string }>;
}

export interface OpsServerOptions {
  port: number;
  host?: string;
  metrics: Metrics;
  readinessChecks: ReadinessCheck[];
  /** A check that has not answered by then fails with "timed out" (default 5000). */
  checkTimeoutMs?: number;
  /** Failing and recovering checks are logged once per change, not once per probe. */
  logger?: Logger;
}

export interface OpsServer {
  port: number;
  /** From now on /readyz answers 503 (`draining`), so Kubernetes stops routing new work. */
  setDraining(): void;
  close(): Promise<void>;
}

export interface CheckOutcome {
  name: string;
  ok: boolean;
  detail?: string;
}

export interface ReadinessReport {
  ready: boolean;
  draining: boolean;
  failed: string[];
  checks: CheckOutcome[];
}

const DEFAULT_CHECK_TIMEOUT_MS = 5000;

export async function startOpsServer(options: OpsServerOptions): Promise<OpsServer> {
  const timeoutMs = options.checkTimeoutMs ?? DEFAULT_CHECK_TIMEOUT_MS;
  const lastOk = new Map<string, boolean>();
  let draining = false;

  async function evaluate(): Promise<ReadinessReport> {
    const checks = await Promise.all(options.readinessChecks.map((c) => runCheck(c, timeoutMs)));
    logChanges(checks);
    const failed = checks.filter((c) => !c.ok).map((c) => c.name);
    const ready = failed.length === 0 && !draining;
    options.metrics.setReadiness(ready, Object.fromEntries(checks.map((c) => [c.name, c.ok])));
    return { ready, draining, failed, checks };
  }

  function logChanges(checks: CheckOutcome[]): void {
    for (const outcome of checks) {
      const before = lastOk.get(outcome.name);
      lastOk.set(outcome.name, outcome.ok);
      if (before === outcome.ok || !options.logger) continue;
      if (!outcome.ok) {
        options.logger.warn({ step: 'readiness', check: outcome.name, detail: outcome.detail }, `readiness check ${outcome.name} failing: ${outcome.detail}`);
      } else if (before === false) {
        options.logger.info({ step: 'readiness', check: outcome.name }, `readiness check ${outcome.name} passing again`);
      }
    }
  }

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      return send(res, 405, 'text/plain; charset=utf-8', 'method not allowed\n', { Allow: 'GET, HEAD' });
    }
    switch (path) {
      case '/healthz':
        return send(res, 200, 'application/json', JSON.stringify({ status: 'alive' }) + '\n');
      case '/readyz': {
        const report = await evaluate();
        return send(res, report.ready ? 200 : 503, 'application/json', JSON.stringify(report) + '\n');
      }
      case '/metrics':
        await evaluate();
        return send(res, 200, options.metrics.contentType, await options.metrics.exposition());
      default:
        return send(res, 404, 'text/plain; charset=utf-8', 'not found\n');
    }
  }

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      options.logger?.error({ err, step: 'readiness' }, 'ops server request failed');
      if (!res.headersSent) send(res, 500, 'text/plain; charset=utf-8', 'internal error\n');
      else res.destroy();
    });
  });
  // Probes and scrapes are short; do not let an idle keep-alive socket hold close() up.
  server.keepAliveTimeout = 5000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '0.0.0.0', () => {
      server.off('error', reject);
      resolve();
    });
  });

  return {
    port: (server.address() as AddressInfo).port,
    setDraining() {
      draining = true;
    },
    close() {
      return new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeIdleConnections();
      });
    },
  };
}

export async function runCheck(readiness: ReadinessCheck, timeoutMs: number): Promise<CheckOutcome> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve(`timed out after ${timeoutMs} ms`), timeoutMs);
  });
  try {
    const result = await Promise.race([readiness.check(), timeout]);
    if (result === true) return { name: readiness.name, ok: true };
    if (typeof result === 'object' && result.ok) return { name: readiness.name, ok: true, detail: scrubText(result.note) };
    return { name: readiness.name, ok: false, detail: typeof result === 'string' ? scrubText(result) : 'check failed' };
  } catch (err) {
    return { name: readiness.name, ok: false, detail: scrubText(err instanceof Error ? err.message : String(err)) };
  } finally {
    clearTimeout(timer);
  }
}

function send(
  res: http.ServerResponse,
  status: number,
  contentType: string,
  body: string,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, {
    'Content-Type': contentType,
    'Content-Length': Buffer.byteLength(body),
    'Cache-Control': 'no-store',
    ...headers,
  });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}
