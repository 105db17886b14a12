/**
 * HTTP transport, source side (ingest): the legacy system POSTs a document or status to `path`.
 * The request is authenticated by HMAC-SHA256 request signing (SPEC §12, see ./signing.ts) and/or
 * mutual TLS; a bad or missing signature gets 401 and nothing is sent. Answers: 202 only after
 * Kafka holds every copy; 4xx with `{ status: "rejected", reason, detail }` when the item can never
 * be accepted; 503 with Retry-After when it should be sent again later. A multipart/form-data body
 * carries the document in the part named `document` and files beside it in the other parts.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Rejection } from '../../errors';
import type { Source, SourceHandler, VendorMessage } from '../types';
import { verifyRequest } from './signing';
import { parseMultipart } from './multipart';

export interface HttpTlsFiles {
  certFile: string;
  keyFile: string;
  /** Client certificates must chain to this CA (mutual TLS). */
  caFile?: string;
}

export interface HttpSourceOptions {
  host?: string;
  port: number;
  path?: string;
  auth: {
    hmac?: { clients: Array<{ systemId: string; secretFile: string }>; maxSkewSeconds?: number };
    /** Mutual TLS: the server requires a client certificate issued under `tls.caFile`. */
    mutualTls?: boolean;
  };
  tls?: HttpTlsFiles;
  maxBodyBytes?: number;
  retryAfterSeconds?: number;
}

const DEFAULT_MAX_BODY = 256 * 1024 * 1024;

/** HTTP status for a rejection reason: what the legacy system must change before retrying. */
function statusForRejection(reason: string): number {
  if (reason === 'limit-exceeded') return 413;
  if (reason === 'malformed-xml' || reason === 'dtd-forbidden') return 400;
  return 422;
}

function sendJson(res: http.ServerResponse, status: number, body: Record<string, unknown>, headers: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed) return;
  const bytes = Buffer.from(JSON.stringify(body) + '\n');
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': bytes.length, ...headers });
  res.end(bytes);
}

/** `X-File-Name` is URL-encoded (header values are ASCII); a malformed one is taken as written. */
function decodedFileName(header: string): string {
  try {
    return decodeURIComponent(header);
  } catch {
    return header;
  }
}

export class HttpSource implements Source {
  private server: http.Server | undefined;
  private readonly inFlight = new Set<Promise<void>>();
  private secrets = new Map<string, string>();

  constructor(
    readonly name: string,
    private readonly options: HttpSourceOptions,
  ) {}

  /** The bound port (useful with `port: 0`). */
  get port(): number | undefined {
    return (this.server?.address() as AddressInfo | null)?.port;
  }

  async start(handler: SourceHandler): Promise<void> {
    const { auth, tls } = this.options;
    if (!auth.hmac && !auth.mutualTls) throw new Error(`connector ${this.name}: auth needs hmac or mutualTls`);
    if (auth.mutualTls && !tls?.caFile) throw new Error(`connector ${this.name}: mutualTls needs tls.caFile`);
    for (const c of auth.hmac?.clients ?? []) this.secrets.set(c.systemId, fs.readFileSync(c.secretFile, 'utf8').trim());
    const listener = (req: http.IncomingMessage, res: http.ServerResponse) => {
      const work = this.handle(req, res, handler).catch((err: Error) => sendJson(res, 500, { status: 'error', detail: err.message }));
      this.inFlight.add(work);
      void work.finally(() => this.inFlight.delete(work));
    };
    this.server = tls
      ? https.createServer(
          {
            cert: fs.readFileSync(tls.certFile),
            key: fs.readFileSync(tls.keyFile),
            ca: tls.caFile ? fs.readFileSync(tls.caFile) : undefined,
            requestCert: !!auth.mutualTls,
            rejectUnauthorized: !!auth.mutualTls,
          },
          listener,
        )
      : http.createServer(listener);
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(this.options.port, this.options.host ?? '127.0.0.1', () => resolve());
    });
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse, handler: SourceHandler): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== (this.options.path ?? '/documents')) return sendJson(res, 404, { status: 'not-found' });
    if (req.method !== 'POST') return sendJson(res, 405, { status: 'method-not-allowed' }, { Allow: 'POST' });
    const body = await this.readBody(req, res);
    if (!body) return;
    const denied = this.authenticate(req, body);
    if (denied) return sendJson(res, 401, { status: 'unauthorized', detail: denied });
    const contentType = req.headers['content-type'] ?? 'application/octet-stream';
    let message: VendorMessage;
    if (/^multipart\/form-data/i.test(contentType)) {
      try {
        const parsed = parseMultipart(body, contentType);
        message = { body: parsed.body, contentType: parsed.bodyContentType, fileName: parsed.fileName ?? 'document', sideFiles: parsed.sideFiles };
      } catch (err) {
        return sendJson(res, 400, { status: 'rejected', reason: 'malformed-request', detail: (err as Error).message });
      }
    } else {
      const named = req.headers['x-file-name'];
      message = { body, contentType, fileName: typeof named === 'string' ? decodedFileName(named) : 'document', sideFiles: [] };
    }
    let settled = false;
    const once = (answer: () => void) => async () => {
      if (settled) throw new Error(`request settled twice`);
      settled = true;
      answer();
    };
    await handler(message, {
      accepted: once(() => sendJson(res, 202, { status: 'accepted' })),
      rejected: (rejection: Rejection) =>
        once(() => sendJson(res, statusForRejection(rejection.reason), { status: 'rejected', reason: rejection.reason, detail: rejection.detail, limit: rejection.limit }))(),
      retryLater: (err: Error) =>
        once(() => sendJson(res, 503, { status: 'retry-later', detail: err.message }, { 'Retry-After': String(this.options.retryAfterSeconds ?? 5) }))(),
    });
    if (!settled) sendJson(res, 500, { status: 'error', detail: 'the item was not settled' });
  }

  private readBody(req: http.IncomingMessage, res: http.ServerResponse): Promise<Buffer | undefined> {
    const max = this.options.maxBodyBytes ?? DEFAULT_MAX_BODY;
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > max) {
      sendJson(res, 413, { status: 'rejected', reason: 'limit-exceeded', detail: `body of ${declared} bytes, limit ${max}` }, { Connection: 'close' });
      req.resume();
      return Promise.resolve(undefined);
    }
    return new Promise((resolve) => {
      const chunks: Buffer[] = [];
      let size = 0;
      req.on('data', (c: Buffer) => {
        size += c.length;
        if (size > max) {
          sendJson(res, 413, { status: 'rejected', reason: 'limit-exceeded', detail: `body over ${max} bytes` }, { Connection: 'close' });
          req.destroy();
          resolve(undefined);
          return;
        }
        chunks.push(c);
      });
      req.on('end', () => resolve(size > max ? undefined : Buffer.concat(chunks)));
      req.on('error', () => resolve(undefined));
    });
  }

  /** Undefined when the request is authentic; else why not. */
  private authenticate(req: http.IncomingMessage, body: Buffer): string | undefined {
    const { auth } = this.options;
    if (auth.mutualTls && !(req.socket as TLSSocket).authorized) return 'client certificate missing or not trusted';
    if (!auth.hmac) return undefined;
    const header = (name: string) => {
      const v = req.headers[name.toLowerCase()];
      return Array.isArray(v) ? v[0] : v;
    };
    const result = verifyRequest(header, body, (id) => this.secrets.get(id), new Date(), (auth.hmac.maxSkewSeconds ?? 300) * 1000);
    return result.ok ? undefined : result.reason;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    await Promise.allSettled([...this.inFlight]);
    server.closeIdleConnections?.();
    await closed;
  }
}
