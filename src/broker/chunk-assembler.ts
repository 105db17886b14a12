/**
 * The receiving half of chunked packages: wraps a package handler into the consumer's
 * RecordHandler and reassembles chunks into a spool file, with at most the chunks waiting to be
 * written in memory.
 *
 * Chunk 0's handler call is the assembly's anchor: it resolves only once the whole package was
 * handled (or refused, superseded, expired, revoked). Until then chunk 0's offset is unfinished,
 * so the consumer's contiguous-commit rule keeps the committed offset at or below it and a crash
 * or restart begins again at chunk 0: nothing lost, nothing half-committed (DESIGN.md §4 rule 1).
 *
 * Whatever arrives is a partner's input (issue 14, docs/SECURITY.md "A partner on the backbone"),
 * so an open package is bounded on every side: it parks chunk 0 (no in-flight slot of the
 * consumer is held while chunks are awaited), at most maxOpenPackages are open, at most
 * maxOpenPackagesPerSender of one sender; its chunks must add up to its declared length in
 * chunks of one size; its declared length is reserved in the scratch budget before anything is
 * written; and it is refused when its last chunk has not arrived maxPackageAgeMs after chunk 0.
 */
import { Rejection } from '../errors';
import type { IncomingRecord, RecordControl, RecordHandler } from './consumer';
import { aborted, assemblyId, newAssembly, packageOf, recordFields, senderOf, type Assembly, type AssemblyFields, type PackageHandler } from './chunk-assembly';
import { parseChunkHeader, type ChunkPosition } from './chunk-format';
import { SpoolFile } from './chunk-spool';
import { attemptWithinBudget, BudgetExhausted, DEFAULT_MAX_ATTEMPTS, defaultRetryDelayMs, type AttemptOutcome } from './record-budget';
import { ScratchBudget, scratchWriteRejection } from './scratch-budget';
import { HEADERS } from './topics';
import { DEFAULT_LIMITS } from '../limits';

export type { IncomingPackage, PackageHandler } from './chunk-assembly';

export type ChunkLog = (level: 'info' | 'warn', fields: object, message: string) => void;

export interface ChunkAssemblerOptions {
  /** Where packages are reassembled; created with mode 0700. Must be writable (an emptyDir under a read-only root). */
  spoolDir: string;
  maxPackageBytes: number;
  /** Default: a budget of limits.maxScratchBytes (per sender limits.maxScratchBytesPerSender) over spoolDir. */
  scratch?: ScratchBudget;
  maxOpenPackages?: number;
  maxOpenPackagesPerSender?: number;
  /** A package whose last chunk has not arrived this long after chunk 0 (while consuming) is refused as incomplete. */
  maxPackageAgeMs?: number;
  maxChunksPerPackage?: number;
  /** True while consumption is held (a sink's breaker is open): that time does not count towards a package's age. */
  isPaused?: () => boolean;
  /** Dead-letters a package that cannot be reassembled; called with its first chunk's record. */
  onBroken: (first: IncomingRecord, rejection: Rejection) => Promise<void>;
  log?: ChunkLog;
  /** Delay before a package handler or onBroken that threw is tried again. */
  retryDelayMs?: (attempt: number) => number;
  /** Failed attempts of the package handler or onBroken before the package is given up (limits.maxRecordAttempts). */
  maxAttempts?: number;
  /** A failure of the backbone itself: waited out, not counted. */
  isTransient?: (error: unknown) => boolean;
}

/** A refused package whose remaining chunks are dropped without a word. */
interface Marker {
  count: number;
  topic: string;
  partition: number;
  ageMs: number;
}

const SHA256_HEX = /^[0-9a-f]{64}$/;
/** Refused packages remembered so that their chunks are dropped quietly; beyond this the oldest is forgotten (its chunks are then logged as orphans). */
const MAX_MARKERS = 4096;

export class ChunkAssembler {
  /** Assemblies still waiting for chunks, by topic, partition, key and content hash. */
  private readonly receiving = new Map<string, Assembly>();
  private readonly ignoring = new Map<string, Marker>();
  private readonly live = new Set<Assembly>();
  private readonly discards = new Set<Promise<void>>();
  private readonly scratch: ScratchBudget;
  private readonly maxOpen: number;
  private readonly maxOpenPerSender: number;
  private readonly maxAgeMs: number;
  private readonly maxChunks: number;
  private readonly retryDelayMs: (attempt: number) => number;
  private timer: NodeJS.Timeout | undefined;
  private lastTick = 0;

