/**
 * One package being reassembled on disk: appends run strictly in the order they were queued,
 * each hashed once its bytes are written, so only the chunks waiting their turn are in memory.
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdir, open, rm, type FileHandle } from 'node:fs/promises';
import * as path from 'node:path';
import { sleep } from '../sleep';

export interface SpoolOptions {
  dir: string;
  /** Delay before a failed write (disk full, too many open files) is tried again in place. */
  retryDelayMs: (attempt: number) => number;
  onWriteError: (error: Error, attempt: number) => void;
}

export class SpoolFile {
  readonly path: string;
  private readonly hash = createHash('sha256');
  private handle: FileHandle | undefined;
  private tail: Promise<void> = Promise.resolve();
  private discarded = false;
  /** Bytes written and hashed so far. */
  length = 0;
  /** Appends queued and not yet written. */
  pending = 0;

  constructor(private readonly options: SpoolOptions) {
    this.path = path.join(options.dir, `vdxp-chunks-${randomUUID()}.part`);
  }

  /**
   * Queues `bytes` behind every earlier append; resolves once they are written. A failed write is
   * retried in place (never out of order) until it succeeds or `signal` aborts.
   */
  append(bytes: Buffer, signal: AbortSignal): Promise<void> {
    this.pending += 1;
    const step = this.tail.then(() => this.retrying(() => this.write(bytes), signal));
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
    if (!this.handle) {
      await mkdir(this.options.dir, { recursive: true, mode: 0o700 });
      this.handle = await open(this.path, 'w', 0o600);
    }
    let written = 0;
    // Positional writes: a retry after a partial write rewrites the same bytes at the same place.
    while (written < bytes.length) {
      const { bytesWritten } = await this.handle.write(bytes, written, bytes.length - written, this.length + written);
      written += bytesWritten;
    }
    this.hash.update(bytes);
    this.length += bytes.length;
  }

  private async retrying(work: () => Promise<void>, signal: AbortSignal): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      if (this.discarded) return;
      if (signal.aborted) throw new Error('aborted before the chunk was written');
      try {
        return await work();
      } catch (err) {
        if (this.discarded) return;
        this.options.onWriteError(err instanceof Error ? err : new Error(String(err)), attempt);
        await sleep(this.options.retryDelayMs(attempt), signal);
      }
    }
  }
}
