/**
 * A client of an existing VXP endpoint (the national axis, a provincial hub, or another connector's
 * `vxp` side) that sends what the Government Office's Java SDK 2.0.x sends: the same paths, the
 * same XroadVnpt-* headers signed the same way (../vxp/xroad-hmac.ts), the same bodies. Only the
 * timestamp differs by design: the SDK stamps its service object once, at construction; this
 * client stamps every request, so a server's skew window never refuses a long-running bridge.
 * Parameters of one call never leak into the next (the SDK keeps them in one map).
 *
 * Every failure says whether it is worth repeating (`VxpCallError.transient`):
 *  - transient: no connection, no answer within the timeout, HTTP 5xx, 408, 429, 401 and 403 (the
 *    endpoint refused this connector's credentials or clock: a fault of the connector, not of any
 *    package), an answer that is not the SDK's JSON, and `FAIL` with an ErrorCode listed as
 *    transient (the signature refusals of ../vxp/xroad-hmac.ts and `retry-later` by default);
 *  - permanent: other HTTP 4xx, and `FAIL` with any other ErrorCode (the endpoint read the
 *    request and refused it).
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import * as os from 'node:os';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { buildSdkHeaders, checkTimeZone, DEFAULT_SDK_TIME_ZONE, formatSdkTimestamp, sdkHex, SDK_BODY_TRAILER, XROAD_AUTH_FAILURES } from '../vxp/xroad-hmac';
import { bodyFileChunks } from '../body-file';
import type { BodyFile } from '../types';

export interface VxpEndpointOptions {
  /** The endpoint as the SDK's `service.endpoint`: operations are `<endpoint>/<operation>`. */
  endpoint: string;
  systemId: string;
  secretFile: string;
  /** The zone the endpoint reads timestamps in (the SDK writes local time with no zone). */
  timeZone?: string;
  timeoutMs?: number;
  /** ErrorCodes of a `FAIL` answer that mean "try again later" rather than "never". */
  transientErrorCodes?: string[];
  /** The largest answer read (getEdoc carries the package in base64). */
  maxAnswerBytes?: number;
  tls?: { caFile?: string; certFile?: string; keyFile?: string; rejectUnauthorized?: boolean; servername?: string };
}

/** A failed call: `transient` says whether the same call may succeed later. */
export class VxpCallError extends Error {
  constructor(
    message: string,
    readonly transient: boolean,
    /** The endpoint's ErrorCode, when it answered FAIL. */
    readonly errorCode?: string,
  ) {
    super(message);
    this.name = 'VxpCallError';
  }
}

/** The JSON every operation answers with (the SDK's result classes read these names). */
export interface VxpAnswer {
  status?: unknown;
  ErrorCode?: unknown;
  ErrorDesc?: unknown;
  DocId?: unknown;
  data?: unknown;
  [field: string]: unknown;
}

/** One entry of getReceivedEdocList's `data[]` (SPEC §12.1). */
export interface ReceivedEntry {
  docId: string;
  messageType?: string;
  from?: string;
}

export type MessageType = 'edoc' | 'status';

const DEFAULT_TIMEOUT_MS = 30_000;
/**
 * The signature refusals, and `retry-later`: what a vdxp connector's VXP side answers when it cannot
 * take the package now (its Kafka unreachable, the same signed request in flight).
 */
export const DEFAULT_TRANSIENT_CODES: readonly string[] = [...XROAD_AUTH_FAILURES, 'retry-later'];
const DEFAULT_MAX_ANSWER_BYTES = 512 * 1024 * 1024;
const JSON_TYPE = 'application/json';
const OCTETS = 'application/octet-stream';
/** getEdoc and updateStatus: the SDK POSTs `{}` and asks for 100-continue. */
const EMPTY_JSON = Buffer.from('{}');
const EXPECT_CONTINUE = { Expect: '100-continue' };

/** A request body: bytes, or a file streamed with bytes after it. */
type Body = Buffer | { file: BodyFile; tail: Buffer };

export class VxpClient {
  private readonly secret: string;
  private readonly timeZone: string;
  private readonly transientCodes: Set<string>;
  private readonly agentOptions: https.AgentOptions;

