/**
 * The receiving half of chunked packages: wraps a package handler into the consumer's
 * RecordHandler and reassembles chunks into a spool file, with at most the chunks waiting to be
 * written in memory.
 *
 * Chunk 0's handler call is the assembly's anchor: it resolves only once the whole package was
 * handled (or refused, superseded, stalled, revoked). Until then chunk 0's offset is unfinished,
 * so the consumer's contiguous-commit rule keeps the committed offset at or below it and a crash
 * or restart begins again at chunk 0: nothing lost, nothing half-committed (DESIGN.md §4 rule 1).
 */
import { Rejection } from '../errors';
import type { IncomingRecord, RecordHandler } from './consumer';
import { aborted, assemblyId, newAssembly, packageOf, recordFields, type Assembly, type AssemblyFields, type PackageHandler } from './chunk-assembly';
import { parseChunkHeader, type ChunkPosition } from './chunk-format';
import { SpoolFile } from './chunk-spool';
import { defaultRetryDelayMs, untilDone } from './until-done';
import { HEADERS } from './topics';

export type { IncomingPackage, PackageHandler } from './chunk-assembly';

export type ChunkLog = (level: 'info' | 'warn', fields: object, message: string) => void;

export interface ChunkAssemblerOptions {
  /** Where packages are reassembled; created with mode 0700. Must be writable (an emptyDir under a read-only root). */
  spoolDir: string;
  maxPackageBytes: number;
  /** An assembly that received no chunk for this long while consuming is reported incomplete (default 10 minutes). */
  stalledAfterMs?: number;
  /** True while consumption is held (a sink's breaker is open): that time does not count towards a stall. */
  isPaused?: () => boolean;
  /** Dead-letters a package that cannot be reassembled; called with its first chunk's record. Retried while it throws. */
  onBroken: (first: IncomingRecord, rejection: Rejection) => Promise<void>;
  log?: ChunkLog;
  /** Delay before a package handler, onBroken or a spool write that threw is tried again. */
  retryDelayMs?: (attempt: number) => number;
}

const SHA256_HEX = /^[0-9a-f]{64}$/;

export class ChunkAssembler {
  /** Assemblies still waiting for chunks (or refused and dropping them), by topic, partition, key and content hash. */
  private readonly receiving = new Map<string, Assembly>();
  private readonly live = new Set<Assembly>();
  private readonly discards = new Set<Promise<void>>();
  private readonly stalledAfterMs: number;
  private readonly retryDelayMs: (attempt: number) => number;
  private timer: NodeJS.Timeout | undefined;
  private lastTick = 0;

  constructor(private readonly options: ChunkAssemblerOptions) {
    this.stalledAfterMs = options.stalledAfterMs ?? 600_000;
    this.retryDelayMs = options.retryDelayMs ?? defaultRetryDelayMs;
  }

  /**
   * The consumer calls handlers in offset order and each call below claims its place in its
   * assembly before its first await, so appends stay in order although the calls run concurrently.
   * A chunk's call throws only when the signal aborts: a chunk is never called again out of order.
   */
  wrap(handler: PackageHandler): RecordHandler {
    return (record, signal) => {
      const header = record.headers[HEADERS.chunk];
      if (header === undefined) return handler(record, signal);
      const position = parseChunkHeader(header);
      if (!position) return this.report(record, new Rejection('incomplete-package', `header ${HEADERS.chunk} is "${header}", not <index>/<count>`), signal);
      return position.index === 0 ? this.begin(record, position.count, handler, signal) : this.add(record, position);
    };
  }

  /**
   * The consumer lost these partitions: abandon their assemblies. Chunk 0's call resolves, which
   * commits nothing because the consumer already dropped the partition's progress; the new owner
   * starts from the committed offset, at or before chunk 0, and reassembles the package.
   */
  revoked(partitions: Array<{ topic: string; partition: number }>): void {
    const gone = new Set(partitions.map((p) => `${p.topic}\0${p.partition}`));
    for (const a of [...this.receiving.values()]) {
      if (!gone.has(`${a.first.topic}\0${a.first.partition}`)) continue;
      this.log('info', recordFields(a.first), 'partition revoked: the unfinished assembly is abandoned; the new owner reassembles it from chunk 0');
      this.end(a, 'done');
    }
  }

