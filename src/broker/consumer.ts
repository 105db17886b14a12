/**
 * The backbone consumer: one group per agency (replicas share partitions), manual commits,
 * bounded concurrency. Records of one partition are worked on concurrently (up to maxInFlight
 * in all), but the committed offset only advances over a contiguous run of finished records
 * (DESIGN.md §4 rule 1), so a crash at any point means redelivery, never loss. The poll loop
 * never waits for a handler: when work is full or a sink's breaker is open it pauses the
 * partitions and keeps polling, so heartbeats and max.poll.interval.ms stay satisfied.
 *
 * Every record has a budget (issue 14, docs/DELIVERY.md "The budget of a record"): failed
 * attempts and active time. A record that spends it is handed to onExhausted (the pipeline
 * dead-letters it); if even that fails, onSkipped records it and the commit moves past it.
 */
import { KafkaConsumer, type Message, type TopicPartition } from 'node-rdkafka';
import type { RdKafkaConfig } from './client-config';
import { asError } from './producer';
import { PartitionProgress } from '../pipeline/delivery/partition-progress';
import { sleep } from '../sleep';
import { attemptWithinBudget, BudgetExhausted, DEFAULT_MAX_ATTEMPTS, defaultRetryDelayMs } from './record-budget';
import { readHeaders, type RecordHeader } from './record-metadata';
import { SenderQueues } from './sender-queues';
import { HEADERS } from './topics';

export interface IncomingRecord {
  topic: string;
  partition: number;
  offset: number;
  /** The key as UTF-8 text. */
  key: string | undefined;
  /** The key's bytes as they arrived (records made in code may leave it out). */
  keyBytes?: Buffer;
  value: Buffer;
  /** Name → value (UTF-8); the last of duplicate names wins. */
  headers: Record<string, string>;
  /** Every header as it arrived: order, duplicates and bytes (records made in code may leave it out). */
  rawHeaders?: RecordHeader[];
  timestamp: number | undefined;
}

/**
 * What a handler may tell the consumer about its record while it works on it. A record parked
 * waits for later records (chunk 0 of a package waits for its other chunks): it gives its
 * in-flight slot back and its time does not count, because what bounds it is the chunk
 * assembler's own budget (open packages, their total age). Its offset stays unfinished.
 */
export interface RecordControl {
  park(): void;
  unpark(): void;
}

/**
 * Settles one record. Resolve = done (delivered or dead-lettered): it may be committed. Throw =
 * not done: the consumer tries again later, within the record's budget. When `signal` aborts
 * (shutdown, the record's time budget spent), give up quickly by throwing.
 */
export type RecordHandler = (record: IncomingRecord, signal: AbortSignal, control: RecordControl) => Promise<void>;

/** Why a record was given up. */
export interface RecordFailure {
  budget: 'attempts' | 'time';
  attempts: number;
  activeMs: number;
  error: Error | undefined;
}

export interface RecordBudgetOptions {
  /** Failed attempts before the record is given up (transient backbone failures do not count). */
  maxAttempts: number;
  /** Time the record may be worked on, not counting time while consumption is held (shouldPause) or the record is parked. */
  maxRecordMs: number;
}

/** What the consumer reports about its own health (readiness, metrics). */
export interface ConsumerHealth {
  inFlight: number;
  maxInFlight: number;
  parked: number;
  /** Records fetched and waiting for a slot. */
  waiting: number;
  /** How long in-flight work has been at its limit without a break, in ms (0 when it is not). */
  saturatedMs: number;
  /** Records in flight that failed at least once, worst first. */
  failing: Array<{ topic: string; partition: number; offset: number; attempts: number }>;
}

