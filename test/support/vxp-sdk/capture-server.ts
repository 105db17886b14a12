/**
 * A stand-in VXP endpoint that records every request the SDK makes (method, path, headers as sent,
 * body) and answers in the shapes the SDK reads, so a test can see what the real client puts on the
 * wire. Not a model of the axis: it answers OK to everything.
 */
import * as http from 'node:http';
import { listenOnFreePort } from '../ports';

export interface CapturedRequest {
  method: string;
  path: string;
  /** Header names as the client wrote them, in order. */
  rawHeaders: Array<[string, string]>;
  body: Buffer;
  /** Case-insensitive lookup of the first header of that name. */
  header(name: string): string | undefined;
}

export class SdkCaptureServer {
  readonly requests: CapturedRequest[] = [];
  private server: http.Server | undefined;
  port = 0;

  /** `answer` may override the reply to a path. */
  constructor(private readonly answer: (path: string, req: CapturedRequest) => Record<string, unknown> | undefined = () => undefined) {}

  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const rawHeaders: Array<[string, string]> = [];
        for (let i = 0; i < req.rawHeaders.length; i += 2) rawHeaders.push([req.rawHeaders[i]!, req.rawHeaders[i + 1]!]);
        const captured: CapturedRequest = {
          method: req.method ?? '',
          path: (req.url ?? '').split('?')[0]!,
          rawHeaders,
          body: Buffer.concat(chunks),
          header: (name) => rawHeaders.find(([k]) => k.toLowerCase() === name.toLowerCase())?.[1],
        };
        this.requests.push(captured);
        const reply = this.answer(captured.path, captured) ?? defaultAnswer(captured.path);
        res.writeHead(200, { 'Content-Type': 'application/json; charset=utf-8' });
        res.end(JSON.stringify(reply));
      });
    });
    this.port = await listenOnFreePort(this.server);
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

function defaultAnswer(path: string): Record<string, unknown> {
  const ok = { status: 'OK', ErrorCode: '0', ErrorDesc: 'Success' };
  if (path === '/sendEdoc') return { ...ok, DocId: 'captured-1' };
  if (path === '/getEdoc') return { ...ok, data: Buffer.from('<captured/>').toString('base64') };
  if (path.startsWith('/count')) return { ...ok, count: 0 };
  return { ...ok, data: [] };
}
