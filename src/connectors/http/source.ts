/**
 * HTTP transport, source side (ingest): the legacy system POSTs a document or status to `path`.
 * The request is authenticated by HMAC-SHA256 request signing (SPEC §12, see ./signing.ts, with
 * Content-Type and X-File-Name bound as ./ingest-auth.ts says) and/or mutual TLS; a bad or missing
 * signature gets 401, is logged and counted by reason, and nothing is sent. Each systemId may send
 * as the From/OrganIds of its `organIds` only. A signed request is handled once: a copy within the
 * skew window is answered from the replay guard (../replay-guard.ts) and sends nothing. HMAC over
 * plain HTTP needs `allowPlainHttp: true`. Answers: 202 only after Kafka holds every copy; 4xx
 * with `{ status: "rejected", reason, detail }` when the item can never be accepted; 503 with
 * Retry-After when it should be sent again later. A multipart/form-data body carries the document
 * in the part named `document` and files beside it in the other parts.
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
import { LARGE_BODY_BYTES, requestTimeoutOptions, type Source, type SourceHandler, type SourceServices, type VendorMessage } from '../types';
import { verifyRequest, verifyRequestWithBodyHash, verifySignedHeaders, type AuthFailureCode, type HeaderLookup } from './signing';
import { checkBoundHeaders, replayKey, replayWindowEnd } from './ingest-auth';
import { MemoryReplayGuard, type ReplayClaim, type ReplayGuard, type ReplayOutcome } from '../replay-guard';
import { parseMultipart } from './multipart';
import { BodyIncomplete, BodyTooLarge, receiveBody, type SpooledBody } from './receive';
import { ScratchFolder } from '../../scratch-folder';

export interface HttpTlsFiles {
  certFile: string;
  keyFile: string;
  /** Client certificates must chain to this CA (mutual TLS). */
  caFile?: string;
}

export interface HmacClient {
  systemId: string;
  secretFile: string;
  /** The From/OrganIds this system may send as; without it, the agency's own OrganId only. */
  organIds?: string[];
}

export interface HttpSourceOptions {
  host?: string;
  port: number;
  path?: string;
  auth: {
    hmac?: { clients: HmacClient[]; maxSkewSeconds?: number };
    /** Mutual TLS: the server requires a client certificate issued under `tls.caFile`. */
    mutualTls?: boolean;
  };
  tls?: HttpTlsFiles;
  /**
   * HMAC without `tls` sends the document and the signed headers in clear, where anyone on the
   * path may read them and replay the request within the skew window. Refused unless this is
   * true (e.g. TLS ends at a proxy on the same host); warned at start.
   */
  allowPlainHttp?: boolean;
  maxBodyBytes?: number;
  /** The longest a whole request may take to arrive (default DEFAULT_REQUEST_TIMEOUT_SECONDS in ../types). */
  requestTimeoutSeconds?: number;
  retryAfterSeconds?: number;
}

/** Why HMAC over plain HTTP is refused; shared with the config check. */
export const PLAIN_HTTP_REFUSAL =
  'HMAC request signing over plain HTTP sends every document and its signed headers in clear, for anyone on the path to read and replay: configure tls (certFile, keyFile), or set allowPlainHttp: true where TLS ends in front of the ingest on the same host';

interface AuthFailure {
  code: AuthFailureCode;
  reason: string;
  systemId?: string;
}

type Authentication = { ok: true; client?: { systemId: string; organIds?: string[] }; replayKey?: string; replayWindowEnd?: number } | ({ ok: false } & AuthFailure);

const DEFAULT_MAX_BODY = 256 * 1024 * 1024;
const LINGER_MS = 10_000;

