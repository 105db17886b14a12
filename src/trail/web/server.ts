/**
 * The trail's web page (issue 18 §5), on its own port (trail.web.port, default 9465), apart from
 * the ops port that Prometheus and the kubelet reach. Authentication in ./auth.ts; the JSON in
 * ./api.ts; the page in ./page.ts and ./page-script.ts. Read-only: the only POSTs are log in and
 * out, and the session cookie is SameSite=Strict.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TrailConfig } from '../../config/types';
import type { Logger } from '../../observability/log';
import type { AgencyTrail } from '..';
import { LoginThrottle, TrailAuth } from './auth';
import { BadQuery, documentDetail, parseDocumentQuery } from './api';
import { APP_CSS, appPage, loginPage } from './page';
import { PAGE_SCRIPT } from './page-script';

export interface TrailWeb {
  port: number;
  close(): Promise<void>;
}

export interface TrailWebOptions {
  organId: string;
  organName?: string;
  settings: TrailConfig['web'];
  trail: Pick<AgencyTrail, 'model' | 'rules'>;
  log?: Logger;
  now?: () => number;
}

const SECURITY_HEADERS = {
  'Content-Security-Policy': "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-store',
};

const MAX_LOGIN_BODY = 4_096;

export async function startTrailWeb(options: TrailWebOptions): Promise<TrailWeb> {
  const { settings, trail } = options;
  const tls = settings.tls;
  const auth = new TrailAuth({
    token: settings.tokenFile ? fs.readFileSync(settings.tokenFile, 'utf8').trim() : undefined,
    clientCertificates: Boolean(tls?.clientCaFile),
    secureCookie: Boolean(tls),
  });
  const throttle = new LoginThrottle();
  const now = options.now ?? Date.now;

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://trail.invalid');
    const path = url.pathname;
    if (path === '/app.css') return send(res, 200, 'text/css; charset=utf-8', APP_CSS);
    if (path === '/login' && req.method === 'GET') {
      if (!auth.usesToken) return redirect(res, '/');
      return send(res, 200, 'text/html; charset=utf-8', loginPage());
    }
    if (path === '/login' && req.method === 'POST') return login(req, res);
    if (path === '/logout' && req.method === 'POST') return redirect(res, '/login', auth.clearedCookie());

    const verdict = auth.authenticate(req);
    if (!verdict.ok) {
      if (path.startsWith('/api/')) return sendJson(res, 401, { error: 'authentication required' }, { 'WWW-Authenticate': 'Bearer realm="vdxp-trail"' });
      return auth.usesToken ? redirect(res, '/login') : send(res, 403, 'text/plain; charset=utf-8', 'client certificate required\n');
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'text/plain; charset=utf-8', 'method not allowed\n', { Allow: 'GET, HEAD' });
    if (path === '/') return send(res, 200, 'text/html; charset=utf-8', appPage());
    if (path === '/app.js') return send(res, 200, 'text/javascript; charset=utf-8', PAGE_SCRIPT);
    if (path === '/api/meta') {
      return sendJson(res, 200, {
        organId: options.organId,
        organName: options.organName,
        counterparts: trail.model.counterparts(),
        refreshSeconds: settings.refreshSeconds,
        usesToken: auth.usesToken,
        documents: trail.model.size,
        records: trail.model.records,
      });
    }
    if (path === '/api/documents') {
      try {
        return sendJson(res, 200, trail.model.query(parseDocumentQuery(url.searchParams), now()));
      } catch (err) {
        if (err instanceof BadQuery) return sendJson(res, 400, { error: err.message });
        throw err;
      }
    }
    if (path.startsWith('/api/documents/')) {
      const id = decodeURIComponent(path.slice('/api/documents/'.length));
      const detail = documentDetail(trail.model, trail.rules, id, now());
      return detail ? sendJson(res, 200, detail) : sendJson(res, 404, { error: 'no such document in the trail' });
    }
    return send(res, 404, 'text/plain; charset=utf-8', 'not found\n');
  };

  async function login(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const address = req.socket.remoteAddress ?? 'unknown';
    if (!auth.usesToken) return redirect(res, '/');
    if (throttle.blocked(address, now())) return send(res, 429, 'text/html; charset=utf-8', loginPage('Quá nhiều lần đăng nhập sai. Vui lòng thử lại sau một phút.'), { 'Retry-After': '60' });
    const body = await readBody(req, MAX_LOGIN_BODY);
    const token = body === undefined ? undefined : new URLSearchParams(body).get('token');
    if (!token || !auth.checkToken(token.trim())) {
      throttle.failed(address, now());
      options.log?.warn({ step: 'trail-web', address }, 'failed login to the trail page');
      return send(res, 401, 'text/html; charset=utf-8', loginPage('Mã truy cập không đúng.'));
    }
    return redirect(res, '/', auth.sessionCookie());
  }

  const listener = (req: http.IncomingMessage, res: http.ServerResponse) => {
    handle(req, res).catch((err: unknown) => {
      options.log?.error({ step: 'trail-web', err }, 'trail page request failed');
      if (!res.headersSent) send(res, 500, 'text/plain; charset=utf-8', 'internal error\n');
      else res.destroy();
    });
  };
  const server = tls
    ? https.createServer(
        {
          cert: fs.readFileSync(tls.certFile),
          key: fs.readFileSync(tls.keyFile),
          ...(tls.clientCaFile ? { ca: fs.readFileSync(tls.clientCaFile), requestCert: true, rejectUnauthorized: true } : {}),
          minVersion: 'TLSv1.2',
        },
        listener,
      )
    : http.createServer(listener);
  server.keepAliveTimeout = 5_000;
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(settings.port, settings.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  options.log?.info({ step: 'trail-web', port, tls: Boolean(tls), clientCertificates: Boolean(tls?.clientCaFile), token: auth.usesToken }, 'trail web page listening');
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function readBody(req: http.IncomingMessage, max: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > max) {
        resolve(undefined);
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', () => resolve(undefined));
  });
}

function send(res: http.ServerResponse, status: number, type: string, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { ...SECURITY_HEADERS, 'Content-Type': type, 'Content-Length': Buffer.byteLength(body), ...headers });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

function sendJson(res: http.ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void {
  send(res, status, 'application/json; charset=utf-8', JSON.stringify(value), headers);
}

function redirect(res: http.ServerResponse, location: string, cookie?: string): void {
  res.writeHead(303, { ...SECURITY_HEADERS, Location: location, 'Content-Length': 0, ...(cookie ? { 'Set-Cookie': cookie } : {}) });
  res.end();
}