  /** Ends every assembly (chunk 0 calls still open reject, so nothing more is committed) and deletes their spool files. */
  async close(): Promise<void> {
    this.stopTimer();
    for (const a of [...this.live]) this.end(a, new Error('chunk assembler closed'));
    await Promise.all([...this.discards]);
  }

  private begin(record: IncomingRecord, count: number, handler: PackageHandler, signal: AbortSignal): Promise<void> {
    const id = assemblyId(record);
    const previous = this.receiving.get(id);
    if (previous) {
      this.log('info', recordFields(previous.first), 'a new chunk 0 of the same package supersedes its unfinished assembly (the sender sent it again)');
      this.end(previous, 'done');
    }
    const declared = record.headers[HEADERS.packageBytes] ?? '';
    const declaredBytes = Number(declared);
    const sha256 = record.headers[HEADERS.contentSha256] ?? '';
    if (!/^\d{1,15}$/.test(declared) || !SHA256_HEX.test(sha256)) {
      const detail = `chunk 0 of ${count} lacks a valid ${HEADERS.packageBytes} or ${HEADERS.contentSha256} header`;
      return this.report(record, new Rejection('incomplete-package', detail), signal);
    }
    const a = this.open({ id, first: record, handler, signal, count, declaredBytes, sha256 });
    if (declaredBytes > this.options.maxPackageBytes) {
      const detail = `package of ${declaredBytes} bytes (in ${count} chunks) is over the limit of ${this.options.maxPackageBytes} bytes`;
      this.refuse(a, new Rejection('limit-exceeded', detail, 'limits.maxPackageBytes'));
    } else {
      this.accept(a, record.value, 0).catch(() => undefined); // an abort settles the anchor itself
    }
    return a.anchor;
  }

  /** Chunk k > 0: appended under chunk 0's signal (the consumer gives every call the same one). */
  private add(record: IncomingRecord, position: ChunkPosition): Promise<void> {
    const a = this.receiving.get(assemblyId(record));
    if (a?.ignored && position.count === a.count) {
      a.idleMs = 0;
      if (position.index === a.count - 1) this.receiving.delete(a.id);
      return Promise.resolve();
    }
    if (!a || position.index !== a.next || position.count !== a.count) {
      // Safe to drop: its package cannot complete here, and nothing is lost by finishing this
      // offset. An unfinished package always has an unfinished chunk 0 below it, so the committed
      // offset stays at or before that chunk 0 and a restart reads this chunk again after it.
      // Orphans are chunks of a superseded, refused, stalled or abandoned attempt.
      this.log('warn', { ...recordFields(record), expected: a ? `${a.next}/${a.count}` : 'no assembly' }, 'chunk that fits no assembly skipped');
      return Promise.resolve();
    }
    return this.accept(a, record.value, position.index);
  }

  /** Queues chunk `index` of `a`; resolves once its bytes are written. After the last one, delivers in the background. */
  private accept(a: Assembly, bytes: Buffer, index: number): Promise<void> {
    a.next = index + 1;
    a.idleMs = 0;
    if (a.accepted + bytes.length > a.declaredBytes) {
      const detail = `chunk ${index} of ${a.count} brings the package past its declared ${a.declaredBytes} bytes`;
      this.refuse(a, new Rejection('limit-exceeded', detail, 'limits.maxPackageBytes'));
      return Promise.resolve();
    }
    a.accepted += bytes.length;
    const written = a.spool!.append(bytes, a.signal);
    if (a.next === a.count) {
      this.receiving.delete(a.id);
      written.then(
        () => this.deliver(a),
        () => this.end(a, aborted()),
      ).catch((err) => this.log('warn', { ...recordFields(a.first), err: String(err) }, 'delivery of a reassembled package failed'));
    }
    return written;
  }

  private async deliver(a: Assembly): Promise<void> {
    const spool = a.spool;
    if (!spool) return; // ended meanwhile (closed)
    const digest = spool.digest();
    if (spool.length !== a.declaredBytes || digest !== a.sha256) {
      const detail = `reassembled ${spool.length} bytes with SHA-256 ${digest}; the sender declared ${a.declaredBytes} bytes with ${a.sha256}`;
      return this.refuseAndEnd(a, new Rejection('incomplete-package', detail));
    }
    const pkg = packageOf(a, { path: spool.path, length: spool.length });
    this.end(a, (await this.untilDone(a.first, a.signal, () => a.handler(pkg, a.signal))) ? 'done' : aborted());
  }