  constructor(private readonly options: ChunkAssemblerOptions) {
    this.scratch =
      options.scratch ??
      new ScratchBudget({ dir: options.spoolDir, maxBytes: DEFAULT_LIMITS.maxScratchBytes, maxBytesPerSender: DEFAULT_LIMITS.maxScratchBytesPerSender });
    this.maxOpen = options.maxOpenPackages ?? DEFAULT_LIMITS.maxOpenPackages;
    this.maxOpenPerSender = options.maxOpenPackagesPerSender ?? DEFAULT_LIMITS.maxOpenPackagesPerSender;
    this.maxAgeMs = options.maxPackageAgeMs ?? DEFAULT_LIMITS.maxPackageAgeMs;
    this.maxChunks = options.maxChunksPerPackage ?? DEFAULT_LIMITS.maxChunksPerPackage;
    this.retryDelayMs = options.retryDelayMs ?? defaultRetryDelayMs;
  }

  /** Packages being reassembled now, and of how many senders. */
  openPackages(): { packages: number; senders: number } {
    return { packages: this.receiving.size, senders: new Set([...this.receiving.values()].map((a) => a.sender)).size };
  }

  /**
   * The consumer calls handlers in offset order and each call below claims its place in its
   * assembly before its first await, so appends stay in order although the calls run concurrently.
   * A chunk's call throws only when the signal aborts: a chunk is never called again out of order.
   */
  wrap(handler: PackageHandler): RecordHandler {
    return (record, signal, control) => {
      const header = record.headers[HEADERS.chunk];
      if (header === undefined) return handler(record, signal);
      const position = parseChunkHeader(header);
      if (!position) return this.report(record, new Rejection('invalid-chunks', `header ${HEADERS.chunk} is "${header.slice(0, 40)}", not <index>/<count>`), signal);
      return position.index === 0 ? this.begin(record, position.count, handler, signal, control) : this.add(record, position);
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
    for (const [id, m] of this.ignoring) if (gone.has(`${m.topic}\0${m.partition}`)) this.ignoring.delete(id);
  }

  /** Ends every assembly (chunk 0 calls still open reject, so nothing more is committed) and deletes their spool files. */
  async close(): Promise<void> {
    this.stopTimer();
    for (const a of [...this.live]) this.end(a, new Error('chunk assembler closed'));
    this.ignoring.clear();
    await Promise.all([...this.discards]);
  }

  private begin(record: IncomingRecord, count: number, handler: PackageHandler, signal: AbortSignal, control: RecordControl): Promise<void> {
    const id = assemblyId(record);
    const previous = this.receiving.get(id);
    if (previous) {
      this.log('info', recordFields(previous.first), 'a new chunk 0 of the same package supersedes its unfinished assembly (the sender sent it again)');
      this.end(previous, 'done');
    }
    this.ignoring.delete(id);
    const fields = this.admit(record, count);
    if (fields instanceof Rejection) {
      this.ignore(id, record, count);
      return this.report(record, fields, signal);
    }
    const spool = new SpoolFile({ dir: this.scratch.dir });
    const a = newAssembly({ ...fields, id, first: record, handler, signal, control, count, spool });
    this.receiving.set(a.id, a);
    this.live.add(a);
    this.startTimer();
    void this.accept(a, record.value, 0);
    // Chunk 0 now waits for chunks that come after it: it gives its in-flight slot back.
    control.park();
    return a.anchor;
  }

  /** The checks a chunk 0 passes before its package opens, and its scratch reservation; or why it is refused. */
  private admit(record: IncomingRecord, count: number): Omit<AssemblyFields, 'id' | 'first' | 'handler' | 'signal' | 'control' | 'count' | 'spool'> | Rejection {
    const declared = record.headers[HEADERS.packageBytes] ?? '';
    const sha256 = record.headers[HEADERS.contentSha256] ?? '';
    if (!/^\d{1,15}$/.test(declared) || !SHA256_HEX.test(sha256)) {
      return new Rejection('invalid-chunks', `chunk 0 of ${count} lacks a valid ${HEADERS.packageBytes} or ${HEADERS.contentSha256} header`);
    }
    const declaredBytes = Number(declared);
    const chunkBytes = record.value.length;
    if (count > this.maxChunks) return new Rejection('limit-exceeded', `chunk 0 declares ${count} chunks, more than ${this.maxChunks}`, 'limits.maxChunksPerPackage');
    if (declaredBytes > this.options.maxPackageBytes) {
      return new Rejection('limit-exceeded', `package of ${declaredBytes} bytes (in ${count} chunks) is over the limit of ${this.options.maxPackageBytes} bytes`, 'limits.maxPackageBytes');
    }
    if (chunkBytes === 0 || declaredBytes === 0) return new Rejection('invalid-chunks', `chunk 0 of ${count} has ${chunkBytes} bytes of a declared ${declaredBytes}: a chunk is never empty`);
    if (Math.ceil(declaredBytes / chunkBytes) !== count) {
      return new Rejection('invalid-chunks', `${declaredBytes} bytes in chunks of ${chunkBytes} make ${Math.ceil(declaredBytes / chunkBytes)} chunks, not the ${count} declared`);
    }
    const sender = senderOf(record);
    if (this.receiving.size >= this.maxOpen) {
      return new Rejection('limit-exceeded', `${this.receiving.size} chunked packages are being reassembled already, the most allowed`, 'limits.maxOpenPackages');
    }
    const ofSender = [...this.receiving.values()].filter((a) => a.sender === sender).length;
    if (ofSender >= this.maxOpenPerSender) {
      return new Rejection('limit-exceeded', `${ofSender} chunked packages from ${sender} are being reassembled already, the most allowed for one sender`, 'limits.maxOpenPackagesPerSender');
    }
    try {
      return { sender, declaredBytes, chunkBytes, sha256, reservation: this.scratch.reserve(sender, declaredBytes) };
    } catch (err) {
      if (err instanceof Rejection) return err;
      return scratchWriteRejection(err, 'checking the scratch disk');
    }
  }

  /** Chunk k > 0: appended under chunk 0's signal. */
  private add(record: IncomingRecord, position: ChunkPosition): Promise<void> {
    const id = assemblyId(record);
    const marker = this.ignoring.get(id);
    if (marker && position.count === marker.count) {
      if (position.index === marker.count - 1) this.ignoring.delete(id);
      return Promise.resolve();
    }
    const a = this.receiving.get(id);
    if (!a || position.index !== a.next || position.count !== a.count) {
      // Safe to drop: its package cannot complete here, and nothing is lost by finishing this
      // offset. An unfinished package always has an unfinished chunk 0 below it, so the committed
      // offset stays at or before that chunk 0 and a restart reads this chunk again after it.
      // Orphans are chunks of a superseded, refused, expired or abandoned attempt.
      this.log('warn', { ...recordFields(record), expected: a ? `${a.next}/${a.count}` : 'no assembly' }, 'chunk that fits no assembly skipped');
      return Promise.resolve();
    }
    const expected = position.index < a.count - 1 ? a.chunkBytes : a.declaredBytes - (a.count - 1) * a.chunkBytes;
    if (record.value.length !== expected) {
      this.refuse(a, new Rejection('invalid-chunks', `chunk ${position.index} of ${a.count} has ${record.value.length} bytes, not ${expected} (chunks of ${a.chunkBytes} bytes making ${a.declaredBytes})`));
      return Promise.resolve();
    }
    return this.accept(a, record.value, position.index);
  }

  /** Queues chunk `index` of `a`; resolves once its bytes are written (or the package was refused). After the last one, delivers. */
  private accept(a: Assembly, bytes: Buffer, index: number): Promise<void> {
    a.next = index + 1;
    const last = a.next === a.count;
    if (last) this.receiving.delete(a.id);
    return a.spool!.append(bytes).then(
      () => {
        a.reservation.written(bytes.length);
        if (last && !a.ended) void this.deliver(a).catch((err) => this.log('warn', { ...recordFields(a.first), err: String(err) }, 'delivery of a reassembled package failed'));
      },
      (err: unknown) => {
        if (!a.ended) this.refuse(a, scratchWriteRejection(err, `writing chunk ${index} of ${a.count} to ${a.spool?.path ?? 'the scratch disk'}`));
      },
    );
  }

  private async deliver(a: Assembly): Promise<void> {
    const spool = a.spool;
    if (!spool || a.ended) return; // ended meanwhile (closed, refused)
    // The package is whole: from here its work is the consumer's like any record's (slot, time budget).
    a.control.unpark();
    const digest = spool.digest();
    if (spool.length !== a.declaredBytes || digest !== a.sha256) {
      const detail = `reassembled ${spool.length} bytes with SHA-256 ${digest}; the sender declared ${a.declaredBytes} bytes with ${a.sha256}`;
      return this.refuseAndEnd(a, new Rejection('incomplete-package', detail));
    }
    const pkg = packageOf(a, { path: spool.path, length: spool.length });
    this.end(a, settlement(await this.attempt(a.first, a.signal, () => a.handler(pkg, a.signal))));
  }

  private async refuseAndEnd(a: Assembly, rejection: Rejection): Promise<void> {
    a.ended = true;
    this.end(a, settlement(await this.attempt(a.first, a.signal, () => this.broken(a.first, rejection))));
  }

  /** Refuses an open package at once and drops the rest of its chunks; chunk 0 resolves once onBroken did. */
  private refuse(a: Assembly, rejection: Rejection): void {
    if (a.ended) return;
    a.ended = true;
    if (this.receiving.get(a.id) === a) {
      this.receiving.delete(a.id);
      this.ignore(a.id, a.first, a.count);
    }
    this.dropSpool(a);
    void this.attempt(a.first, a.signal, () => this.broken(a.first, rejection)).then((outcome) => {
      a.settle(settlement(outcome));
      this.live.delete(a);
    });
  }

  /** A chunk 0 refused before its package opened (or a chunk that cannot be read): resolves once onBroken did. */
  private async report(record: IncomingRecord, rejection: Rejection, signal: AbortSignal): Promise<void> {
    const outcome = await this.attempt(record, signal, () => this.broken(record, rejection));
    const settled = settlement(outcome);
    if (settled !== 'done') throw settled;
  }

  private ignore(id: string, record: IncomingRecord, count: number): void {
    if (count <= 1) return;
    this.ignoring.delete(id);
    this.ignoring.set(id, { count, topic: record.topic, partition: record.partition, ageMs: 0 });
    if (this.ignoring.size > MAX_MARKERS) this.ignoring.delete(this.ignoring.keys().next().value!);
    this.startTimer();
  }

  private broken(first: IncomingRecord, rejection: Rejection): Promise<void> {
    this.log('warn', { ...recordFields(first), reason: rejection.reason, limit: rejection.limit, detail: rejection.detail }, 'chunked package refused');
    return this.options.onBroken(first, rejection);
  }

  /** The consumer's budget rule (record-budget.ts) for work the assembler does on a package's behalf. */
  private attempt(record: IncomingRecord, signal: AbortSignal, work: () => Promise<void>): Promise<AttemptOutcome> {
    const policy = { maxAttempts: this.options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS, retryDelayMs: this.retryDelayMs, isTransient: this.options.isTransient };
    return attemptWithinBudget(work, signal, policy, (err, attempt, transient) =>
      this.log('warn', { ...recordFields(record), attempt, transient, err: String(err) }, 'chunked package not done; retrying'),
    );
  }

  /** Settles chunk 0's call and deletes the spool file; the assembly takes no more chunks. */
  private end(a: Assembly, outcome: 'done' | Error): void {
    a.ended = true;
    if (this.receiving.get(a.id) === a) this.receiving.delete(a.id);
    this.live.delete(a);
    a.settle(outcome);
    this.dropSpool(a);
  }

  private dropSpool(a: Assembly): void {
    a.reservation.release();
    const spool = a.spool;
    if (!spool) return;
    a.spool = undefined;
    const discard = spool.discard().catch((err) => this.log('warn', { path: spool.path, err: String(err) }, 'spool file not deleted'));
    this.discards.add(discard);
    void discard.finally(() => this.discards.delete(discard));
  }

  /** Ages every open package (and refused-package marker), except while consumption is held by a breaker. */
  private tick(): void {
    const now = Date.now();
    const elapsed = now - this.lastTick;
    this.lastTick = now;
    const counting = !(this.options.isPaused?.() ?? false);
    for (const a of [...this.receiving.values()]) {
      if (counting) a.ageMs += elapsed;
      if (a.ageMs < this.maxAgeMs) continue;
      const detail = `chunks ${a.next}..${a.count - 1} of ${a.count} did not arrive within ${this.maxAgeMs} ms of chunk 0 (while consuming)`;
      this.refuse(a, new Rejection('incomplete-package', detail, 'limits.maxPackageAgeMs'));
    }
    for (const [id, m] of this.ignoring) {
      if (counting) m.ageMs += elapsed;
      if (m.ageMs >= this.maxAgeMs) this.ignoring.delete(id);
    }
    if (this.receiving.size === 0 && this.ignoring.size === 0) this.stopTimer();
  }

  private startTimer(): void {
    if (this.timer) return;
    this.lastTick = Date.now();
    this.timer = setInterval(() => this.tick(), Math.min(5_000, Math.max(10, Math.floor(this.maxAgeMs / 10))));
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

/** How chunk 0's call settles after work done for its package. */
function settlement(outcome: AttemptOutcome): 'done' | Error {
  if (outcome.kind === 'done') return 'done';
  if (outcome.kind === 'aborted') return aborted();
  return new BudgetExhausted('attempts', outcome.attempts, outcome.error);
}