export interface ConsumerOptions {
  groupId: string;
  topics: string[];
  /** Records handed to handlers and not settled yet, over all partitions. */
  maxInFlight?: number;
  /**
   * Records fetched and waiting for a slot, at most (default maxInFlight) and their bytes (default
   * 16 MiB): the lookahead within which a sender's record may start before another sender's that
   * arrived earlier (src/broker/sender-queues.ts).
   */
  maxWaitingRecords?: number;
  maxWaitingBytes?: number;
  batchSize?: number;
  /** Asked on every poll: true pauses fetching (e.g. a sink's circuit breaker is open). */
  shouldPause?: () => boolean;
  /** Delay before a handler that threw is called again for the same record. */
  retryDelayMs?: (attempt: number) => number;
  /** Default: 10 attempts, 30 minutes. */
  budget?: RecordBudgetOptions;
  /** A failure of the backbone itself: waited out (consumption should pause: shouldPause), never counted. */
  isTransient?: (error: unknown) => boolean;
  /** The record spent its budget: dead-letter it. Tried a few times; transient failures are waited out. */
  onExhausted?: (record: IncomingRecord, failure: RecordFailure) => Promise<void>;
  /** Not even onExhausted succeeded: the consumer commits past the record; record it (log line, metric). */
  onSkipped?: (record: IncomingRecord, failure: RecordFailure, error: Error) => void;
  /** `transient`: a backbone failure, not counted as an attempt. */
  onHandlerError?: (record: IncomingRecord, error: Error, attempt: number, transient?: boolean) => void;
  onConsumeError?: (error: Error) => void;
  onPauseChange?: (paused: boolean, why: string) => void;
  onRebalance?: (event: 'assigned' | 'revoked', partitions: Array<{ topic: string; partition: number }>) => void;
  onLag?: (topic: string, partition: number, lag: number | undefined) => void;
  lagIntervalMs?: number;
}

/** How long in-flight work may stay full before fetching pauses (well under max.poll.interval.ms). */
const FULL_BEFORE_PAUSE_MS = 30_000;

/**
 * Finished work is committed at most this often, every moved partition in one request: each
 * commit is a write the broker makes durable, and one per record cost the broker more than the
 * record itself (`npm run bench`, CPU per document). A crash redelivers at most this much more.
 */
const COMMIT_INTERVAL_MS = 100;

/** Attempts onExhausted gets (transient backbone failures are waited out besides). */
const EXHAUSTED_ATTEMPTS = 3;

const partitionKey = (topic: string, partition: number) => `${topic}/${partition}`;

/** One record being worked on. */
interface Running {
  record: IncomingRecord;
  sender: string;
  /** Aborts the handler: shutdown, or the record's time budget spent. */
  controller: AbortController;
  /** Aborted on shutdown only: stop trying, leave the record uncommitted. */
  halt: AbortController;
  attempts: number;
  activeMs: number;
  parked: boolean;
  timedOut: boolean;
}
const splitKey = (key: string) => {
  const cut = key.lastIndexOf('/');
  return { topic: key.slice(0, cut), partition: Number(key.slice(cut + 1)) };
};

export class BackboneConsumer {
  private readonly consumer: KafkaConsumer;
  private polling = false;
  private loop: Promise<void> | undefined;
  private readonly progress = new Map<string, PartitionProgress>();
  private readonly work = new Set<Promise<void>>();
  private readonly running = new Set<Running>();
  private readonly waiting = new SenderQueues<IncomingRecord>((r) => r.headers[HEADERS.fromOrganId] || '(unnamed)');
  private handler: RecordHandler | undefined;
  private readonly abort = new AbortController();
  private readonly budget: RecordBudgetOptions;
  /** Records in flight and not parked: what maxInFlight bounds. */
  private slots = 0;
  private slotFreed: () => void = () => undefined;
  private fullSince: number | undefined;
  private paused = false;
  private lagTimer: NodeJS.Timeout | undefined;
  private commitTimer: NodeJS.Timeout | undefined;
  private budgetTimer: NodeJS.Timeout | undefined;
  private lastBudgetTick = 0;

