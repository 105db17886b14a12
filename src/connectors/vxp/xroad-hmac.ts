/**
 * The XroadVnpt-* request signature exactly as the Government Office's VXP SDK (SDKVXP 2.0.0 and
 * 2.0.1) computes it, observed by running the SDK against a capture server (docs/VXP.md lists every
 * difference from SPEC §12.1). Pure functions, used both to build a client's headers (the bridge)
 * and to check a request on the server (the vxp connector).
 *
 *   XroadVnpt-<name>: <value>      for each signed parameter, including systemid, timestamp and
 *                                  Content-Type (also sent unprefixed)
 *   XroadVnpt-sign-header-key      the names joined by ';', in the SDK's HashMap iteration order
 *   XroadVnpt-sign-header          compact JSON {"XroadVnpt-<name>":"<value>",…} in the same order
 *   XroadVnpt-hash-header          lowercase hex HMAC-SHA256(secret as UTF-8, sign-header as UTF-8)
 *   User-Agent: JAVASDKAgent/1.0.0 XRoad/VPCP,  XroadVnpt-version: 3.0.201608
 *
 * What only the real client shows:
 *  - `hash-file` is SHA-256 of the file written byte by byte with Integer.toHexString, so a byte
 *    below 0x10 loses its leading zero (62 characters instead of 64 for a typical file);
 *  - the sendEdoc body is the file followed by CRLF; hash-file covers the file without it;
 *  - `timestamp` is `ddMMyyyy'T'HHmmss+SSSS` in the client machine's zone, with no zone written, and
 *    it is taken once, when the SDK's service object is constructed, not per request;
 *  - the SDK keeps one header map per service object: parameters of earlier calls (hash-file,
 *    from, docId, filePath, status, …) stay in it and are signed again on later calls.
 */
import { createHash, createHmac, timingSafeEqual, type Hash } from 'node:crypto';

export const XROAD_PREFIX = 'XroadVnpt-';
export const SIGN_HEADER_KEY = `${XROAD_PREFIX}sign-header-key`;
export const SIGN_HEADER = `${XROAD_PREFIX}sign-header`;
export const HASH_HEADER = `${XROAD_PREFIX}hash-header`;
export const SDK_USER_AGENT = 'JAVASDKAgent/1.0.0 XRoad/VPCP';
export const SDK_VERSION_HEADER = `${XROAD_PREFIX}version`;
export const SDK_VERSION = '3.0.201608';
/** The zone the axis's clients run in; the SDK writes local time without a zone. */
export const DEFAULT_SDK_TIME_ZONE = 'Asia/Ho_Chi_Minh';

// ---------------------------------------------------------------------------------------------
// hash-file

/** Integer.toHexString per byte, as the SDK writes hash-file: no leading zero for bytes below 0x10. */
export function sdkHex(digest: Buffer): string {
  let out = '';
  for (const b of digest) out += b.toString(16);
  return out;
}

/** hash-file as the SDK computes it for a file's bytes. */
export function sdkHashFile(fileBytes: Buffer): string {
  return sdkHex(createHash('sha256').update(fileBytes).digest());
}

/** The SDK's sendEdoc body: the file's bytes and a CRLF. */
export const SDK_BODY_TRAILER = Buffer.from('\r\n');

/**
 * Hashes a request body as it streams in, twice: all of it, and all of it but a trailing CRLF
 * (the SDK's body is file + CRLF, and hash-file covers the file). Holds back two bytes at a time.
 */
export class SendBodyHasher {
  private readonly whole: Hash = createHash('sha256');
  private readonly withoutTrailer: Hash = createHash('sha256');
  private held = Buffer.alloc(0);
  length = 0;

  update(chunk: Buffer): void {
    this.whole.update(chunk);
    this.length += chunk.length;
    const joined = this.held.length ? Buffer.concat([this.held, chunk]) : chunk;
    const keep = Math.min(2, joined.length);
    this.withoutTrailer.update(joined.subarray(0, joined.length - keep));
    this.held = Buffer.from(joined.subarray(joined.length - keep));
  }

