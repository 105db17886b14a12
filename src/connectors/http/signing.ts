/**
 * HMAC-SHA256 request signing as the national axis authenticates systems (SPEC §12.1):
 *
 *   XroadVnpt-<name>: <value>          for timestamp, systemid, hash-file and each parameter
 *   XroadVnpt-sign-header-key: timestamp;systemid;hash-file;…
 *   XroadVnpt-sign-header: {"XroadVnpt-timestamp":"…",…}   (compact JSON, the bytes that are signed)
 *   XroadVnpt-hash-header: hex HMAC-SHA256(secret, sign-header)
 *
 * The axis signs headers only; `hash-file` (hex SHA-256 of the body) is what binds the body, so
 * the ingest requires it among the signed names and checks it. The timestamp is
 * `ddMMyyyy'T'HHmmss+SSSS` in Vietnam local time and must be within the allowed skew. What the
 * ingest requires on top (Content-Type and X-File-Name signed, one handling per signature) is in
 * ./ingest-auth.ts and ../replay-guard.ts.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

export const PREFIX = 'XroadVnpt-';
export const SIGN_HEADER_KEY = `${PREFIX}sign-header-key`;
export const SIGN_HEADER = `${PREFIX}sign-header`;
export const HASH_HEADER = `${PREFIX}hash-header`;
const REQUIRED_SIGNED = ['timestamp', 'systemid', 'hash-file'];
const VIETNAM_OFFSET_MS = 7 * 3600 * 1000;

function pad(n: number, w = 2): string {
  return String(n).padStart(w, '0');
}

/** `ddMMyyyy'T'HHmmss+SSSS`, Vietnam local time (the `+` is literal; SSSS are milliseconds). */
export function axisTimestamp(at: Date): string {
  const v = new Date(at.getTime() + VIETNAM_OFFSET_MS);
  return `${pad(v.getUTCDate())}${pad(v.getUTCMonth() + 1)}${v.getUTCFullYear()}T${pad(v.getUTCHours())}${pad(v.getUTCMinutes())}${pad(v.getUTCSeconds())}+${pad(v.getUTCMilliseconds(), 4)}`;
}

export function parseAxisTimestamp(s: string): Date | undefined {
  const m = /^(\d{2})(\d{2})(\d{4})T(\d{2})(\d{2})(\d{2})\+(\d{4})$/.exec(s);
  if (!m) return undefined;
  const [, d, mo, y, h, mi, se, ms] = m.map(Number) as number[];
  const t = Date.UTC(y!, mo! - 1, d!, h!, mi!, se!, ms!) - VIETNAM_OFFSET_MS;
  return Number.isNaN(t) ? undefined : new Date(t);
}

