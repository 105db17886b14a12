/**
 * Who may see the trail's web page (issue 18 §5). Nothing is open: the config refuses an enabled
 * page with neither a token nor client certificates (src/config/load.ts), and every request here
 * passes `authenticate` before anything but the login form is served.
 *
 * - Client certificates (trail.web.tls.clientCaFile): the TLS handshake refuses a client without
 *   a certificate chaining to that CA; the request is checked again here (socket.authorized).
 * - A token (trail.web.tokenFile): `Authorization: Bearer <token>` for scripts, or the login form,
 *   which sets a session cookie: `<expiry>.<HMAC-SHA256(token, expiry)>`, HttpOnly, SameSite=Strict,
 *   Secure under TLS. Stateless, so any replica with the same token accepts it; changing the token
 *   ends every session.
 * With both configured, both are required.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';

export const SESSION_COOKIE = 'vdxp_trail_session';
export const SESSION_SECONDS = 12 * 3600;
export const MIN_TOKEN_CHARS = 32;

export interface AuthSettings {
  token?: string;
  clientCertificates: boolean;
  secureCookie: boolean;
  now?: () => number;
}

export type AuthVerdict = { ok: true } | { ok: false; why: string };

function sameSecret(a: string, b: string): boolean {
  // Digests of equal length, so the comparison takes the same time whatever the guess.
  return timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest());
}

export class TrailAuth {
  constructor(private readonly settings: AuthSettings) {
    if (settings.token !== undefined && settings.token.length < MIN_TOKEN_CHARS) {
      throw new Error(`trail.web.tokenFile: the token has ${settings.token.length} characters; at least ${MIN_TOKEN_CHARS} are required`);
    }
    if (settings.token === undefined && !settings.clientCertificates) throw new Error('trail.web: neither a token nor client certificates: the page would be open');
  }

  get usesToken(): boolean {
    return this.settings.token !== undefined;
  }

  authenticate(req: IncomingMessage): AuthVerdict {
    if (this.settings.clientCertificates) {
      const socket = req.socket as TLSSocket;
      if (!socket.authorized) return { ok: false, why: 'no valid client certificate' };
    }
    if (this.settings.token === undefined) return { ok: true };
    const header = req.headers.authorization;
    if (header?.startsWith('Bearer ')) return this.checkToken(header.slice(7).trim()) ? { ok: true } : { ok: false, why: 'wrong token' };
    const session = cookies(req)[SESSION_COOKIE];
    if (session && this.validSession(session)) return { ok: true };
    return { ok: false, why: session ? 'session expired or forged' : 'not logged in' };
  }

  checkToken(candidate: string): boolean {
    return this.settings.token !== undefined && sameSecret(candidate, this.settings.token);
  }

  /** The Set-Cookie value of a fresh session. */
  sessionCookie(): string {
    const expiry = (this.settings.now?.() ?? Date.now()) + SESSION_SECONDS * 1000;
    const value = `${expiry}.${this.mac(expiry)}`;
    return `${SESSION_COOKIE}=${value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${SESSION_SECONDS}${this.settings.secureCookie ? '; Secure' : ''}`;
  }

  clearedCookie(): string {
    return `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0${this.settings.secureCookie ? '; Secure' : ''}`;
  }

  private validSession(value: string): boolean {
    const m = /^(\d{13,16})\.([0-9a-f]{64})$/.exec(value);
    if (!m) return false;
    const expiry = Number(m[1]);
    if (expiry < (this.settings.now?.() ?? Date.now())) return false;
    return timingSafeEqual(Buffer.from(m[2]!, 'hex'), Buffer.from(this.mac(expiry), 'hex'));
  }

  private mac(expiry: number): string {
    return createHmac('sha256', this.settings.token!).update(`vdxp-trail-session:${expiry}`).digest('hex');
  }
}

export function cookies(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0) out[part.slice(0, i).trim()] = part.slice(i + 1).trim();
  }
  return out;
}

/** Failed logins per client address: at most `limit` a minute, so a token cannot be guessed online. */
export class LoginThrottle {
  private readonly failures = new Map<string, number[]>();

  constructor(
    private readonly limit = 10,
    private readonly windowMs = 60_000,
  ) {}

  blocked(address: string, now = Date.now()): boolean {
    const recent = (this.failures.get(address) ?? []).filter((t) => now - t < this.windowMs);
    this.failures.set(address, recent);
    return recent.length >= this.limit;
  }

  failed(address: string, now = Date.now()): void {
    if (this.failures.size > 10_000) this.failures.clear();
    this.failures.set(address, [...(this.failures.get(address) ?? []), now]);
  }
}
