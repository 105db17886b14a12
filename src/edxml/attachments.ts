/**
 * Attachment bytes without holding them: base64 is decoded in chunks straight from the input
 * buffer (no copy of the text, no decoded copy), and a zipped attachment (SPEC §9.3, detected by
 * `PK\x03\x04`) is inflated as a stream. Every stream enforces the limits it touches and fails
 * with a `Rejection` (`limit-exceeded` naming the config key, or `invalid-edxml`).
 */
import * as fs from 'node:fs';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import * as zlib from 'node:zlib';
import { Rejection } from '../errors';
import { DEFAULT_LIMITS, type Limits } from '../limits';
import type { Attachment } from './model';

/** Clean base64 characters per decoding step (a multiple of 4). */
const CHUNK_CHARS = 256 * 1024;
/** Non-compact sources keep a seek checkpoint every this many clean characters. */
const CHECKPOINT_CHARS = 64 * 1024;

/** A base64 data character (padding `=` excluded: it carries no data). */
function isB64(b: number): boolean {
  return (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || (b >= 0x30 && b <= 0x39) || b === 0x2b || b === 0x2f;
}

/** Random access to the bytes an attachment's base64 text lives in: the package in memory, or a spooled file. */
export interface ByteStore {
  read(start: number, end: number): Buffer;
}

class BufferStore implements ByteStore {
  constructor(private readonly buffer: Buffer) {}
  read(start: number, end: number): Buffer {
    return this.buffer.subarray(start, end);
  }
}

/** A file read in windows on demand (large packages: their attachment text never enters memory whole). */
export class FileStore implements ByteStore {
  constructor(readonly path: string) {}
  read(start: number, end: number): Buffer {
    const out = Buffer.allocUnsafe(Math.max(0, end - start));
    const fd = fs.openSync(this.path, 'r');
    try {
      let done = 0;
      while (done < out.length) {
        const n = fs.readSync(fd, out, done, out.length - done, start + done);
        if (n === 0) throw new Error(`${this.path} ended at byte ${start + done}, expected ${end}`);
        done += n;
      }
    } finally {
      fs.closeSync(fd);
    }
    return out;
  }
}

/** Bytes scanned per read when walking a range. */
const WINDOW_BYTES = 1024 * 1024;

/** Calls visit for each window of [start, end) read from the store. */
function forEachWindow(store: ByteStore, start: number, end: number, visit: (window: Buffer, offset: number) => boolean | void): void {
  for (let at = start; at < end; at += WINDOW_BYTES) {
    if (visit(store.read(at, Math.min(end, at + WINDOW_BYTES)), at) === false) return;
  }
}

/**
 * Where an attachment's base64 text lives: a byte range of the input (or of a spooled file), and
 * the limits it is read under. Decoding uses the data characters only: whitespace, padding and
 * stray characters are skipped, so a broken attachment decodes to *something* deterministic and
 * validation reports it.
 */
export class AttachmentSource {
  /** Base64 data characters in the range (padding excluded). */
  readonly chars: number;
  /** Decoded byte count: exactly what stream() yields. */
  readonly size: number;
  /** Trailing `=` characters after the data (compact sources only). */
  readonly padding: number;
  readonly store: ByteStore;
  private readonly dataEnd: number;
  private checkpoints: number[] | undefined;

  constructor(
    bytes: Buffer | ByteStore,
    readonly start: number,
    readonly end: number,
    /**
     * Caller's promise that the range is base64 data characters followed by at most two `=`:
     * then data character k is byte start+k and nothing needs filtering.
     */
    readonly compact: boolean,
    readonly limits: Limits = DEFAULT_LIMITS,
  ) {
    this.store = Buffer.isBuffer(bytes) ? new BufferStore(bytes) : bytes;
    if (compact) {
      const tailStart = Math.max(start, end - 2);
      const tail = this.store.read(tailStart, end);
      let e = end;
      while (e > start && end - e < 2 && tail[e - 1 - tailStart] === 0x3d) e--;
      this.dataEnd = e;
      this.padding = end - e;
      this.chars = e - start;
    } else {
      this.dataEnd = end;
      this.padding = 0;
      this.chars = countB64(this.store, start, end);
    }
    this.size = Math.floor((this.chars * 3) / 4);
  }

  /** The range is one line of correctly padded base64 that can be copied as is. */
  get canonical(): boolean {
    const r = this.chars % 4;
    return this.compact && r !== 1 && (r === 0 ? this.padding === 0 : this.padding === 4 - r);
  }

  /** The range's bytes as they are (for copying a canonical source). */
  raw(): Buffer {
    return this.store.read(this.start, this.end);
  }

  /** Builds a source over text that had to come from the DOM (base64 interleaved with markup). */
  static fromText(text: string, limits?: Limits): AttachmentSource {
    const clean = Buffer.from(text.replace(/[^A-Za-z0-9+/]/g, ''), 'latin1');
    return new AttachmentSource(clean, 0, clean.length, true, limits);
  }

  /** Over decoded bytes already in memory (attachments of a model being written). */
  static fromDecoded(data: Buffer, limits?: Limits): AttachmentSource {
    const b64 = Buffer.from(data.toString('base64'), 'latin1');
    return new AttachmentSource(b64, 0, b64.length, true, limits);
  }

  /** Data characters [from, to) as bytes. */
  readChars(from: number, to: number): Buffer {
    to = Math.min(to, this.chars);
    if (from >= to) return Buffer.alloc(0);
    if (this.compact) return this.store.read(this.start + from, this.start + to);
    const cps = this.ensureCheckpoints();
    const cp = Math.floor(from / CHECKPOINT_CHARS);
    let idx = cp * CHECKPOINT_CHARS;
    const out = Buffer.allocUnsafe(to - from);
    let o = 0;
    forEachWindow(this.store, cps[cp]!, this.dataEnd, (window) => {
      for (let k = 0; k < window.length && idx < to; k++) {
        const b = window[k]!;
        if (!isB64(b)) continue;
        if (idx >= from) out[o++] = b;
        idx++;
      }
      return idx < to;
    });
    return out.subarray(0, o);
  }

  /** Decoded bytes [from, to). */
  decodeRange(from: number, to: number): Buffer {
    to = Math.min(to, this.size);
    if (from >= to) return Buffer.alloc(0);
    const c0 = Math.floor(from / 3) * 4;
    const c1 = Math.ceil(to / 3) * 4;
    const decoded = Buffer.from(this.readChars(c0, c1).toString('latin1'), 'base64');
    const skip = from - (c0 / 4) * 3;
    return decoded.subarray(skip, skip + (to - from));
  }

  stream(from = 0, to = this.size): Readable {
    const end = Math.min(to, this.size);
    const self = this;
    let pos = from;
    return new Readable({
      read() {
        if (pos >= end) {
          this.push(null);
          return;
        }
        const next = Math.min(end, pos + (CHUNK_CHARS / 4) * 3);
        const chunk = self.decodeRange(pos, next);
        pos = next;
        // Copy out of the decode buffer so a consumer holding chunks holds only what it keeps.
        this.push(chunk.length ? Buffer.from(chunk) : null);
      },
    });
  }

  private ensureCheckpoints(): number[] {
    if (this.checkpoints) return this.checkpoints;
    const cps = [this.start];
    let idx = 0;
    forEachWindow(this.store, this.start, this.dataEnd, (window, offset) => {
      for (let k = 0; k < window.length; k++) {
        if (!isB64(window[k]!)) continue;
        idx++;
        if (idx % CHECKPOINT_CHARS === 0) cps.push(offset + k + 1);
      }
    });
    this.checkpoints = cps;
    return cps;
  }
}

function countB64(store: ByteStore, start: number, end: number): number {
  let n = 0;
  forEachWindow(store, start, end, (window) => {
    for (let k = 0; k < window.length; k++) if (isB64(window[k]!)) n++;
  });
  return n;
}

// ---------------------------------------------------------------------------------------------
// Zip (read side): central directory, then one entry as an inflating stream.

export interface ZipEntry {
  name: string;
  method: number;
  flags: number;
  compressedSize: number;
  uncompressedSize: number;
  crc32: number;
  localHeaderOffset: number;
}

export interface ZipDirectory {
  entries: ZipEntry[];
  /** Entries that are files (not directories). */
  files: ZipEntry[];
}

const ZIP_MAGIC = [0x50, 0x4b, 0x03, 0x04];
const EOCD_SIG = 0x06054b50;
const CDH_SIG = 0x02014b50;
const LFH_SIG = 0x04034b50;
const MAX_CENTRAL_DIRECTORY_BYTES = 4 * 1024 * 1024;

function invalid(detail: string): Rejection {
  return new Rejection('invalid-edxml', detail);
}

export function hasZipMagic(first: Buffer): boolean {
  return first.length >= 4 && ZIP_MAGIC.every((b, k) => first[k] === b);
}

/**
 * Reads the central directory (decoding only the tail of the base64) and checks the declared
 * sizes against the limits. Throws Rejection.
 */
export function readZipDirectory(src: AttachmentSource, what = 'attachment'): ZipDirectory {
  const size = src.size;
  const limits = src.limits;
  const tailLen = Math.min(size, 22 + 0xffff);
  const tail = src.decodeRange(size - tailLen, size);
  let eocd = -1;
  for (let k = tail.length - 22; k >= 0; k--) {
    if (tail.readUInt32LE(k) === EOCD_SIG) {
      eocd = k;
      break;
    }
  }
  if (eocd < 0) throw invalid(`${what}: zip without an end-of-central-directory record`);
  const count = tail.readUInt16LE(eocd + 10);
  const cdSize = tail.readUInt32LE(eocd + 12);
  const cdOffset = tail.readUInt32LE(eocd + 16);
  if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
    throw invalid(`${what}: zip64 archives are not supported`);
  }
  if (count > limits.maxZipEntries) {
    throw new Rejection('limit-exceeded', `${what}: zip has ${count} entries, limit ${limits.maxZipEntries}`, 'limits.maxZipEntries');
  }
  if (cdSize > MAX_CENTRAL_DIRECTORY_BYTES || cdOffset + cdSize > size) {
    throw invalid(`${what}: zip central directory out of bounds`);
  }
  const cd = src.decodeRange(cdOffset, cdOffset + cdSize);
  const entries: ZipEntry[] = [];
  let p = 0;
  for (let e = 0; e < count; e++) {
    if (p + 46 > cd.length || cd.readUInt32LE(p) !== CDH_SIG) throw invalid(`${what}: zip central directory is corrupt`);
    const nameLen = cd.readUInt16LE(p + 28);
    const extraLen = cd.readUInt16LE(p + 30);
    const commentLen = cd.readUInt16LE(p + 32);
    const entry: ZipEntry = {
      flags: cd.readUInt16LE(p + 8),
      method: cd.readUInt16LE(p + 10),
      crc32: cd.readUInt32LE(p + 16),
      compressedSize: cd.readUInt32LE(p + 20),
      uncompressedSize: cd.readUInt32LE(p + 24),
      localHeaderOffset: cd.readUInt32LE(p + 42),
      name: cd.toString('utf8', p + 46, Math.min(cd.length, p + 46 + nameLen)),
    };
    if (entry.compressedSize === 0xffffffff || entry.uncompressedSize === 0xffffffff || entry.localHeaderOffset === 0xffffffff) {
      throw invalid(`${what}: zip64 entries are not supported`);
    }
    if (entry.localHeaderOffset + 30 + entry.compressedSize > size) throw invalid(`${what}: zip entry ${entry.name} out of bounds`);
    entries.push(entry);
    p += 46 + nameLen + extraLen + commentLen;
  }
  const files = entries.filter((e) => !e.name.endsWith('/'));
  const declared = files.reduce((s, e) => s + e.uncompressedSize, 0);
  if (declared > limits.maxZipUncompressedBytes) {
    throw new Rejection(
      'limit-exceeded',
      `${what}: zip declares ${declared} uncompressed bytes, limit ${limits.maxZipUncompressedBytes}`,
      'limits.maxZipUncompressedBytes',
    );
  }
  if (declared > limits.maxZipExpansionRatio * Math.max(size, 1)) {
    throw new Rejection(
      'limit-exceeded',
      `${what}: zip expands ${size} bytes to ${declared}, ratio limit ${limits.maxZipExpansionRatio}`,
      'limits.maxZipExpansionRatio',
    );
  }
  return { entries, files };
}