export function sha256Hex(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function hmacHex(secret: string, text: string): string {
  return createHmac('sha256', Buffer.from(secret, 'utf8')).update(text, 'utf8').digest('hex');
}

export interface SignInput {
  systemId: string;
  secret: string;
  body: Buffer;
  /** Further parameters sent as signed headers (e.g. `from`, `messagetype`). ASCII values. */
  params?: Record<string, string>;
  now?: Date;
}

/** The headers that sign one request. */
export function signRequest(input: SignInput): Record<string, string> {
  const { body, ...rest } = input;
  return signRequestWithBodyHash({ ...rest, bodySha256Hex: sha256Hex(body) });
}

export interface SignDigestInput extends Omit<SignInput, 'body'> {
  /** Lowercase hex SHA-256 of the exact body bytes, e.g. computed by streaming a file. */
  bodySha256Hex: string;
}

/** As signRequest, for a body too large to hold in memory: its hash is computed beforehand. */
export function signRequestWithBodyHash(input: SignDigestInput): Record<string, string> {
  const base: Record<string, string> = {
    timestamp: axisTimestamp(input.now ?? new Date()),
    systemid: input.systemId,
    'hash-file': input.bodySha256Hex,
    ...input.params,
  };
  const prefixed: Record<string, string> = {};
  for (const [k, v] of Object.entries(base)) prefixed[`${PREFIX}${k}`] = v;
  const signHeader = JSON.stringify(prefixed);
  return {
    ...prefixed,
    [SIGN_HEADER_KEY]: Object.keys(base).join(';'),
    [SIGN_HEADER]: signHeader,
    [HASH_HEADER]: hmacHex(input.secret, signHeader),
  };
}

export type HeaderLookup = (name: string) => string | undefined;

/**
 * Why a request is not authentic, as a stable code (a metric label, a log field) beside the
 * human `reason`. Codes are only ever added.
 */
export const AUTH_FAILURE_CODES = [
  'missing-signature',
  'unknown-system',
  'bad-signature',
  'malformed-signature',
  'unsigned-header',
  'header-mismatch',
  'timestamp-skew',
  'body-mismatch',
  'client-certificate',
] as const;
export type AuthFailureCode = (typeof AUTH_FAILURE_CODES)[number];

export type VerifyResult = { ok: true; systemId: string; params: Record<string, string> } | { ok: false; reason: string; code: AuthFailureCode };

function failure(code: AuthFailureCode, reason: string): { ok: false; reason: string; code: AuthFailureCode } {
  return { ok: false, reason, code };
}

/**
 * Checks a request's signature. `header` looks a header up case-insensitively; `secretFor`
 * returns the shared secret of a known system id.
 */
export function verifyRequest(header: HeaderLookup, body: Buffer, secretFor: (systemId: string) => string | undefined, now: Date, maxSkewMs: number): VerifyResult {
  return verifyRequestWithBodyHash(header, sha256Hex(body), secretFor, now, maxSkewMs);
}

/** As verifyRequest, for a body too large to hold in memory: its SHA-256 (hex) was computed as it streamed in. */
export function verifyRequestWithBodyHash(header: HeaderLookup, bodySha256Hex: string, secretFor: (systemId: string) => string | undefined, now: Date, maxSkewMs: number): VerifyResult {
  const result = verifySignedHeaders(header, secretFor, now, maxSkewMs);
  if (result.ok && result.params['hash-file']!.toLowerCase() !== bodySha256Hex.toLowerCase()) return failure('body-mismatch', 'hash-file does not match the body');
  return result;
}

/**
 * Everything verifyRequest checks except that the body hashes to `hash-file`, which it returns in
 * `params`. Lets a server refuse a request before it has received the body; the request is
 * authentic only once the body's hash has been checked as well.
 */
export function verifySignedHeaders(header: HeaderLookup, secretFor: (systemId: string) => string | undefined, now: Date, maxSkewMs: number): VerifyResult {
  const keyList = header(SIGN_HEADER_KEY);
  const signHeader = header(SIGN_HEADER);
  const hash = header(HASH_HEADER);
  if (!keyList || !signHeader || !hash) return failure('missing-signature', `missing ${[!keyList && SIGN_HEADER_KEY, !signHeader && SIGN_HEADER, !hash && HASH_HEADER].filter(Boolean).join(', ')}`);
  const systemId = header(`${PREFIX}systemid`);
  if (!systemId) return failure('missing-signature', `missing ${PREFIX}systemid`);
  const secret = secretFor(systemId);
  if (secret === undefined) return failure('unknown-system', `unknown system id ${JSON.stringify(systemId)}`);
  const expected = Buffer.from(hmacHex(secret, signHeader), 'utf8');
  const given = Buffer.from(hash.trim().toLowerCase(), 'utf8');
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) return failure('bad-signature', 'signature does not match');
  let signed: Record<string, unknown>;
  try {
    signed = JSON.parse(signHeader) as Record<string, unknown>;
  } catch {
    return failure('malformed-signature', `${SIGN_HEADER} is not JSON`);
  }
  const names = keyList.split(';').map((n) => n.trim()).filter(Boolean);
  for (const required of REQUIRED_SIGNED) if (!names.includes(required)) return failure('unsigned-header', `${required} is not among the signed headers`);
  const params: Record<string, string> = {};
  for (const name of names) {
    const sent = header(`${PREFIX}${name}`);
    if (sent === undefined || signed[`${PREFIX}${name}`] !== sent) return failure('header-mismatch', `header ${PREFIX}${name} differs from what was signed`);
    params[name] = sent;
  }
  const at = parseAxisTimestamp(params.timestamp!);
  if (!at) return failure('malformed-signature', `timestamp ${JSON.stringify(params.timestamp)} is not ddMMyyyyTHHmmss+SSSS`);
  if (Math.abs(now.getTime() - at.getTime()) > maxSkewMs) return failure('timestamp-skew', `timestamp ${params.timestamp} is outside the allowed skew of ${maxSkewMs / 1000} s`);
  if (params.systemid !== systemId) return failure('header-mismatch', 'systemid differs from what was signed');
  return { ok: true, systemId, params };
}
