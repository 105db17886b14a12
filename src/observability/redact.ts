/**
 * Scrubbing of secrets before anything reaches a log line (DESIGN.md §8: "never secrets").
 * Layers: values under secret-looking keys; PEM blocks and long base64 runs anywhere in text;
 * credentials embedded in strings (URL user-info, `password=…`). Paths to secret files are kept: an
 * operator needs to know which file was wrong, and a path is not the secret.
 */

export const REDACTED = '[redacted]';

const PEM_BLOCK = /-----BEGIN [A-Z0-9 ]+-----[\s\S]*?(?:-----END [A-Z0-9 ]+-----|$)/g;
/** Long base64 runs are key material (DER) or document content: neither belongs in a log. */
const LONG_BASE64 = /[A-Za-z0-9+/]{200,}={0,2}/g;
const URL_USER_INFO = /(\b[a-z][a-z0-9+.-]*:\/\/[^/\s:@]*:)[^@\s/]+@/gi;
const INLINE_ASSIGNMENT =
  /\b(password|passwd|passphrase|pwd|secret|token|api[_-]?key|private[_-]?key|sasl\.password)(["']?\s*[:=]\s*["']?|\s+["'])[^\s"',;&})\]]+/gi;

/** Key names (lower-cased, punctuation removed) whose values are secret. */
const SECRET_KEY_SUFFIXES = [
  'password',
  'passwd',
  'passphrase',
  'secret',
  'token',
  'apikey',
  'privatekey',
  'authorization',
  'cookie',
  'credential',
  'credentials',
  'pem',
];
const SECRET_KEYS_EXACT = new Set(['key', 'pwd', 'keydata', 'keymaterial', 'pfx', 'p12']);
/** Keys naming where a secret lives rather than holding it. */
const LOCATION_SUFFIXES = ['file', 'files', 'path', 'paths', 'dir', 'ref', 'name'];

const MAX_DEPTH = 8;

export function isSecretKey(key: string): boolean {
  const normalized = key.toLowerCase().replace(/[^a-z0-9]/g, '');
  if (LOCATION_SUFFIXES.some((suffix) => normalized.endsWith(suffix))) return false;
  if (SECRET_KEYS_EXACT.has(normalized)) return true;
  return SECRET_KEY_SUFFIXES.some((suffix) => normalized.endsWith(suffix));
}

export function scrubText(text: string): string {
  return text
    .replace(PEM_BLOCK, '[redacted PEM block]')
    .replace(LONG_BASE64, '[redacted base64]')
    .replace(URL_USER_INFO, `$1${REDACTED}@`)
    .replace(INLINE_ASSIGNMENT, `$1$2${REDACTED}`);
}

export interface ScrubbedError {
  type: string;
  message: string;
  stack?: string;
  code?: string;
}

export function scrubError(err: Error): ScrubbedError {
  const scrubbed: ScrubbedError = { type: err.name, message: scrubText(err.message) };
  if (err.stack) scrubbed.stack = scrubText(err.stack);
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string') scrubbed.code = code;
  return scrubbed;
}

/**
 * A copy of `value` safe to log. Buffers and key objects are never printed (they may hold key
 * material or whole documents); only their size or kind is kept.
 */
export function scrubValue(value: unknown, depth = 0, seen = new WeakSet<object>()): unknown {
  if (typeof value === 'string') return scrubText(value);
  if (value === null || typeof value !== 'object') return value;
  if (Buffer.isBuffer(value) || value instanceof Uint8Array) return `[${value.byteLength} bytes]`;
  if (isKeyObject(value)) return '[redacted key object]';
  if (value instanceof Error) return scrubError(value);
  if (value instanceof Date) return value;
  if (isSerializedBuffer(value)) return `[${value.data.length} bytes]`;
  if (seen.has(value)) return '[circular]';
  if (depth >= MAX_DEPTH) return '[too deep]';
  seen.add(value);
  if (Array.isArray(value)) return value.map((item) => scrubValue(item, depth + 1, seen));
  const copy: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value)) {
    copy[key] = isSecretKey(key) && inner !== undefined && inner !== null ? REDACTED : scrubValue(inner, depth + 1, seen);
  }
  return copy;
}

/** What JSON.stringify makes of a Buffer that slipped through, e.g. in child bindings. */
function isSerializedBuffer(value: object): value is { type: 'Buffer'; data: unknown[] } {
  const candidate = value as { type?: unknown; data?: unknown };
  return candidate.type === 'Buffer' && Array.isArray(candidate.data);
}

/** Scrubs one finished JSON log line; a line that is not JSON is scrubbed as text. */
export function scrubLogLine(line: string): string {
  try {
    return JSON.stringify(scrubValue(JSON.parse(line))) + '\n';
  } catch {
    return scrubText(line);
  }
}

function isKeyObject(value: object): boolean {
  const name = value.constructor?.name ?? '';
  return name === 'KeyObject' || name === 'PrivateKeyObject' || name === 'SecretKeyObject' || name === 'CryptoKey';
}