  /** Both digests; `withoutTrailer` only when the body ends with CRLF. */
  digest(): BodyDigests {
    const endsWithCrlf = this.held.equals(SDK_BODY_TRAILER);
    if (!endsWithCrlf) this.withoutTrailer.update(this.held);
    const withoutTrailer = this.withoutTrailer.digest();
    return { whole: this.whole.digest(), ...(endsWithCrlf ? { withoutTrailer } : {}), length: this.length };
  }
}

export interface BodyDigests {
  whole: Buffer;
  /** SHA-256 of the body without its trailing CRLF, when it has one. */
  withoutTrailer?: Buffer;
  length: number;
}

export function digestBody(body: Buffer): BodyDigests {
  const h = new SendBodyHasher();
  h.update(body);
  return h.digest();
}

/**
 * Which bytes of the body are the document that `hash-file` names, or undefined when none are.
 * `file-and-crlf` is the SDK's body (the document is the body without its last two bytes); `whole`
 * is a client that sends the file alone. hash-file may be the SDK's short hex or full lowercase hex.
 */
export function matchHashFile(hashFile: string, digests: BodyDigests): 'file-and-crlf' | 'whole' | undefined {
  const given = hashFile.trim().toLowerCase();
  const matches = (d: Buffer) => given === sdkHex(d) || given === d.toString('hex');
  if (digests.withoutTrailer && matches(digests.withoutTrailer)) return 'file-and-crlf';
  if (matches(digests.whole)) return 'whole';
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// timestamp

function pad(n: number, w = 2): string {
  return String(n).padStart(w, '0');
}

/** Wall-clock fields of `at` in `timeZone`. */
function wallClock(at: Date, timeZone: string): { y: number; mo: number; d: number; h: number; mi: number; s: number } {
  const parts = new Intl.DateTimeFormat('en-GB', { timeZone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' }).formatToParts(at);
  const get = (t: string) => Number(parts.find((p) => p.type === t)!.value);
  return { y: get('year'), mo: get('month'), d: get('day'), h: get('hour'), mi: get('minute'), s: get('second') };
}

/** Throws when `timeZone` is not an IANA zone name this Node knows. */
export function checkTimeZone(timeZone: string): void {
  new Intl.DateTimeFormat('en-GB', { timeZone });
}

/** `ddMMyyyy'T'HHmmss+SSSS` in `timeZone` (the `+` is literal; SSSS are milliseconds, 4 digits). */
export function formatSdkTimestamp(at: Date, timeZone = DEFAULT_SDK_TIME_ZONE): string {
  const w = wallClock(at, timeZone);
  return `${pad(w.d)}${pad(w.mo)}${w.y}T${pad(w.h)}${pad(w.mi)}${pad(w.s)}+${pad(at.getUTCMilliseconds(), 4)}`;
}

/** The instant an SDK timestamp names when read as wall-clock time in `timeZone`; undefined if malformed. */
export function parseSdkTimestamp(text: string, timeZone = DEFAULT_SDK_TIME_ZONE): Date | undefined {
  const m = /^(\d{2})(\d{2})(\d{4})T(\d{2})(\d{2})(\d{2})\+(\d{4})$/.exec(text);
  if (!m) return undefined;
  const [d, mo, y, h, mi, s, ms] = m.slice(1).map(Number) as [number, number, number, number, number, number, number];
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 59 || ms > 999) return undefined;
  const asUtc = Date.UTC(y, mo - 1, d, h, mi, s, ms);
  // The zone's offset at that moment: found by formatting, twice for instants near a DST change.
  let t = asUtc;
  for (let i = 0; i < 2; i++) {
    const w = wallClock(new Date(t), timeZone);
    const offset = Date.UTC(w.y, w.mo - 1, w.d, w.h, w.mi, w.s) - Math.floor(t / 1000) * 1000;
    t = asUtc - offset;
  }
  return new Date(t);
}

// ---------------------------------------------------------------------------------------------
// signing order: java.util.HashMap iteration

function javaStringHash(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (Math.imul(31, h) + s.charCodeAt(i)) | 0;
  return h;
}

/**
 * The order in which a java.util.HashMap<String,String> (default capacity 16, load factor 0.75)
 * that received `keys` in this order iterates them: by bucket, then insertion within a bucket.
 * A key put again keeps its first place.
 */
export function javaHashMapOrder(keys: string[]): string[] {
  const unique = [...new Set(keys)];
  let capacity = 16;
  while (unique.length > capacity * 0.75) capacity *= 2;
  const bucketOf = (k: string) => {
    const h = javaStringHash(k);
    return (h ^ (h >>> 16)) & (capacity - 1);
  };
  return unique.map((k, i) => ({ k, i, b: bucketOf(k) })).sort((a, b) => a.b - b.b || a.i - b.i).map((e) => e.k);
}

/** JSON text as Gson's JsonObject.toString writes a string (JSON.stringify, plus U+2028/2029 escaped). */
function gsonString(s: string): string {
  return JSON.stringify(s).replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

// ---------------------------------------------------------------------------------------------
// client side

export interface SdkHeaderInput {
  systemId: string;
  secret: string;
  /** The SDK's timestamp text (see formatSdkTimestamp), as stamped when its service object was made. */
  timestamp: string;
  contentType: string;
  /**
   * The operation's parameters in the order the SDK put them into its map (the json's keys, then
   * hash-file for sendEdoc). Include parameters kept from earlier calls to reproduce a long-lived
   * SDK object.
   */
  params: Array<[string, string]>;
}

/** Every header the SDK sends for one request, with the values it signs; `Content-Type` unprefixed too. */
export function buildSdkHeaders(input: SdkHeaderInput): Record<string, string> {
  // The SDK's map holds systemid and timestamp from construction; each call puts Content-Type, then its parameters.
  const entries = new Map<string, string>([['systemid', input.systemId], ['timestamp', input.timestamp], ['Content-Type', input.contentType]]);
  for (const [k, v] of input.params) entries.set(k, v);
  const order = javaHashMapOrder([...entries.keys()]);
  const signHeader = `{${order.map((k) => `${gsonString(XROAD_PREFIX + k)}:${gsonString(entries.get(k)!)}`).join(',')}}`;
  const headers: Record<string, string> = { 'Content-Type': input.contentType };
  for (const k of order) headers[XROAD_PREFIX + k] = entries.get(k)!;
  headers[SIGN_HEADER_KEY] = order.join(';');
  headers[SIGN_HEADER] = signHeader;
  headers[HASH_HEADER] = hmacHex(input.secret, signHeader);
  headers['User-Agent'] = SDK_USER_AGENT;
  headers[SDK_VERSION_HEADER] = SDK_VERSION;
  return headers;
}

export function hmacHex(secret: string, text: string): string {
  return createHmac('sha256', Buffer.from(secret, 'utf8')).update(text, 'utf8').digest('hex');
}

// ---------------------------------------------------------------------------------------------
// server side

export type HeaderLookup = (name: string) => string | undefined;

/** Why a request is not authentic: a stable code (metric label, ErrorCode) beside the human reason. */
export const XROAD_AUTH_FAILURES = ['missing-signature', 'unknown-system', 'bad-signature', 'malformed-signature', 'unsigned-header', 'header-mismatch', 'timestamp-skew', 'body-mismatch'] as const;
export type XroadAuthFailure = (typeof XROAD_AUTH_FAILURES)[number];

export type XroadVerdict =
  | { ok: true; systemId: string; timestamp: Date; /** Signed parameters, names in lower case. */ params: Record<string, string> }
  | { ok: false; code: XroadAuthFailure; reason: string; systemId?: string };

export interface XroadVerifyOptions {
  now: Date;
  maxSkewMs: number;
  /** The zone the clients' clocks are in (their timestamps carry none). */
  timeZone: string;
  /** Parameters that must be among the signed names (lower case), beyond systemid and timestamp. */
  required?: string[];
}

/**
 * Checks the XroadVnpt-* signature of a request: the HMAC over the sign-header JSON as sent, each
 * signed name present as a header with the value signed, the timestamp within the skew window read
 * in `timeZone`. The body is not looked at; for sendEdoc check `hash-file` with matchHashFile.
 */
export function verifyXroadHeaders(header: HeaderLookup, secretFor: (systemId: string) => string | undefined, options: XroadVerifyOptions): XroadVerdict {
  const keyList = header(SIGN_HEADER_KEY);
  const signHeader = header(SIGN_HEADER);
  const hash = header(HASH_HEADER);
  if (!keyList || !signHeader || !hash) return refuse('missing-signature', `missing ${[!keyList && SIGN_HEADER_KEY, !signHeader && SIGN_HEADER, !hash && HASH_HEADER].filter(Boolean).join(', ')}`);
  const systemId = header(`${XROAD_PREFIX}systemid`);
  if (!systemId) return refuse('missing-signature', `missing ${XROAD_PREFIX}systemid`);
  const secret = secretFor(systemId);
  if (secret === undefined) return refuse('unknown-system', `unknown systemid ${JSON.stringify(systemId)}`, systemId);
  const expected = Buffer.from(hmacHex(secret, signHeader), 'utf8');
  const given = Buffer.from(hash.trim().toLowerCase(), 'utf8');
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) return refuse('bad-signature', `${HASH_HEADER} does not match: wrong secret for systemid ${systemId}, or the signed headers were changed`, systemId);
  let signed: unknown;
  try {
    signed = JSON.parse(signHeader);
  } catch {
    return refuse('malformed-signature', `${SIGN_HEADER} is not JSON`, systemId);
  }
  if (!signed || typeof signed !== 'object' || Array.isArray(signed)) return refuse('malformed-signature', `${SIGN_HEADER} is not a JSON object`, systemId);
  const signedMap = signed as Record<string, unknown>;
  const names = keyList.split(';').map((n) => n.trim()).filter(Boolean);
  if (Object.keys(signedMap).length !== names.length) return refuse('malformed-signature', `${SIGN_HEADER_KEY} names ${names.length} headers but ${SIGN_HEADER} holds ${Object.keys(signedMap).length}`, systemId);
  const params: Record<string, string> = {};
  for (const name of names) {
    const value = signedMap[XROAD_PREFIX + name];
    if (typeof value !== 'string') return refuse('malformed-signature', `${SIGN_HEADER} has no string ${XROAD_PREFIX}${name}`, systemId);
    if (header(XROAD_PREFIX + name) !== value) return refuse('header-mismatch', `header ${XROAD_PREFIX}${name} differs from what was signed`, systemId);
    const key = name.toLowerCase();
    if (key in params && params[key] !== value) return refuse('malformed-signature', `${name} is signed twice with different values`, systemId);
    params[key] = value;
  }
  for (const need of ['systemid', 'timestamp', ...(options.required ?? [])]) {
    if (params[need] === undefined) return refuse('unsigned-header', `${need} is not among the signed headers`, systemId);
  }
  if (params.systemid !== systemId) return refuse('header-mismatch', 'systemid differs from what was signed', systemId);
  const at = parseSdkTimestamp(params.timestamp!, options.timeZone);
  if (!at) return refuse('malformed-signature', `timestamp ${JSON.stringify(params.timestamp)} is not ddMMyyyyTHHmmss+SSSS`, systemId);
  const skew = options.now.getTime() - at.getTime();
  if (Math.abs(skew) > options.maxSkewMs) {
    return refuse('timestamp-skew', `timestamp ${params.timestamp} (read in ${options.timeZone}) is ${Math.round(Math.abs(skew) / 1000)} s ${skew > 0 ? 'old' : 'ahead'}, outside the allowed skew of ${options.maxSkewMs / 1000} s`, systemId);
  }
  return { ok: true, systemId, timestamp: at, params };
}

function refuse(code: XroadAuthFailure, reason: string, systemId?: string): XroadVerdict {
  return { ok: false, code, reason, ...(systemId ? { systemId } : {}) };
}