/**
 * One zip entry's content as a stream: inflated, counted against maxZipUncompressedBytes and the
 * expansion ratio as it flows (declared sizes are not trusted), length and CRC checked at the end.
 */
export function openZipEntry(src: AttachmentSource, entry: ZipEntry, what = 'attachment'): Readable {
  const limits = src.limits;
  const out = new LimitingTransform(src.size, limits, entry, what);
  let header: Buffer;
  try {
    header = src.decodeRange(entry.localHeaderOffset, entry.localHeaderOffset + 30);
    if (header.length < 30 || header.readUInt32LE(0) !== LFH_SIG) throw invalid(`${what}: zip local header missing for ${entry.name}`);
    if (entry.flags & 0x1) throw invalid(`${what}: zip entry ${entry.name} is encrypted`);
    if (entry.method !== 0 && entry.method !== 8) throw invalid(`${what}: zip method ${entry.method} not supported`);
  } catch (err) {
    process.nextTick(() => out.destroy(err as Error));
    return out;
  }
  const dataStart = entry.localHeaderOffset + 30 + header.readUInt16LE(26) + header.readUInt16LE(28);
  const raw = src.stream(dataStart, dataStart + entry.compressedSize);
  const fail = (err: Error): void => {
    out.destroy(err instanceof Rejection ? err : invalid(`${what}: zip entry ${entry.name} is corrupt (${err.message})`));
  };
  raw.on('error', fail);
  out.on('close', () => {
    raw.destroy();
  });
  if (entry.method === 8) {
    const inflate = zlib.createInflateRaw();
    inflate.on('error', fail);
    out.on('close', () => inflate.destroy());
    raw.pipe(inflate).pipe(out);
  } else {
    raw.pipe(out);
  }
  return out;
}

