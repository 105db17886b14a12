/**
 * A record's key and headers exactly as they arrived, and a lossless text encoding of them for the
 * dead-letter topic (docs/DELIVERY.md, "Dead-letter topic").
 *
 * node-rdkafka hands header values over as Buffers, but its producer writes header values as
 * UTF-8 strings: bytes that are not UTF-8 cannot be written back as headers. So a dead letter
 * carries the original key and headers base64-encoded in two headers of its own, byte for byte,
 * in their order, duplicates and all. Header *names* are Kafka strings (UTF-8 by the protocol);
 * librdkafka's C++ API turns a name that is not valid UTF-8 into U+FFFD before we see it.
 */
import type { MessageHeader } from 'node-rdkafka';

export interface RecordHeader {
  name: string;
  value: Buffer;
}

/** Size of a record's metadata as it travels: key bytes plus every header's name and value bytes. */
export function metadataBytes(record: { keyBytes?: Buffer; key?: string; rawHeaders?: RecordHeader[]; headers: Record<string, string> }): number {
  const key = record.keyBytes?.length ?? (record.key === undefined ? 0 : Buffer.byteLength(record.key));
  const headers = rawHeadersOf(record);
  return headers.reduce((n, h) => n + Buffer.byteLength(h.name) + h.value.length, key);
}

/**
 * The headers of a consumed message, both lossless (order, duplicates, bytes) and as the
 * name → value view the pipeline reads (the last value of a name wins, values as UTF-8).
 * The view has no prototype, so a header named `__proto__` is an ordinary entry.
 */
export function readHeaders(list: MessageHeader[] | undefined): { raw: RecordHeader[]; view: Record<string, string> } {
  const raw: RecordHeader[] = [];
  const view = Object.create(null) as Record<string, string>;
  for (const entry of list ?? []) {
    for (const header of headerEntries(entry)) {
      raw.push(header);
      view[header.name] = header.value.toString('utf8');
    }
  }
  return { raw, view };
}

/**
 * One header object of node-rdkafka ({ name: Buffer }). Its C++ code sets the property with
 * [[Set]], so a header named `__proto__` becomes the object's prototype instead of a property:
 * it is recovered from there.
 */
function headerEntries(entry: MessageHeader): RecordHeader[] {
  const own = Object.keys(entry);
  if (own.length === 0) {
    const proto: unknown = Object.getPrototypeOf(entry);
    return proto instanceof Uint8Array ? [{ name: '__proto__', value: Buffer.from(proto) }] : [];
  }
  return own.map((name) => ({ name, value: asBuffer((entry as Record<string, unknown>)[name]) }));
}

function asBuffer(value: unknown): Buffer {
  if (Buffer.isBuffer(value)) return value;
  if (value instanceof Uint8Array) return Buffer.from(value);
  return Buffer.from(value === undefined || value === null ? '' : String(value), 'utf8');
}

/** The lossless header list: what the consumer read, or (records made in code) the view's entries. */
export function rawHeadersOf(record: { rawHeaders?: RecordHeader[]; headers: Record<string, string> }): RecordHeader[] {
  return record.rawHeaders ?? Object.entries(record.headers).map(([name, value]) => ({ name, value: Buffer.from(value, 'utf8') }));
}

/** The key's bytes: what the consumer read, or (records made in code) the string key as UTF-8. */
export function keyBytesOf(record: { keyBytes?: Buffer; key?: string }): Buffer | undefined {
  return record.keyBytes ?? (record.key === undefined ? undefined : Buffer.from(record.key, 'utf8'));
}

/** `[["name","<base64 value>"],…]`: JSON of ASCII only, so it survives any UTF-8 handling. */
export function encodeHeaders(headers: RecordHeader[]): string {
  // Names are UTF-8 text: everything outside ASCII is escaped (it can only occur inside strings).
  return JSON.stringify(headers.map((h) => [h.name, h.value.toString('base64')])).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** The inverse of encodeHeaders; throws on anything it did not write. */
export function decodeHeaders(text: string): RecordHeader[] {
  const parsed: unknown = JSON.parse(text);
  if (!Array.isArray(parsed)) throw new Error('encoded headers: not a list');
  return parsed.map((item, i) => {
    if (!Array.isArray(item) || item.length !== 2 || typeof item[0] !== 'string' || typeof item[1] !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(item[1])) {
      throw new Error(`encoded headers: entry ${i} is not ["name", "<base64>"]`);
    }
    return { name: item[0], value: Buffer.from(item[1], 'base64') };
  });
}
