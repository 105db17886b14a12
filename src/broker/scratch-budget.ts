/**
 * The scratch space packages are reassembled in (issue 14, docs/DELIVERY.md "Scratch space"):
 * bounded in total and per sender, and checked before anything is written. A package reserves its
 * declared length at chunk 0; the reservation is refused when it does not fit the connector's
 * limit, the sender's share, or the free space the file system reports minus what earlier
 * reservations have yet to write. Every chunk then stays within its package's reservation, so the
 * connector never writes past its limit, and a full disk (the real one smaller than the limit, or
 * shared with other scratch users) is found before the write, not by it.
 */
import * as fs from 'node:fs';
import { Rejection } from '../errors';

export interface ScratchBudgetOptions {
  /** The folder packages are written in; created (mode 0700) when the first reservation checks the disk. */
  dir: string;
  /** `limits.maxScratchBytes`: every open package's reservation together. */
  maxBytes: number;
  /** `limits.maxScratchBytesPerSender`: the open packages of one sender (the `vdxp-from` header) together. */
  maxBytesPerSender: number;
  /** Free bytes of the file system holding `dir` (tests inject it); default statfs. */
  freeBytes?: (dir: string) => number;
}

export interface ScratchReservation {
  readonly bytes: number;
  readonly sender: string;
  /** Bytes of it written so far. */
  written(bytes: number): void;
  release(): void;
}

export class ScratchBudget {
  private reserved = 0;
  private unwritten = 0;
  private readonly bySender = new Map<string, number>();

  constructor(private readonly options: ScratchBudgetOptions) {}

  get dir(): string {
    return this.options.dir;
  }

  /** Reserves `bytes` for one package of `sender`, or throws the Rejection that says why not. */
  reserve(sender: string, bytes: number): ScratchReservation {
    const { maxBytes, maxBytesPerSender } = this.options;
    if (this.reserved + bytes > maxBytes) {
      throw new Rejection('limit-exceeded', `a package of ${bytes} bytes does not fit the scratch space: ${this.reserved} of ${maxBytes} bytes are taken by open packages`, 'limits.maxScratchBytes');
    }
    const senderBytes = this.bySender.get(sender) ?? 0;
    if (senderBytes + bytes > maxBytesPerSender) {
      throw new Rejection(
        'limit-exceeded',
        `a package of ${bytes} bytes from ${sender} does not fit its share of the scratch space: its open packages take ${senderBytes} of ${maxBytesPerSender} bytes`,
        'limits.maxScratchBytesPerSender',
      );
    }
    const free = this.freeBytes();
    if (free - this.unwritten < bytes) {
      throw new Rejection('scratch-full', `a package of ${bytes} bytes does not fit the scratch disk: ${free} bytes free, ${this.unwritten} of them promised to open packages`);
    }
    this.reserved += bytes;
    this.unwritten += bytes;
    this.bySender.set(sender, senderBytes + bytes);
    let pending = bytes;
    let released = false;
    return {
      bytes,
      sender,
      written: (n) => {
        const counted = Math.min(n, pending);
        pending -= counted;
        this.unwritten -= counted;
      },
      release: () => {
        if (released) return;
        released = true;
        this.reserved -= bytes;
        this.unwritten -= pending;
        pending = 0;
        const left = (this.bySender.get(sender) ?? 0) - bytes;
        if (left > 0) this.bySender.set(sender, left);
        else this.bySender.delete(sender);
      },
    };
  }

  snapshot(): { reservedBytes: number; maxBytes: number; senders: number } {
    return { reservedBytes: this.reserved, maxBytes: this.options.maxBytes, senders: this.bySender.size };
  }

  private freeBytes(): number {
    if (this.options.freeBytes) return this.options.freeBytes(this.options.dir);
    fs.mkdirSync(this.options.dir, { recursive: true, mode: 0o700 });
    const stats = fs.statfsSync(this.options.dir);
    return Number(stats.bavail) * Number(stats.bsize);
  }
}

/** A write to scratch space failed: ENOSPC/EDQUOT is `scratch-full`, anything else `scratch-unavailable`. Never retried in place. */
export function scratchWriteRejection(err: unknown, what: string): Rejection {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const message = err instanceof Error ? err.message : String(err);
  if (code === 'ENOSPC' || code === 'EDQUOT') return new Rejection('scratch-full', `${what}: the scratch disk is full (${message})`);
  return new Rejection('scratch-unavailable', `${what}: ${message}`);
}
