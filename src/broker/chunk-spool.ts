/**
 * One package being reassembled on disk: appends run strictly in the order they were queued,
 * each hashed once its bytes are written, so only the chunks waiting their turn are in memory.
 * A write that fails is not tried again in place (a full disk does not empty itself): the append
 * rejects, every later one too, and the assembler refuses the package (scratch-full).
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdir, open, rm, type FileHandle } from 'node:fs/promises';
import * as path from 'node:path';

export interface SpoolOptions {
  dir: string;
}

export class SpoolFile {
  readonly path: string;
  private readonly hash = createHash('sha256');
  private handle: FileHandle | undefined;
  private tail: Promise<void> = Promise.resolve();
  private discarded = false;
  private failure: unknown;
  /** Bytes written and hashed so far. */
  length = 0;
  /** Appends queued and not yet written. */
  pending = 0;

  constructor(private readonly options: SpoolOptions) {
    this.path = path.join(options.dir, `vdxp-chunks-${randomUUID()}.part`);
  }

  /** Queues `bytes` behind every earlier append; resolves once they are written, rejects if a write failed. */
  append(bytes: Buffer): Promise<void> {
    this.pending += 1;
    const step = this.tail.then(() => this.write(bytes));
    this.tail = step.then(
      () => void (this.pending -= 1),
      () => void (this.pending -= 1),
    );
    return step;
  }

  /** SHA-256 (hex) of the bytes written so far. Call once, after the last append resolved. */
  digest(): string {
    return this.hash.digest('hex');
  }

  /** Waits for queued appends to settle (they become no-ops), then closes and deletes the file. */
  async discard(): Promise<void> {
    this.discarded = true;
    await this.tail;
    const handle = this.handle;
    this.handle = undefined;
    await handle?.close().catch(() => undefined);
    await rm(this.path, { force: true });
  }

  private async write(bytes: Buffer): Promise<void> {
    if (this.discarded) return;
    if (this.failure !== undefined) throw this.failure;
    try {
      if (!this.handle) {
        await mkdir(this.options.dir, { recursive: true, mode: 0o700 });
        this.handle = await open(this.path, 'w', 0o600);
      }
      let written = 0;
      while (written < bytes.length) {
        const { bytesWritten } = await this.handle.write(bytes, written, bytes.length - written, this.length + written);
        written += bytesWritten;
      }
    } catch (err) {
      this.failure = err;
      throw err;
    }
    this.hash.update(bytes);
    this.length += bytes.length;
  }
}