  constructor(
    config: RdKafkaConfig,
    private readonly options: ConsumerOptions,
  ) {
    this.budget = options.budget ?? { maxAttempts: DEFAULT_MAX_ATTEMPTS, maxRecordMs: 30 * 60_000 };
    this.consumer = new KafkaConsumer(
      {
        // librdkafka's prefetch queue is memory too: keep it small, the work bound is maxInFlight.
        'queued.max.messages.kbytes': 16_384,
        // A subscribed topic that is missing at subscribe time (the backbone operator creates it a
        // moment later) is only assigned after the next metadata refresh: 15 s, not librdkafka's 5 min.
        'topic.metadata.refresh.interval.ms': 15_000,
        ...config,
        'group.id': options.groupId,
        'enable.auto.commit': false,
        'enable.auto.offset.store': false,
        'session.timeout.ms': 10_000,
        'heartbeat.interval.ms': 1_000,
        'max.poll.interval.ms': 300_000,
        // A batch otherwise waits the consume timeout for each further record: at a trickle of
        // 50 docs/s a record sat ~300 ms. At a partition's end librdkafka then returns what it has.
        'enable.partition.eof': true,
        // Range balances each topic on its own, so replicas share the docs topic itself (the sticky
        // assignors balance only the partition count, and may leave all docs partitions on one replica).
        'partition.assignment.strategy': 'range',
        rebalance_cb: (err: { code: number } | undefined, assignment: TopicPartition[]) => this.onRebalance(err, assignment),
      },
      { 'auto.offset.reset': 'earliest' },
    );
  }

  connect(timeoutMs = 15_000): Promise<void> {
    return new Promise((resolve, reject) => {
      this.consumer.connect({ timeout: timeoutMs }, (err) => (err ? reject(asError(err)) : resolve()));
    });
  }