/** HTTP status for a rejection reason: what the legacy system must change before retrying. */
function statusForRejection(reason: string): number {
  if (reason === 'limit-exceeded') return 413;
  if (reason === 'malformed-xml' || reason === 'dtd-forbidden') return 400;
  if (reason === 'sender-not-allowed') return 403;
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
  private clients = new Map<string, HmacClient>();
  private scratch: ScratchFolder | undefined;
  private readonly replayGuard: ReplayGuard;
  private readonly refusalLog: ThrottledLog;

  constructor(
    readonly name: string,
    private readonly options: HttpSourceOptions,
    private readonly services: SourceServices = {},
  ) {
    this.replayGuard = services.replayGuard ?? new MemoryReplayGuard();
    this.refusalLog = new ThrottledLog();
  }

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
    if (auth.hmac && !tls) {
      if (!this.options.allowPlainHttp) throw new Error(`connector ${this.name}: ${PLAIN_HTTP_REFUSAL}`);
      this.services.log?.warn({ step: 'startup', connector: this.name }, `connector ${this.name}: HMAC over plain HTTP (allowPlainHttp: true): documents and signed headers cross the network in clear; TLS must end in front of this port on the same host`);
    }
    for (const c of auth.hmac?.clients ?? []) {
      this.secrets.set(c.systemId, fs.readFileSync(c.secretFile, 'utf8').trim());
      this.clients.set(c.systemId, c);
    }
    const listener = (req: http.IncomingMessage, res: http.ServerResponse) => {
      const work = this.handle(req, res, handler).catch((err: Error) => sendJson(res, 500, { status: 'error', detail: err.message }));
      this.inFlight.add(work);
      void work.finally(() => this.inFlight.delete(work));
    };
    const timeouts = requestTimeoutOptions(this.options.requestTimeoutSeconds);
    this.server = tls
      ? https.createServer(
          {
            cert: fs.readFileSync(tls.certFile),
            key: fs.readFileSync(tls.keyFile),
            ca: tls.caFile ? fs.readFileSync(tls.caFile) : undefined,
            requestCert: !!auth.mutualTls,
            rejectUnauthorized: !!auth.mutualTls,
            ...timeouts,
          },
          listener,
        )
      : http.createServer(timeouts, listener);
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
    const early = this.authenticate(req, receivedAt);
    if (!early.ok) return answerBeforeBody(req, res, 401, this.unauthorized(req, early));
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
    const auth = this.authenticate(req, receivedAt, body);
    if (!auth.ok) return release().then(() => sendJson(res, 401, this.unauthorized(req, auth)));
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
    if (auth.client) message.sender = { id: auth.client.systemId, ...(auth.client.organIds ? { mayActAs: auth.client.organIds } : {}) };
    const claim = auth.replayKey ? await this.claim(auth.replayKey, auth.replayWindowEnd!, auth.client?.systemId) : undefined;
    if (claim && claim.verdict !== 'first') return release().then(() => this.answerReplay(res, claim));
    let settled = false;
    const once = (outcome: ReplayOutcome, answer: () => void) => async () => {
      if (settled) throw new Error(`request settled twice`);
      settled = true;
      await release();
      if (claim?.verdict === 'first') await this.settleClaim(claim, outcome);
      answer();
    };
    await handler(message, {
      accepted: once('accepted', () => sendJson(res, 202, { status: 'accepted' })),
      rejected: (rejection: Rejection) =>
        once('released', () => sendJson(res, statusForRejection(rejection.reason), { status: 'rejected', reason: rejection.reason, detail: rejection.detail, limit: rejection.limit }))(),
      retryLater: (err: Error) => once('released', () => sendJson(res, 503, { status: 'retry-later', detail: err.message }, { 'Retry-After': this.retryAfter }))(),
    });
    if (!settled) {
      await release();
      if (claim?.verdict === 'first') await this.settleClaim(claim, 'released');
      sendJson(res, 500, { status: 'error', detail: 'the item was not settled' });
    }
  }

  /** Claims a signed request with the replay guard; a guard that cannot decide means "retry later", never "handle unguarded". */
  private async claim(key: string, windowEnd: number, systemId: string | undefined): Promise<ReplayClaim | { verdict: 'unavailable'; detail: string }> {
    try {
      return await this.replayGuard.claim(key, windowEnd);
    } catch (err) {
      this.services.log?.warn({ step: 'receive', connector: this.name, systemId, err: (err as Error).message }, 'replay guard unavailable; the request is answered 503');
      return { verdict: 'unavailable', detail: `cannot check for replays now: ${(err as Error).message}` };
    }
  }

  private answerReplay(res: http.ServerResponse, claim: Exclude<ReplayClaim, { verdict: 'first' }> | { verdict: 'unavailable'; detail: string }): void {
    if (claim.verdict === 'unavailable') return sendJson(res, 503, { status: 'retry-later', detail: claim.detail }, { 'Retry-After': this.retryAfter });
    this.services.metrics?.ingestReplay(this.name, claim.verdict);
    this.services.log?.info({ step: 'receive', connector: this.name, replay: claim.verdict }, 'a copy of a signed request already received: nothing sent again');
    if (claim.verdict === 'accepted') {
      return sendJson(res, 202, { status: 'accepted', replay: true, acceptedAt: claim.acceptedAt.toISOString(), detail: 'this signed request was accepted before; nothing was sent again' });
    }
    sendJson(res, 503, { status: 'retry-later', replay: true, detail: 'this signed request is being handled now; ask again for its answer' }, { 'Retry-After': this.retryAfter });
  }

  /** What became of a claimed request. A failure here costs only replay refusal for it, never the answer. */
  private async settleClaim(claim: Extract<ReplayClaim, { verdict: 'first' }>, outcome: ReplayOutcome): Promise<void> {
    try {
      await claim.settle(outcome);
    } catch (err) {
      this.services.log?.warn({ step: 'receive', connector: this.name, outcome, err: (err as Error).message }, 'could not record the outcome with the replay guard');
    }
  }

  /** Logs (throttled per reason) and counts a refused request; returns the 401 body. Never logs a signature or a secret. */
  private unauthorized(req: http.IncomingMessage, failure: AuthFailure): Record<string, unknown> {
    this.services.metrics?.ingestUnauthorized(this.name, failure.code);
    const suppressed = this.refusalLog.take(failure.code);
    if (suppressed !== undefined) {
      this.services.log?.warn(
        { step: 'receive', connector: this.name, reason: failure.code, detail: failure.reason, systemId: failure.systemId, remoteAddress: req.socket.remoteAddress, ...(suppressed > 0 ? { suppressed } : {}) },
        `request refused with 401: ${failure.reason}`,
      );
    }
    return { status: 'unauthorized', reason: failure.code, detail: failure.reason };
  }

  private get retryAfter(): string {
    return String(this.options.retryAfterSeconds ?? 5);
  }

  /**
   * Whether the request is authentic, and who sent it. Without `body` only what the headers carry
   * is checked: mutual TLS, and the HMAC signature except the body's hash.
   */
  private authenticate(req: http.IncomingMessage, receivedAt: Date, body?: Buffer | SpooledBody): Authentication {
    const { auth } = this.options;
    if (auth.mutualTls && !(req.socket as TLSSocket).authorized) return { ok: false, code: 'client-certificate', reason: 'client certificate missing or not trusted' };
    if (!auth.hmac) return { ok: true };
    const header: HeaderLookup = (name: string) => {
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
    const claimed = header('XroadVnpt-systemid');
    // A systemId is logged only once it is known to be one of ours: an unknown one is the attacker's text.
    const systemId = claimed !== undefined && this.clients.has(claimed) ? claimed : undefined;
    if (!result.ok) return { ok: false, code: result.code, reason: result.reason, systemId };
    const unbound = checkBoundHeaders(header, result.params);
    if (unbound) return { ...unbound, systemId };
    const client = this.clients.get(result.systemId)!;
    return { ok: true, client, replayKey: replayKey(result.systemId, header), replayWindowEnd: replayWindowEnd(result.params, skewMs) };
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

const REFUSAL_LOG_INTERVAL_MS = 1_000;

/**
 * At most one log line per refusal reason per second, so a flood of bad requests cannot flood
 * the log; the metric still counts every one. `take` returns how many lines were held back
 * since the last one written, or undefined while the reason is held back.
 */
class ThrottledLog {
  private readonly last = new Map<string, { at: number; held: number }>();

  take(reason: string, now = Date.now()): number | undefined {
    const entry = this.last.get(reason);
    if (entry && now - entry.at < REFUSAL_LOG_INTERVAL_MS) {
      entry.held++;
      return undefined;
    }
    this.last.set(reason, { at: now, held: 0 });
    return entry?.held ?? 0;
  }
}
