/**
 * A VXP endpoint for the bridge's tests: a capture server that answers in the shapes the SDK's
 * model classes read (status, ErrorCode, ErrorDesc, DocId, data), checks every request's
 * XroadVnpt-* signature (a refused one answers FAIL with the refusal's code), records each request
 * as it came, holds packages for its client to fetch, and lets a test change its answers or take it
 * down and bring it back on the same port.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { digestBody, matchHashFile, verifyXroadHeaders, DEFAULT_SDK_TIME_ZONE, type XroadVerdict } from '../../src/connectors/vxp/xroad-hmac';
import { listenOnFreePort } from './ports';

export interface CapturedRequest {
  operation: string;
  method: string;
  /** As sent: [name, value, name, value, …]. */
  rawHeaders: string[];
  /** Lower-case name → value. */
  headers: Record<string, string>;
  body: Buffer;
  verdict: XroadVerdict;
}

export interface Answer {
  httpStatus?: number;
  json?: Record<string, unknown>;
  /** Sent as is instead of json. */
  text?: string;
}

export interface HeldPackage {
  docId: string;
  messageType: 'edoc' | 'status';
  bytes: Buffer;
  from?: string;
}

export interface SentPackage {
  from: string;
  messageType: string;
  /** The package: the body without the SDK's trailing CRLF. */
  bytes: Buffer;
  docId: string;
}

const ok = (extra: Record<string, unknown> = {}) => ({ status: 'OK', ErrorCode: '0', ErrorDesc: 'Thành công', ...extra });
export const fail = (code: string, desc: string) => ({ status: 'FAIL', ErrorCode: code, ErrorDesc: desc });

export class VxpEndpoint {
  readonly requests: CapturedRequest[] = [];
  /** What the endpoint holds for its client, listed by getReceivedEdocList until confirmed. */
  readonly held = new Map<string, HeldPackage>();
  readonly confirmations: Array<{ docId: string; status: string }> = [];
  readonly sent: SentPackage[] = [];
  /** Overrides the answer to one operation; undefined falls back to the normal answer. */
  override: (request: CapturedRequest) => Answer | undefined | Promise<Answer | undefined> = () => undefined;
  private server: http.Server | undefined;
  private port: number | undefined;
  private counter = 0;

  constructor(
    private readonly secrets: Record<string, string>,
    private readonly timeZone = DEFAULT_SDK_TIME_ZONE,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Listens (on the port it had before, after a stop); resolves with its URL. */
  async start(): Promise<string> {
    const server = http.createServer((req, res) => void this.handle(req, res));
    this.server = server;
    if (this.port === undefined) this.port = await listenOnFreePort(server);
    else await new Promise<void>((resolve, reject) => server.once('error', reject).listen(this.port, '127.0.0.1', () => resolve()));
    return this.url;
  }

  /** Closes the port: the client's connections are refused until start() again. */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  of(operation: string): CapturedRequest[] {
    return this.requests.filter((r) => r.operation === operation);
  }

  hold(pkg: HeldPackage): void {
    this.held.set(pkg.docId, pkg);
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) headers[k] = Array.isArray(v) ? v.join(', ') : (v ?? '');
    const lookup = (name: string) => headers[name.toLowerCase()];
    const verdict = verifyXroadHeaders(lookup, (id) => this.secrets[id], { now: new Date(), maxSkewMs: 300_000, timeZone: this.timeZone });
    const operation = new URL(req.url ?? '/', 'http://x').pathname.replace(/^\//, '');
    const captured: CapturedRequest = { operation, method: req.method ?? '', rawHeaders: req.rawHeaders, headers, body, verdict };
    this.requests.push(captured);
    const answer = (await this.override(captured)) ?? this.answer(captured);
    res.writeHead(answer.httpStatus ?? 200, { 'Content-Type': 'application/json; charset=utf-8' });
    res.end(answer.text ?? JSON.stringify(answer.json ?? {}));
  }

  private answer(r: CapturedRequest): Answer {
    if (!r.verdict.ok) return { json: fail(r.verdict.code, r.verdict.reason) };
    const p = r.verdict.params;
    switch (r.operation) {
      case 'sendEdoc': {
        const digests = digestBody(r.body);
        const which = matchHashFile(p['hash-file'] ?? '', digests);
        if (!which) return { json: fail('body-mismatch', 'hash-file does not match the body') };
        const bytes = which === 'file-and-crlf' ? r.body.subarray(0, r.body.length - 2) : r.body;
        const docId = `axis-${++this.counter}`;
        this.sent.push({ from: p.from ?? '', messageType: p.messagetype ?? '', bytes: Buffer.from(bytes), docId });
        return { json: ok({ DocId: docId }) };
      }
      case 'getReceivedEdocList': {
        const type = p.messagetype ?? 'edoc';
        const data = [...this.held.values()]
          .filter((h) => h.messageType === type)
          .map((h) => ({ docId: h.docId, serviceType: 'eDoc', messageType: h.messageType, from: h.from ?? '', to: '', status: 'initial', status_desc: 'Chưa nhận', created_time: '', updated_time: '' }));
        return { json: ok({ data }) };
      }
      case 'getEdoc': {
        const held = this.held.get(p.docid ?? '');
        if (!held) return { json: fail('not-found', `no package ${p.docid}`) };
        return { json: ok({ data: held.bytes.toString('base64') }) };
      }
      case 'updateStatus': {
        const docId = p.docid ?? '';
        if (!this.held.has(docId)) return { json: fail('not-found', `no package ${docId}`) };
        this.confirmations.push({ docId, status: p.status ?? '' });
        this.held.delete(docId);
        return { json: ok() };
      }
      default:
        return { httpStatus: 404, json: fail('unknown-operation', r.operation) };
    }
  }

  address(): AddressInfo | undefined {
    return this.server?.address() as AddressInfo | undefined;
  }
}
