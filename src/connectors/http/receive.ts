/**
 * Reading an ingest request's body with bounded memory: in memory up to `spoolOverBytes`, beyond
 * that into a scratch file, hashed with SHA-256 on the way so that its signature can be checked
 * without reading the file again.
 */
import { createHash } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { Writable } from 'node:stream';
import type { BodyFile } from '../types';

export interface SpooledBody {
  file: BodyFile;
  /** Lowercase hex SHA-256 of the file's bytes. */
  sha256: string;
}

export class BodyTooLarge extends Error {}

/** The client closed the connection before the whole body arrived: there is no one to answer. */
export class BodyIncomplete extends Error {}

export interface ReceiveOptions {
  maxBytes: number;
  /** A body over this many bytes goes to a file; without it the whole body stays in memory. */
  spoolOverBytes?: number;
  newFilePath: () => string;
}

/**
 * The body, or the file it was written to. Throws BodyTooLarge past `maxBytes`, BodyIncomplete
 * when the client goes away mid-body, or the file system's error; a file is removed before any of
 * these is thrown. It never destroys the request, so that an answer can still reach the client.
 */
export async function receiveBody(req: IncomingMessage, options: ReceiveOptions): Promise<Buffer | SpooledBody> {
  const declared = Number(req.headers['content-length'] ?? 0);
  const sink = new BodySink(options, options.spoolOverBytes !== undefined && declared > options.spoolOverBytes);
  try {
    await new Promise<void>((resolve, reject) => {
      sink.once('finish', resolve).on('error', reject);
      const incomplete = () => reject(new BodyIncomplete('the client went away before sending the whole body'));
      // An incoming request fails only when its connection does.
      req.on('error', incomplete).once('close', () => req.complete || incomplete());
      req.pipe(sink);
    });
  } catch (err) {
    req.unpipe(sink);
    await sink.discard();
    throw err;
  }
  return sink.result();
}

class BodySink extends Writable {
  private size = 0;
  private readonly chunks: Buffer[] = [];
  private file: { path: string; handle: fsp.FileHandle } | undefined;
  private readonly hash = createHash('sha256');
  private pending: Promise<void> = Promise.resolve();

  constructor(
    private readonly options: ReceiveOptions,
    private readonly spoolNow: boolean,
  ) {
    super();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (err?: Error | null) => void): void {
    this.pending = this.take(chunk);
    this.pending.then(() => done(), done);
  }

  override _final(done: (err?: Error | null) => void): void {
    this.pending = this.file ? this.file.handle.close() : Promise.resolve();
    this.pending.then(() => done(), done);
  }

  private async take(chunk: Buffer): Promise<void> {
    this.size += chunk.length;
    if (this.size > this.options.maxBytes) throw new BodyTooLarge(`body over ${this.options.maxBytes} bytes`);
    const spoolOver = this.options.spoolOverBytes;
    if (!this.file && (this.spoolNow || (spoolOver !== undefined && this.size > spoolOver))) {
      const path = this.options.newFilePath();
      this.file = { path, handle: await fsp.open(path, 'wx', 0o600) };
      for (const held of this.chunks.splice(0)) await this.append(held);
    }
    if (this.file) await this.append(chunk);
    else this.chunks.push(chunk);
  }

  private async append(chunk: Buffer): Promise<void> {
    this.hash.update(chunk);
    for (let written = 0; written < chunk.length; ) written += (await this.file!.handle.write(chunk, written)).bytesWritten;
  }

  result(): Buffer | SpooledBody {
    if (!this.file) return Buffer.concat(this.chunks, this.size);
    return { file: { path: this.file.path, length: this.size }, sha256: this.hash.digest('hex') };
  }

  /** Stops taking bytes and removes the file, if any. */
  async discard(): Promise<void> {
    this.destroy();
    await this.pending.catch(() => undefined);
    this.chunks.length = 0;
    if (!this.file) return;
    await this.file.handle.close().catch(() => undefined);
    await fsp.rm(this.file.path, { force: true });
  }
}
