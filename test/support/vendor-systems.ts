/**
 * Stand-ins for vendors' legacy systems in integration tests: a real `node:http` server that
 * records what the connector delivers, a signed client for a connector's HTTP ingest, and a free
 * port to give an ingest.
 */
import * as http from 'node:http';
import { signIngestRequest } from '../../src/connectors/http/ingest-auth';
import { freePort, listenOnFreePort } from './ports';

export { freePort };

export interface ReceivedRequest {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** A vendor's REST endpoint: answers each request with `answer()` (default 200) and records it. */
export class VendorHttpServer {
  readonly received: ReceivedRequest[] = [];
  answer: (req: ReceivedRequest) => number = () => 200;
  private server: http.Server | undefined;

  async start(): Promise<string> {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const r = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks) };
        this.received.push(r);
        res.writeHead(this.answer(r), { 'Content-Type': 'application/json' });
        res.end('{}');
      });
    });
    return `http://127.0.0.1:${await listenOnFreePort(this.server)}`;
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
  }
}


export interface IngestAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  json: Record<string, unknown>;
}

/**
 * POST to a connector's HTTP ingest, signed with `signing` unless it is undefined (Content-Type
 * and, with `fileName`, X-File-Name signed as the ingest requires). `extraHeaders` go on after
 * signing, so a test can alter what was signed.
 */
export function postToIngest(
  url: string,
  body: Buffer,
  contentType: string,
  signing?: { systemId: string; secret: string; fileName?: string },
  extraHeaders: Record<string, string> = {},
): Promise<IngestAnswer> {
  const headers: Record<string, string | number> = { 'Content-Type': contentType, 'Content-Length': body.length };
  if (signing) Object.assign(headers, signIngestRequest({ ...signing, body, contentType }));
  return sendRaw(url, body, { ...headers, ...extraHeaders });
}

/** POST exactly these headers and body: what a replaying attacker does with a captured request. */
export function sendRaw(url: string, body: Buffer, headers: Record<string, string | number>): Promise<IngestAnswer> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode ?? 0, headers: res.headers, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}
