/**
 * HTTP transport, source side (ingest): the legacy system POSTs a document or status to `path`.
 * The request is authenticated by HMAC-SHA256 request signing (SPEC §12, see ./signing.ts) and/or
 * mutual TLS; a bad or missing signature gets 401 and nothing is sent. Answers: 202 only after
 * Kafka holds every copy; 4xx with `{ status: "rejected", reason, detail }` when the item can never
 * be accepted; 503 with Retry-After when it should be sent again later. A multipart/form-data body
 * carries the document in the part named `document` and files beside it in the other parts.
 *
 * What the headers carry (client certificate, signed headers, timestamp, Content-Length against
 * `maxBodyBytes`) is checked before the body is read. A single-part body over LARGE_BODY_BYTES is
 * written to the source's scratch folder as it arrives, hashed on the way, and handed over as
 * `bodyFile`; the signature's `hash-file` is checked against that hash. The source owns the file:
 * it is removed once the item is settled (before the answer goes out) and on every failure.
 * Multipart bodies are read into memory, up to `maxBodyBytes`.
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as http from 'node:http';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Rejection } from '../../errors';
import { LARGE_BODY_BYTES, type Source, type SourceHandler, type VendorMessage } from '../types';
import { verifyRequest, verifyRequestWithBodyHash, verifySignedHeaders } from './signing';
import { parseMultipart } from './multipart';
import { BodyIncomplete, BodyTooLarge, receiveBody, type SpooledBody } from './receive';
import { ScratchFolder } from '../../scratch-folder';

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
const LINGER_MS = 10_000;

/** HTTP status for a rejection reason: what the legacy system must change before retrying. */
function statusForRejection(reason: string): number {
  if (reason === 'limit-exceeded') return 413;
  if (reason === 'malformed-xml' || reason === 'dtd-forbidden') return 400;
  return 422;
}