  /** Resolves true once this member owns at least one partition, false after timeoutMs. */
  async waitForAssignment(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.consumer.assignments().length > 0) return true;
      await sleep(50);
    }
    return false;
  }

  /** Records in flight that hold a slot (parked ones do not). */
  get inFlight(): number {
    return this.slots;
  }

  health(): ConsumerHealth {
    const failing = [...this.running]
      .filter((r) => r.attempts > 0)
      .sort((a, b) => b.attempts - a.attempts)
      .map(({ record, attempts }) => ({ topic: record.topic, partition: record.partition, offset: record.offset, attempts }));
    return {
      inFlight: this.slots,
      maxInFlight: this.maxInFlight,
      parked: [...this.running].filter((r) => r.parked).length,
      waiting: this.waiting.size,
      saturatedMs: this.fullSince === undefined ? 0 : Date.now() - this.fullSince,
      failing,
    };
  }

  private get maxInFlight(): number {
    return this.options.maxInFlight ?? 64;
  }

  /** Subscribe and process records until stop(). */
  start(handler: RecordHandler): void {
    this.consumer.setDefaultConsumeTimeout(100);
    this.consumer.subscribe(this.options.topics);
    this.polling = true;
    this.handler = handler;
    this.loop = this.pollLoop();
    if (this.options.onLag) this.lagTimer = setInterval(() => this.reportLag(), this.options.lagIntervalMs ?? 15_000);
    this.lastBudgetTick = Date.now();
    this.budgetTimer = setInterval(() => this.chargeTime(), Math.max(10, Math.min(1_000, Math.floor(this.budget.maxRecordMs / 10))));
    this.budgetTimer.unref();
  }

  private async pollLoop(): Promise<void> {
    const batchSize = this.options.batchSize ?? 16;
    const maxWaiting = this.options.maxWaitingRecords ?? this.maxInFlight;
    const maxWaitingBytes = this.options.maxWaitingBytes ?? 16 * 1024 * 1024;
    while (this.polling) {
      this.startWaiting();
      const full = this.slots >= this.maxInFlight;
      const room = this.waiting.bytes >= maxWaitingBytes ? 0 : maxWaiting - this.waiting.size;
      const held = this.options.shouldPause?.() ?? false;
      this.fullSince = full ? (this.fullSince ?? Date.now()) : undefined;
      const longFull = this.fullSince !== undefined && Date.now() - this.fullSince >= FULL_BEFORE_PAUSE_MS;
      if (full && room <= 0 && !held && !longFull) {
        // Work and the lookahead are at their limits: wait for a slot. What librdkafka prefetched
        // stays in its bounded queue (queued.max.messages.kbytes) and is taken once there is room.
        await Promise.race([new Promise<void>((resolve) => (this.slotFreed = resolve)), sleep(100)]);
        continue;
      }
      // A sink is down, or work stayed full for long: pause fetching but keep polling, so
      // heartbeats, rebalances and max.poll.interval.ms are served.
      this.setPaused(held || longFull, held ? 'a sink or the backbone is unavailable' : 'in-flight work stayed at its limit');
      let messages: Message[];
      try {
        messages = await this.consume(Math.max(1, Math.min(batchSize, room + Math.max(0, this.maxInFlight - this.slots))));
      } catch (err) {
        this.options.onConsumeError?.(asError(err));
        await sleep(500);
        continue;
      }
      for (const message of messages) this.enqueue(toRecord(message));
    }
  }

  /** A fetched record: unfinished from now on (the commit stays at or below it), waiting for a slot. */
  private enqueue(record: IncomingRecord): void {
    const key = partitionKey(record.topic, record.partition);
    let tracker = this.progress.get(key);
    if (!tracker) this.progress.set(key, (tracker = new PartitionProgress()));
    tracker.started(record.offset);
    this.waiting.push(record);
  }

  /** Starts waiting records, fairly between senders, while slots are free. */
  private startWaiting(): void {
    const handler = this.handler;
    if (!handler || !this.polling) return;
    while (this.slots < this.maxInFlight) {
      const next = this.waiting.next();
      if (!next) return;
      this.dispatch(next.item, next.sender, handler);
    }
  }

  private dispatch(record: IncomingRecord, sender: string, handler: RecordHandler): void {
    const key = partitionKey(record.topic, record.partition);
    const owner = this.progress.get(key);
    const run: Running = { record, sender, controller: new AbortController(), halt: new AbortController(), attempts: 0, activeMs: 0, parked: false, timedOut: false };
    this.running.add(run);
    this.slots += 1;
    const job = this.settle(run, handler).then((done) => {
      if (!done || !owner) return; // aborted: stays uncommitted, redelivered after restart or rebalance
      owner.finished(record.offset);
      if (this.progress.get(key) === owner) this.scheduleCommit();
    });
    this.work.add(job);
    void job.finally(() => {
      this.work.delete(job);
      this.running.delete(run);
      this.waiting.finished(run.sender);
      if (!run.parked) this.releaseSlot();
    });
  }

  private releaseSlot(): void {
    this.slots -= 1;
    this.slotFreed();
    // Not synchronously: a handler that parks is still in its own call, and the next record's
    // handler must not run inside it (chunk k would reach the assembler before chunk 0 settled in).
    queueMicrotask(() => this.startWaiting());
  }

  /**
   * Resolves true once the record may be committed: the handler settled it, or it spent its budget
   * and was dead-lettered (or, failing even that, skipped); false if shutdown abandoned it first.
   */
  private async settle(run: Running, handler: RecordHandler): Promise<boolean> {
    const control: RecordControl = {
      park: () => {
        if (run.parked || !this.running.has(run)) return;
        run.parked = true;
        this.releaseSlot();
        if (!this.polling) this.abandon(run); // draining: nothing will be fetched for it any more
      },
      unpark: () => {
        if (!run.parked || !this.running.has(run)) return;
        run.parked = false;
        this.slots += 1;
      },
    };
    const timeSpent = () => new Error(`more than ${this.budget.maxRecordMs} ms of work on it`);
    const outcome = await attemptWithinBudget(
      async () => {
        if (run.timedOut) throw new BudgetExhausted('time', run.attempts, timeSpent());
        try {
          await handler(run.record, run.controller.signal, control);
        } catch (err) {
          if (run.timedOut && !run.halt.signal.aborted) throw new BudgetExhausted('time', run.attempts, err);
          throw err;
        }
      },
      run.halt.signal,
      { maxAttempts: this.budget.maxAttempts, retryDelayMs: this.options.retryDelayMs ?? defaultRetryDelayMs, isTransient: this.options.isTransient },
      (err, attempt, transient) => {
        if (!transient) run.attempts = attempt;
        this.options.onHandlerError?.(run.record, asError(err), attempt, transient);
      },
    );
    if (outcome.kind === 'done') return true;
    if (outcome.kind === 'aborted') return false;
    const failure: RecordFailure = {
      budget: run.timedOut ? 'time' : 'attempts',
      attempts: outcome.attempts,
      activeMs: run.activeMs,
      error: outcome.error === undefined ? undefined : asError(outcome.error),
    };
    return this.giveUp(run.record, failure);
  }

  /** Stops work on a record for good (shutdown): it stays uncommitted and is redelivered. */
  private abandon(run: Running): void {
    run.halt.abort();
    run.controller.abort();
  }

  /** Dead-letters a record that spent its budget; if that fails too, records it and commits past it. */
  private async giveUp(record: IncomingRecord, failure: RecordFailure): Promise<boolean> {
    const onExhausted = this.options.onExhausted;
    if (onExhausted) {
      const outcome = await attemptWithinBudget(
        () => onExhausted(record, failure),
        this.abort.signal,
        { maxAttempts: EXHAUSTED_ATTEMPTS, retryDelayMs: this.options.retryDelayMs ?? defaultRetryDelayMs, isTransient: this.options.isTransient },
        (err, attempt, transient) => this.options.onHandlerError?.(record, asError(err), attempt, transient),
      );
      if (outcome.kind === 'done') return true;
      if (outcome.kind === 'aborted') return false;
      this.options.onSkipped?.(record, failure, asError(outcome.error));
      return true;
    }
    this.options.onSkipped?.(record, failure, failure.error ?? new Error('no dead-letter handler'));
    return true;
  }

  /** Charges elapsed time to every record at work (not parked) while consumption is not held. */
  private chargeTime(): void {
    const now = Date.now();
    const elapsed = now - this.lastBudgetTick;
    this.lastBudgetTick = now;
    if (this.options.shouldPause?.() ?? false) return;
    for (const run of this.running) {
      if (run.parked || run.timedOut) continue;
      run.activeMs += elapsed;
      if (run.activeMs >= this.budget.maxRecordMs) {
        run.timedOut = true;
        run.controller.abort();
      }
    }
  }

  private setPaused(pause: boolean, why: string): void {
    if (pause === this.paused) return;
    const assigned = this.consumer.assignments();
    try {
      if (pause) this.consumer.pause(assigned);
      else this.consumer.resume(assigned);
      this.paused = pause;
      this.options.onPauseChange?.(pause, why);
    } catch (err) {
      this.options.onConsumeError?.(asError(err));
    }
  }

  private onRebalance(err: { code: number } | undefined, assignment: TopicPartition[]): void {
    this.options.onRebalance?.(err?.code === -175 ? 'assigned' : 'revoked', assignment.map((tp) => ({ topic: tp.topic, partition: tp.partition })));
    try {
      if (err?.code === -175 /* ERR__ASSIGN_PARTITIONS */) {
        for (const tp of assignment) this.progress.delete(partitionKey(tp.topic, tp.partition));
        this.dropWaiting(assignment);
        if (this.cooperative()) this.consumer.incrementalAssign(assignment);
        else this.consumer.assign(assignment);
        // librdkafka keeps a partition's pause flag across unassign/assign: set it to ours explicitly,
        // or a partition paused before a rebalance (e.g. a broker restart) would never be fetched again.
        if (assignment.length > 0) {
          if (this.paused) this.consumer.pause(assignment);
          else this.consumer.resume(assignment);
        }
      } else if (err?.code === -174 /* ERR__REVOKE_PARTITIONS */) {
        // Fetched and not started: the new owner reads them again from the committed offset.
        this.dropWaiting(assignment);
        // Commit what is finished before the partition moves; records still in flight are redone by the new owner.
        const offsets = [];
        for (const tp of assignment) {
          const key = partitionKey(tp.topic, tp.partition);
          const position = this.progress.get(key)?.commitPosition();
          if (position !== undefined) offsets.push({ topic: tp.topic, partition: tp.partition, offset: position });
          this.progress.delete(key);
          this.options.onLag?.(tp.topic, tp.partition, undefined);
        }
        if (offsets.length > 0) {
          try {
            this.consumer.commitSync(offsets);
          } catch {
            // The group moved on already: the new owner redelivers, harmlessly.
          }
        }
        if (this.cooperative()) this.consumer.incrementalUnassign(assignment);
        else this.consumer.unassign();
      }
    } catch (e) {
      this.options.onConsumeError?.(asError(e));
    }
  }

  private dropWaiting(partitions: TopicPartition[]): void {
    const gone = new Set(partitions.map((tp) => partitionKey(tp.topic, tp.partition)));
    this.waiting.remove((r) => gone.has(partitionKey(r.topic, r.partition)));
  }

  private cooperative(): boolean {
    return this.consumer.rebalanceProtocol() === 'COOPERATIVE';
  }

  private scheduleCommit(): void {
    this.commitTimer ??= setTimeout(() => {
      this.commitTimer = undefined;
      this.commitMoved();
    }, COMMIT_INTERVAL_MS);
  }

  /** Commits, in one request, every partition whose contiguous finished run moved. */
  private commitMoved(): void {
    const moved = [...this.progress.entries()].flatMap(([key, tracker]) => {
      const offset = tracker.commitCandidate();
      return offset === undefined ? [] : [{ ...splitKey(key), offset, tracker }];
    });
    if (moved.length === 0) return;
    try {
      this.consumer.commit(moved.map(({ topic, partition, offset }) => ({ topic, partition, offset })));
      for (const { tracker, offset } of moved) tracker.markCommitted(offset);
    } catch {
      // Not connected right now: committed with the next finished record or at stop; at worst a redelivery.
    }
  }

  private reportLag(): void {
    for (const tp of this.consumer.assignments()) {
      const tracker = this.progress.get(partitionKey(tp.topic, tp.partition));
      this.consumer.queryWatermarkOffsets(tp.topic, tp.partition, 5_000, (err, offsets) => {
        if (err || !offsets) return;
        const position = tracker?.commitPosition() ?? offsets.lowOffset;
        this.options.onLag?.(tp.topic, tp.partition, Math.max(0, offsets.highOffset - position));
      });
    }
  }

  private consume(n: number): Promise<Message[]> {
    return new Promise((resolve, reject) => {
      this.consumer.consume(n, (err, messages) => (err ? reject(err) : resolve(messages)));
    });
  }

  /**
   * Stop fetching, give the records in flight up to drainTimeoutMs to settle, abandon the rest
   * (they stay uncommitted and are redelivered), commit every contiguous finished run, leave the group.
   */
  async stop(drainTimeoutMs = 25_000): Promise<{ abandoned: number }> {
    this.polling = false;
    if (this.lagTimer) clearInterval(this.lagTimer);
    await this.loop;
    // Fetched and never started: they stay unfinished, so the commit stays at or below them.
    this.waiting.remove(() => true);
    // A parked record waits for records that will not be fetched any more: it stays uncommitted.
    for (const run of this.running) if (run.parked) this.abandon(run);
    let abandoned = 0;
    if (this.work.size > 0) {
      const drained = await Promise.race([Promise.allSettled([...this.work]).then(() => true), sleep(drainTimeoutMs).then(() => false)]);
      if (!drained) {
        abandoned = this.work.size;
        this.abort.abort();
        for (const run of this.running) this.abandon(run);
        await Promise.race([Promise.allSettled([...this.work]), sleep(2_000)]);
      }
    }
    clearInterval(this.budgetTimer);
    // Periodic commits went on while the work drained; the synchronous one below takes over.
    clearTimeout(this.commitTimer);
    const offsets = [...this.progress.entries()].flatMap(([key, tracker]) => {
      const position = tracker.commitPosition();
      return position === undefined ? [] : [{ ...splitKey(key), offset: position }];
    });
    if (offsets.length > 0) {
      try {
        this.consumer.commitSync(offsets);
      } catch {
        // Already committed asynchronously, or the group moved on: redelivery is harmless.
      }
    }
    await new Promise<void>((resolve) => this.consumer.disconnect(() => resolve()));
    return { abandoned };
  }
}

export function toRecord(m: Message): IncomingRecord {
  const { raw, view } = readHeaders(m.headers);
  const keyBytes = m.key === undefined || m.key === null ? undefined : Buffer.isBuffer(m.key) ? m.key : Buffer.from(String(m.key), 'utf8');
  return {
    topic: m.topic,
    partition: m.partition,
    offset: m.offset,
    key: keyBytes?.toString('utf8'),
    keyBytes,
    value: m.value ?? Buffer.alloc(0),
    headers: view,
    rawHeaders: raw,
    timestamp: m.timestamp === undefined || m.timestamp < 0 ? undefined : m.timestamp,
  };
}