  constructor(
    readonly name: string,
    private readonly options: VxpEndpointOptions,
  ) {
    this.secret = fs.readFileSync(options.secretFile, 'utf8').trim();
    this.timeZone = options.timeZone ?? DEFAULT_SDK_TIME_ZONE;
    checkTimeZone(this.timeZone);
    this.transientCodes = new Set(options.transientErrorCodes ?? DEFAULT_TRANSIENT_CODES);
    const tls = options.tls;
    this.agentOptions = tls
      ? {
          ca: tls.caFile ? fs.readFileSync(tls.caFile) : undefined,
          cert: tls.certFile ? fs.readFileSync(tls.certFile) : undefined,
          key: tls.keyFile ? fs.readFileSync(tls.keyFile) : undefined,
          rejectUnauthorized: tls.rejectUnauthorized ?? true,
          servername: tls.servername,
        }
      : {};
  }

  /** The headers the SDK sends for `params` (in the order the SDK puts them), stamped `now`. */
  headers(contentType: string, params: Array<[string, string]>, now = new Date()): Record<string, string> {
    return buildSdkHeaders({ systemId: this.options.systemId, secret: this.secret, timestamp: formatSdkTimestamp(now, this.timeZone), contentType, params });
  }

  /**
   * sendEdoc: the package (bytes, or a file streamed) under `from`, as an edoc or a status.
   * Resolves with the endpoint's DocId.
   */
  async sendEdoc(from: string, messageType: MessageType, pkg: Buffer | BodyFile): Promise<string> {
    const hashFile = Buffer.isBuffer(pkg) ? sdkHex(createHash('sha256').update(pkg).digest()) : await this.hashOfFile(pkg);
    const params: Array<[string, string]> = [['from', from], ['servicetype', 'eDoc'], ['messagetype', messageType], ['hash-file', hashFile]];
    // The SDK's body: the file's bytes and a CRLF, which hash-file does not cover.
    const body: Body = Buffer.isBuffer(pkg) ? Buffer.concat([pkg, SDK_BODY_TRAILER]) : { file: pkg, tail: SDK_BODY_TRAILER };
    const answer = await this.call('sendEdoc', OCTETS, params, body);
    return typeof answer.DocId === 'string' || typeof answer.DocId === 'number' ? String(answer.DocId) : '';
  }

  /** getReceivedEdocList: what waits for this system, as the endpoint lists it. */
  async getReceivedEdocList(messageType: MessageType): Promise<ReceivedEntry[]> {
    const answer = await this.call('getReceivedEdocList', JSON_TYPE, [['servicetype', 'eDoc'], ['messagetype', messageType]], Buffer.alloc(0));
    if (answer.data === undefined || answer.data === null) return [];
    if (!Array.isArray(answer.data)) throw new VxpCallError(`vxp ${this.name}: getReceivedEdocList answered data that is not a list`, true);
    const entries: ReceivedEntry[] = [];
    for (const item of answer.data as Array<Record<string, unknown>>) {
      const docId = item?.docId ?? item?.id;
      if (typeof docId !== 'string' && typeof docId !== 'number') continue;
      entries.push({ docId: String(docId), messageType: typeof item.messageType === 'string' ? item.messageType : undefined, from: typeof item.from === 'string' ? item.from : undefined });
    }
    return entries;
  }

  /** getEdoc: the package's bytes (the answer's `data`, base64). */
  async getEdoc(docId: string): Promise<Buffer> {
    // The SDK sends its json's keys as headers, filePath (the folder it saves into) among them.
    const answer = await this.call('getEdoc', JSON_TYPE, [['filePath', os.tmpdir()], ['docId', docId]], EMPTY_JSON, EXPECT_CONTINUE);
    if (typeof answer.data !== 'string') throw new VxpCallError(`vxp ${this.name}: getEdoc ${docId} answered OK without the package in data`, true);
    return Buffer.from(answer.data, 'base64');
  }

  /** updateStatus: `done` once the package is safe on this side, `fail` when it is refused for good. */
  async updateStatus(docId: string, status: 'done' | 'fail'): Promise<void> {
    await this.call('updateStatus', JSON_TYPE, [['status', status], ['docId', docId]], EMPTY_JSON, EXPECT_CONTINUE);
  }

  private async hashOfFile(file: BodyFile): Promise<string> {
    const hash = createHash('sha256');
    try {
      for await (const chunk of bodyFileChunks(file)) hash.update(chunk);
    } catch (err) {
      throw new VxpCallError(`vxp ${this.name}: ${(err as Error).message}`, true);
    }
    return sdkHex(hash.digest());
  }