class LimitingTransform extends Transform {
  private produced = 0;
  private crc = 0;

  constructor(
    private readonly compressedTotal: number,
    private readonly limits: Limits,
    private readonly entry: ZipEntry,
    private readonly what: string,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.produced += chunk.length;
    if (this.produced > this.limits.maxZipUncompressedBytes) {
      done(
        new Rejection(
          'limit-exceeded',
          `${this.what}: zip entry expands past ${this.limits.maxZipUncompressedBytes} bytes`,
          'limits.maxZipUncompressedBytes',
        ),
      );
      return;
    }
    if (this.produced > this.limits.maxZipExpansionRatio * Math.max(this.compressedTotal, 1)) {
      done(
        new Rejection(
          'limit-exceeded',
          `${this.what}: zip expands ${this.compressedTotal} bytes past ratio ${this.limits.maxZipExpansionRatio}`,
          'limits.maxZipExpansionRatio',
        ),
      );
      return;
    }
    if (this.produced > this.entry.uncompressedSize) {
      done(invalid(`${this.what}: zip entry ${this.entry.name} is longer than declared`));
      return;
    }
    if (typeof zlib.crc32 === 'function') this.crc = zlib.crc32(chunk, this.crc);
    done(null, chunk);
  }

  override _flush(done: TransformCallback): void {
    if (this.produced !== this.entry.uncompressedSize) {
      done(invalid(`${this.what}: zip entry ${this.entry.name} is shorter than declared`));
      return;
    }
    if (typeof zlib.crc32 === 'function' && this.crc >>> 0 !== this.entry.crc32 >>> 0) {
      done(invalid(`${this.what}: zip entry ${this.entry.name} fails its CRC check`));
      return;
    }
    done();
  }
}

