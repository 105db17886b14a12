/**
 * HTTP transport, sink side (delivery): POST to the vendor's REST endpoint with `Idempotency-Key`,
 * a timeout and TLS options; resolves only on 2xx. Timeouts, refused connections, 5xx, 408 and 429
 * are transient; other statuses are permanent. A message with side files goes as
 * multipart/form-data. A message with `bodyFile` is streamed from the file (inside the multipart
 * body, if it has side files) with an exact Content-Length; when signing, the file is read once
 * beforehand for its hash.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DeliveryError, type BodyFile, type DeliveryContext, type Sink, type VendorMessage } from '../types';
import { signRequest, signRequestWithBodyHash } from './signing';
import { SIGNED_CONTENT_TYPE, SIGNED_FILE_NAME } from './ingest-auth';
import { buildMultipart, multipartFrame } from './multipart';
import { bodyFileChunks } from '../body-file';

export interface HttpSinkOptions {
  url: string;
  /** Statuses go here when set; else to `url`. */
  statusUrl?: string;
  method?: 'POST' | 'PUT';
  timeoutMs?: number;
  headers?: Record<string, string>;
  tls?: { caFile?: string; certFile?: string; keyFile?: string; rejectUnauthorized?: boolean; servername?: string };
  /** Sign outbound requests the way the ingest checks them (SPEC §12). */
  hmac?: { systemId: string; secretFile: string };
  bearerTokenFile?: string;
}

/** Network failures that heal by themselves: the request may be repeated. */
export function isTransientStatus(status: number): boolean {
  return status >= 500 || status === 408 || status === 429;
}

/** A request body too large for memory: `head`, the file's bytes, then `tail`. */
interface StreamedBody {
  head: Buffer;
  file: BodyFile;
  tail: Buffer;
}

function requestBody(message: VendorMessage): { contentType: string; body: Buffer | StreamedBody } {
  const { bodyFile, sideFiles } = message;
  if (bodyFile) {
    if (sideFiles.length === 0) return { contentType: message.contentType, body: { head: Buffer.alloc(0), file: bodyFile, tail: Buffer.alloc(0) } };
    const { contentType, head, tail } = multipartFrame(message.contentType, message.fileName, sideFiles);
    return { contentType, body: { head, file: bodyFile, tail } };
  }
  if (sideFiles.length === 0) return { contentType: message.contentType, body: message.body };
  const multipart = buildMultipart(message.body, message.contentType, message.fileName, sideFiles);
  return { contentType: multipart.contentType, body: multipart.bytes };
}

/** The streamed body's bytes in order; fails if the file does not hold exactly `file.length` bytes. */
async function* bytesOf({ head, file, tail }: StreamedBody): AsyncGenerator<Buffer> {
  yield head;
  yield* bodyFileChunks(file);
  yield tail;
}

export class HttpSink implements Sink {
  private agentOptions: https.AgentOptions = {};
  private secret: string | undefined;
  private bearer: string | undefined;

  constructor(
    readonly name: string,
    private readonly options: HttpSinkOptions,
  ) {}

  async start(): Promise<void> {
    const tls = this.options.tls;
    if (tls) {
      this.agentOptions = {
        ca: tls.caFile ? fs.readFileSync(tls.caFile) : undefined,
        cert: tls.certFile ? fs.readFileSync(tls.certFile) : undefined,
        key: tls.keyFile ? fs.readFileSync(tls.keyFile) : undefined,
        rejectUnauthorized: tls.rejectUnauthorized ?? true,
        servername: tls.servername,
      };
    }
    if (this.options.hmac) this.secret = fs.readFileSync(this.options.hmac.secretFile, 'utf8').trim();
    if (this.options.bearerTokenFile) this.bearer = fs.readFileSync(this.options.bearerTokenFile, 'utf8').trim();
  }

  async deliver(message: VendorMessage, context: DeliveryContext): Promise<void> {
    const target = new URL(context.kind === 'status' && this.options.statusUrl ? this.options.statusUrl : this.options.url);
    const { contentType, body } = requestBody(message);
    const headers: Record<string, string | number> = {
      ...this.options.headers,
      'Content-Type': contentType,
      'Content-Length': Buffer.isBuffer(body) ? body.length : body.head.length + body.file.length + body.tail.length,
      'Idempotency-Key': context.idempotencyKey,
      'X-Vdxp-Document-Id': encodeURIComponent(context.documentId),
      'X-Vdxp-Kind': context.kind,
      'X-Vdxp-From-OrganId': context.fromOrganId,
      'X-File-Name': encodeURIComponent(message.fileName),
    };
    if (context.statusCode) headers['X-Vdxp-Status-Code'] = context.statusCode;
    if (this.bearer) headers.Authorization = `Bearer ${this.bearer}`;
    if (this.secret && this.options.hmac) {
      // Signed as the connector's own ingest requires: the body, and the headers that decide how it is read.
      const signer = { systemId: this.options.hmac.systemId, secret: this.secret, params: { [SIGNED_CONTENT_TYPE]: contentType, [SIGNED_FILE_NAME]: String(headers['X-File-Name']) } };
      Object.assign(headers, Buffer.isBuffer(body) ? signRequest({ ...signer, body }) : signRequestWithBodyHash({ ...signer, bodySha256Hex: await this.hashOf(body) }));
    }
    const status = await this.send(target, headers, body);
    if (status >= 200 && status < 300) return;
    throw new DeliveryError(`http ${this.name}: ${target.origin}${target.pathname} answered ${status}`, isTransientStatus(status));
  }

  private async hashOf(body: StreamedBody): Promise<string> {
    const hash = createHash('sha256');
    try {
      for await (const chunk of bytesOf(body)) hash.update(chunk);
    } catch (err) {
      throw new DeliveryError(`http ${this.name}: ${(err as Error).message}`, true);
    }
    return hash.digest('hex');
  }

  private send(target: URL, headers: Record<string, string | number>, body: Buffer | StreamedBody): Promise<number> {
    const timeoutMs = this.options.timeoutMs ?? 30_000;
    const isHttps = target.protocol === 'https:';
    return new Promise<number>((resolve, reject) => {
      const fail = (why: string) => reject(new DeliveryError(`http ${this.name}: ${target.origin}${target.pathname}: ${why}`, true));
      const request = (isHttps ? https : http).request(
        target,
        { method: this.options.method ?? 'POST', headers, timeout: timeoutMs, signal: AbortSignal.timeout(timeoutMs), ...(isHttps ? this.agentOptions : {}) },
        (res) => {
          // The answer's body is not needed; reading it frees the socket.
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
          res.on('error', (err) => fail(err.message));
        },
      );
      request.on('timeout', () => request.destroy(new Error(`no answer within ${timeoutMs} ms`)));
      request.on('error', (err: NodeJS.ErrnoException) => fail(err.name === 'AbortError' ? `no answer within ${timeoutMs} ms` : `${err.code ?? ''} ${err.message}`.trim()));
      if (Buffer.isBuffer(body)) request.end(body);
      // A failure mid-stream destroys the request, which reports it through 'error' above.
      else pipeline(Readable.from(bytesOf(body)), request).catch(() => undefined);
    });
  }

  async stop(): Promise<void> {}
}
