/**
 * The "legacy system" of the fault suite: an HTTP endpoint that records every delivery by its
 * Idempotency-Key and can be taken down (connections refused), made slow, or made to refuse
 * particular documents for good (422).
 */
import * as http from 'node:http';
import type { Socket } from 'node:net';
import { listenOnFreePort } from './ports';

export class FaultLegacyServer {
  /** Idempotency-Key of every request answered 2xx, in order (repeats are redeliveries). */
  readonly deliveries: string[] = [];
  readonly unique = new Set<string>();
  /** Requests received, answered or not yet. */
  requests = 0;
  /** Requests being answered right now, and the most there ever were at once. */
  concurrent = 0;
  maxConcurrent = 0;
  delayMs = 0;
  /** DocumentIds (X-Vdxp-Document-Id) answered 422. */
  readonly refuse = new Set<string>();
  private server: http.Server | undefined;
  private readonly sockets = new Set<Socket>();
  private port: number | undefined;

  get url(): string {
    return `http://127.0.0.1:${this.port}/documents`;
  }

  async up(): Promise<void> {
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      this.concurrent += 1;
      this.maxConcurrent = Math.max(this.maxConcurrent, this.concurrent);
      let counted = true;
      const settled = () => {
        if (counted) this.concurrent -= 1;
        counted = false;
      };
      res.on('close', settled);
      req.on('end', () => {
        this.requests += 1;
        const key = String(req.headers['idempotency-key'] ?? '');
        const documentId = decodeURIComponent(String(req.headers['x-vdxp-document-id'] ?? ''));
        const answer = () => {
          settled(); // before the answer leaves: the client may start its next request at once
          if (res.destroyed) return;
          if (this.refuse.has(documentId)) {
            res.writeHead(422).end('unknown department');
            return;
          }
          if (!key || Buffer.concat(chunks).length === 0) {
            res.writeHead(400).end('no key or body');
            return;
          }
          this.deliveries.push(key);
          this.unique.add(key);
          res.writeHead(201).end();
        };
        if (this.delayMs > 0) setTimeout(answer, this.delayMs);
        else answer();
      });
    });
    server.on('connection', (s: Socket) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    // The first start picks a port; a restart after an outage comes back on the same one.
    if (this.port === undefined) this.port = await listenOnFreePort(server);
    else await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve));
    this.server = server;
  }

  /** Stop listening and cut every open connection: the sink sees connection refused/reset. */
  async down(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const s of this.sockets) s.destroy();
    await closed;
  }
}