  private async refuseAndEnd(a: Assembly, rejection: Rejection): Promise<void> {
    this.end(a, (await this.untilDone(a.first, a.signal, () => this.broken(a.first, rejection))) ? 'done' : aborted());
  }

  /** Refuses the package at once and drops the rest of its chunks; chunk 0 resolves once onBroken did. */
  private refuse(a: Assembly, rejection: Rejection): void {
    a.ignored = true;
    this.dropSpool(a);
    void this.untilDone(a.first, a.signal, () => this.broken(a.first, rejection)).then((done) => {
      a.settle(done ? 'done' : aborted());
      this.live.delete(a); // what is left of it is a marker in `receiving` that swallows its chunks
    });
  }

  private async report(record: IncomingRecord, rejection: Rejection, signal: AbortSignal): Promise<void> {
    if (!(await this.untilDone(record, signal, () => this.broken(record, rejection)))) throw aborted();
  }

  private broken(first: IncomingRecord, rejection: Rejection): Promise<void> {
    this.log('warn', { ...recordFields(first), reason: rejection.reason, detail: rejection.detail }, 'chunked package refused');
    return this.options.onBroken(first, rejection);
  }

  /** The consumer's retry rule (until-done.ts): true once work resolved, false if the signal aborted first. */
  private untilDone(record: IncomingRecord, signal: AbortSignal, work: () => Promise<void>): Promise<boolean> {
    return untilDone(work, signal, this.retryDelayMs, (err, attempt) =>
      this.log('warn', { ...recordFields(record), attempt, err: String(err) }, 'chunked package not done; retrying'),
    );
  }

  private open(fields: Omit<AssemblyFields, 'spool'>): Assembly {
    const spool = new SpoolFile({
      dir: this.options.spoolDir,
      retryDelayMs: this.retryDelayMs,
      onWriteError: (err, attempt) => this.log('warn', { ...recordFields(fields.first), attempt, err: String(err) }, 'spool write failed; retrying'),
    });
    const a = newAssembly({ ...fields, spool });
    this.receiving.set(a.id, a);
    this.live.add(a);
    this.startTimer();
    return a;
  }

  /** Settles chunk 0's call and deletes the spool file; the assembly takes no more chunks. */
  private end(a: Assembly, outcome: 'done' | Error): void {
    if (this.receiving.get(a.id) === a) this.receiving.delete(a.id);
    this.live.delete(a);
    a.settle(outcome);
    this.dropSpool(a);
  }

  private dropSpool(a: Assembly): void {
    const spool = a.spool;
    if (!spool) return;
    a.spool = undefined;
    const discard = spool.discard().catch((err) => this.log('warn', { path: spool.path, err: String(err) }, 'spool file not deleted'));
    this.discards.add(discard);
    void discard.finally(() => this.discards.delete(discard));
  }

  /** Counts idle time per assembly, except while consumption is paused or a write is still pending. */
  private tick(): void {
    const now = Date.now();
    const elapsed = now - this.lastTick;
    this.lastTick = now;
    const counting = !(this.options.isPaused?.() ?? false);
    for (const a of [...this.receiving.values()]) {
      if (counting && (a.spool?.pending ?? 0) === 0) a.idleMs += elapsed;
      if (a.idleMs < this.stalledAfterMs) continue;
      this.receiving.delete(a.id);
      if (a.ignored) continue; // refused already
      const detail = `chunks ${a.next}..${a.count - 1} of ${a.count} never arrived (none for ${this.stalledAfterMs} ms while consuming)`;
      void this.refuseAndEnd(a, new Rejection('incomplete-package', detail));
    }
    if (this.receiving.size === 0) this.stopTimer();
  }

  private startTimer(): void {
    if (this.timer) return;
    this.lastTick = Date.now();
    this.timer = setInterval(() => this.tick(), Math.min(5_000, Math.max(10, Math.floor(this.stalledAfterMs / 10))));
    this.timer.unref();
  }

  private stopTimer(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private log(level: 'info' | 'warn', fields: object, message: string): void {
    this.options.log?.(level, fields, message);
  }
}