  /** One signed POST; resolves with the answer when it says OK, throws VxpCallError otherwise. */
  async call(operation: string, contentType: string, params: Array<[string, string]>, body: Body, extraHeaders: Record<string, string> = {}): Promise<VxpAnswer> {
    const target = new URL(`${this.options.endpoint.replace(/\/+$/, '')}/${operation}`);
    const headers: Record<string, string | number> = {
      ...this.headers(contentType, params),
      ...extraHeaders,
      'Content-Length': Buffer.isBuffer(body) ? body.length : body.file.length + body.tail.length,
    };
    const where = `vxp ${this.name}: ${operation} at ${target.origin}${target.pathname}`;
    const { status, text } = await this.post(target, headers, body, where);
    if (status === 401 || status === 403 || status === 408 || status === 429 || status >= 500) {
      throw new VxpCallError(`${where} answered HTTP ${status}${text ? `: ${text.slice(0, 300)}` : ''}`, true);
    }
    if (status < 200 || status >= 300) throw new VxpCallError(`${where} answered HTTP ${status}${text ? `: ${text.slice(0, 300)}` : ''}`, false);
    let answer: VxpAnswer;
    try {
      answer = JSON.parse(text) as VxpAnswer;
    } catch {
      throw new VxpCallError(`${where} answered something that is not JSON: ${JSON.stringify(text.slice(0, 200))}`, true);
    }
    if (!answer || typeof answer !== 'object' || Array.isArray(answer)) throw new VxpCallError(`${where} answered JSON that is not an object`, true);
    const verdict = typeof answer.status === 'string' ? answer.status.toUpperCase() : undefined;
    if (verdict === 'OK') return answer;
    const code = answer.ErrorCode === undefined || answer.ErrorCode === null ? undefined : String(answer.ErrorCode);
    const desc = typeof answer.ErrorDesc === 'string' ? answer.ErrorDesc : '';
    if (verdict !== 'FAIL') throw new VxpCallError(`${where} answered status ${JSON.stringify(answer.status)}, neither OK nor FAIL`, true);
    const transient = code !== undefined && this.transientCodes.has(code);
    throw new VxpCallError(`${where} answered FAIL, ErrorCode ${JSON.stringify(code ?? '')}: ${desc.slice(0, 500)}`, transient, code);
  }

  private post(target: URL, headers: Record<string, string | number>, body: Body, where: string): Promise<{ status: number; text: string }> {
    const timeoutMs = this.options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const maxBytes = this.options.maxAnswerBytes ?? DEFAULT_MAX_ANSWER_BYTES;
    const isHttps = target.protocol === 'https:';
    return new Promise((resolve, reject) => {
      let settled = false;
      const fail = (why: string) => {
        if (settled) return;
        settled = true;
        reject(new VxpCallError(`${where}: ${why}`, true));
      };
      const request = (isHttps ? https : http).request(
        target,
        { method: 'POST', headers, timeout: timeoutMs, signal: AbortSignal.timeout(timeoutMs), ...(isHttps ? this.agentOptions : {}) },
        (res) => {
          const chunks: Buffer[] = [];
          let length = 0;
          res.on('data', (chunk: Buffer) => {
            length += chunk.length;
            if (length > maxBytes) {
              res.destroy();
              fail(`the answer is over ${maxBytes} bytes (maxAnswerBytes)`);
              return;
            }
            chunks.push(chunk);
          });
          res.on('end', () => {
            if (settled) return;
            settled = true;
            resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') });
          });
          res.on('error', (err) => fail(err.message));
        },
      );
      request.on('timeout', () => request.destroy(new Error(`no answer within ${timeoutMs} ms`)));
      request.on('error', (err: NodeJS.ErrnoException) => fail(err.name === 'AbortError' || err.name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : `${err.code ?? ''} ${err.message}`.trim()));
      if (Buffer.isBuffer(body)) request.end(body);
      else {
        const { file, tail } = body;
        // A failure mid-stream destroys the request, which reports it through 'error' above.
        pipeline(
          Readable.from(
            (async function* () {
              yield* bodyFileChunks(file);
              yield tail;
            })(),
          ),
          request,
        ).catch(() => undefined);
      }
    });
  }
}