/** With `end: false` the answer goes out whole (it has a Content-Length) but the response stays open. */
function sendJson(res: http.ServerResponse, status: number, body: Record<string, unknown>, headers: Record<string, string> = {}, { end = true } = {}): void {
  if (res.headersSent || res.destroyed) return;
  const bytes = Buffer.from(JSON.stringify(body) + '\n');
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': bytes.length, ...headers });
  if (end) res.end(bytes);
  else res.write(bytes);
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
  private scratch: ScratchFolder | undefined;

  constructor(
    readonly name: string,
    private readonly options: HttpSourceOptions,
  ) {}

  /** The bound port (useful with `port: 0`). */
  get port(): number | undefined {
    return (this.server?.address() as AddressInfo | null)?.port;
  }

  /** Where bodies over LARGE_BODY_BYTES are written while the request is handled; removed at stop(). */
  get scratchDir(): string | undefined {
    return this.scratch?.dir;
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
    this.scratch = await ScratchFolder.open('vdxp-ingest-');
    try {
      await new Promise<void>((resolve, reject) => {
        this.server!.once('error', reject);
        this.server!.listen(this.options.port, this.options.host ?? '127.0.0.1', () => resolve());
      });
    } catch (err) {
      await this.scratch.close();
      throw err;
    }
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse, handler: SourceHandler): Promise<void> {
    // The signature's timestamp is compared with the request's arrival, so a long upload does not expire it.
    const receivedAt = new Date();
    const path = (req.url ?? '/').split('?')[0];
    if (path !== (this.options.path ?? '/documents')) return sendJson(res, 404, { status: 'not-found' });
    if (req.method !== 'POST') return sendJson(res, 405, { status: 'method-not-allowed' }, { Allow: 'POST' });
    // Checked before the body is read, so an unauthenticated client costs neither memory nor disk.
    const deniedEarly = this.authenticate(req, receivedAt);
    if (deniedEarly) return answerBeforeBody(req, res, 401, { status: 'unauthorized', detail: deniedEarly });
    const multipart = isMultipart(contentTypeOf(req));
    const max = this.options.maxBodyBytes ?? DEFAULT_MAX_BODY;
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > max) return answerBeforeBody(req, res, 413, { status: 'rejected', reason: 'limit-exceeded', detail: `body of ${declared} bytes, limit ${max}` });
    let body: Buffer | SpooledBody;
    try {
      // Multipart bodies are taken apart in memory, so only a single-part body goes to a file.
      body = await receiveBody(req, { maxBytes: max, spoolOverBytes: multipart ? undefined : LARGE_BODY_BYTES, newFilePath: () => this.scratch!.newPath('body') });
    } catch (err) {
      if (err instanceof BodyIncomplete) return;
      if (err instanceof BodyTooLarge) return answerBeforeBody(req, res, 413, { status: 'rejected', reason: 'limit-exceeded', detail: err.message });
      // The scratch folder is full or unwritable: that heals, so the client should send again.
      return answerBeforeBody(req, res, 503, { status: 'retry-later', detail: `could not store the body: ${(err as Error).message}` }, { 'Retry-After': this.retryAfter });
    }
    if (Buffer.isBuffer(body)) return this.offer({ req, res, receivedAt, body, release: async () => undefined }, handler);
    // The file is the source's own: it goes once the item is settled, before the answer, and on every failure.
    const file = body.file.path;
    let removed: Promise<void> | undefined;
    const release = () => (removed ??= fsp.rm(file, { force: true }).catch(() => undefined));
    try {
      await this.offer({ req, res, receivedAt, body, release }, handler);
    } finally {
      await release();
    }
  }

  /** Authenticates the request with its body and hands it to the handler. */
  private async offer(exchange: Exchange, handler: SourceHandler): Promise<void> {
    const { req, res, receivedAt, body, release } = exchange;
    const denied = this.authenticate(req, receivedAt, body);
    if (denied) return release().then(() => sendJson(res, 401, { status: 'unauthorized', detail: denied }));
    const contentType = contentTypeOf(req);
    let message: VendorMessage;
    if (!Buffer.isBuffer(body)) {
      message = { body: Buffer.alloc(0), bodyFile: body.file, contentType, fileName: fileNameOf(req), sideFiles: [] };
    } else if (isMultipart(contentType)) {
      try {
        const parsed = parseMultipart(body, contentType);
        message = { body: parsed.body, contentType: parsed.bodyContentType, fileName: parsed.fileName ?? 'document', sideFiles: parsed.sideFiles };
      } catch (err) {
        return sendJson(res, 400, { status: 'rejected', reason: 'malformed-request', detail: (err as Error).message });
      }
    } else {
      message = { body, contentType, fileName: fileNameOf(req), sideFiles: [] };
    }
    let settled = false;
    const once = (answer: () => void) => async () => {
      if (settled) throw new Error(`request settled twice`);
      settled = true;
      await release();
      answer();
    };
    await handler(message, {
      accepted: once(() => sendJson(res, 202, { status: 'accepted' })),
      rejected: (rejection: Rejection) =>
        once(() => sendJson(res, statusForRejection(rejection.reason), { status: 'rejected', reason: rejection.reason, detail: rejection.detail, limit: rejection.limit }))(),
      retryLater: (err: Error) => once(() => sendJson(res, 503, { status: 'retry-later', detail: err.message }, { 'Retry-After': this.retryAfter }))(),
    });
    if (!settled) await release().then(() => sendJson(res, 500, { status: 'error', detail: 'the item was not settled' }));
  }

  private get retryAfter(): string {
    return String(this.options.retryAfterSeconds ?? 5);
  }

  /**
   * Undefined when the request is authentic; else why not. Without `body` only what the headers
   * carry is checked: mutual TLS, and the HMAC signature except the body's hash.
   */
  private authenticate(req: http.IncomingMessage, receivedAt: Date, body?: Buffer | SpooledBody): string | undefined {
    const { auth } = this.options;
    if (auth.mutualTls && !(req.socket as TLSSocket).authorized) return 'client certificate missing or not trusted';
    if (!auth.hmac) return undefined;
    const header = (name: string) => {
      const v = req.headers[name.toLowerCase()];
      return Array.isArray(v) ? v[0] : v;
    };
    const secretFor = (id: string) => this.secrets.get(id);
    const skewMs = (auth.hmac.maxSkewSeconds ?? 300) * 1000;
    const result =
      body === undefined
        ? verifySignedHeaders(header, secretFor, receivedAt, skewMs)
        : Buffer.isBuffer(body)
          ? verifyRequest(header, body, secretFor, receivedAt, skewMs)
          : verifyRequestWithBodyHash(header, body.sha256, secretFor, receivedAt, skewMs);
    return result.ok ? undefined : result.reason;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    await Promise.allSettled([...this.inFlight]);
    server.closeIdleConnections?.();
    await closed;
    await this.scratch?.close();
  }
}

interface Exchange {
  req: http.IncomingMessage;
  res: http.ServerResponse;
  receivedAt: Date;
  body: Buffer | SpooledBody;
  /** Removes what the request left on disk; runs before any answer. */
  release: () => Promise<void>;
}

function contentTypeOf(req: http.IncomingMessage): string {
  return req.headers['content-type'] ?? 'application/octet-stream';
}

function isMultipart(contentType: string): boolean {
  return /^multipart\/form-data/i.test(contentType);
}

function fileNameOf(req: http.IncomingMessage): string {
  const named = req.headers['x-file-name'];
  return typeof named === 'string' ? decodedFileName(named) : 'document';
}

/**
 * An answer sent while the body may still be arriving. The client gets it at once; the rest of
 * the body is read and thrown away, for up to LINGER_MS, before the connection is closed. Closing
 * it with bytes unread would reset it, and the client would often see the reset, not the answer.
 */
function answerBeforeBody(req: http.IncomingMessage, res: http.ServerResponse, status: number, body: Record<string, unknown>, headers: Record<string, string> = {}): Promise<void> {
  sendJson(res, status, body, { ...headers, Connection: 'close' }, { end: false });
  req.resume();
  const socket = req.socket;
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      req.off('end', done);
      socket.off('close', done);
      res.end();
      resolve();
    };
    const timer = setTimeout(() => socket.destroy(), LINGER_MS);
    if (req.readableEnded || socket.destroyed) return done();
    req.once('end', done);
    socket.once('close', done);
  });
}