// ---------------------------------------------------------------------------------------------
// The public face: attachment → stream.

export interface OpenAttachmentOptions {
  /**
   * `content` (default): what the user meant to send — a zip's single file entry, inflated
   * (SPEC §9.3 receiver rule), else the decoded bytes. `raw`: the decoded bytes, always.
   */
  mode?: 'content' | 'raw';
}

export function attachmentSource(att: Attachment): AttachmentSource {
  const src = (att as { source?: AttachmentSource }).source;
  if (!src) throw new Rejection('invalid-edxml', `attachment ${att.attachmentName ?? att.contentId ?? ''} has no content`);
  return src;
}

function describe(att: Attachment): string {
  return `attachment ${JSON.stringify(att.attachmentName ?? att.contentId ?? '?')}`;
}

/** The zip directory of a zipped attachment, or undefined when it is not zipped. Throws Rejection. */
export function attachmentZipDirectory(att: Attachment): ZipDirectory | undefined {
  if (!att.zipped) return undefined;
  return readZipDirectory(attachmentSource(att), describe(att));
}

/**
 * The attachment's bytes as a stream. Memory stays bounded by the chunk size, whatever the
 * attachment's size. Errors on the stream are Rejections.
 */
export function openAttachment(att: Attachment, options: OpenAttachmentOptions = {}): Readable {
  const src = attachmentSource(att);
  if (options.mode !== 'raw' && att.zipped) {
    const dir = readZipDirectory(src, describe(att));
    if (dir.files.length === 1) return openZipEntry(src, dir.files[0]!, describe(att));
  }
  return src.stream();
}

/** Collects a stream (tests and small attachments only). */
export async function readAll(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of stream) parts.push(chunk as Buffer);
  return Buffer.concat(parts);
}

/** Drains a stream and reports its byte count (full decode/inflate check without keeping bytes). */
export async function drain(stream: Readable): Promise<number> {
  let n = 0;
  for await (const chunk of stream) n += (chunk as Buffer).length;
  return n;
}

/** Attaches a hidden source to an attachment object (non-enumerable: deep equality ignores it). */
export function bindSource<T extends object>(att: T, src: AttachmentSource): T {
  Object.defineProperty(att, 'source', { value: src, enumerable: false, writable: false, configurable: true });
  return att;
}
