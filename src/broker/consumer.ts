/**
 * The backbone consumer: one group per agency (replicas share partitions), manual commits,
 * bounded concurrency. Records of one partition are worked on concurrently (up to maxInFlight
 * in all), but the committed offset only advances over a contiguous run of finished records
 * (DESIGN.md §4 rule 1), so a crash at any point means redelivery, never loss. The poll loop
 * never waits for a handler: when work is full or a sink's breaker is open it pauses the
 * partitions and keeps polling, so heartbeats and max.poll.interval.ms stay satisfied.
 */
import { KafkaConsumer, type Message, type TopicPartition } from 'node-rdkafka';
import type { RdKafkaConfig } from './client-config';
import { asError } from './producer';
import { PartitionProgress } from '../pipeline/delivery/partition-progress';
import { sleep } from '../sleep';
import { defaultRetryDelayMs, untilDone } from './until-done';

export interface IncomingRecord {
  topic: string;
  partition: number;
  offset: number;
  key: string | undefined;
  value: Buffer;
  headers: Record<string, string>;
  timestamp: number | undefined;
}

/**
 * Settles one record. Resolve = done (delivered or dead-lettered): it may be committed. Throw =
 * not done: the consumer tries again later. When `signal` aborts (shutdown, partition revoked),
 * give up quickly by throwing; the record stays uncommitted and is redelivered.
 */
export type RecordHandler = (record: IncomingRecord, signal: AbortSignal) => Promise<void>;

export interface ConsumerOptions {
  groupId: string;
  topics: string[];
  /** Records handed to handlers and not settled yet, over all partitions. */
  maxInFlight?: number;
  batchSize?: number;
  /** Asked on every poll: true pauses fetching (e.g. a sink's circuit breaker is open). */
  shouldPause?: () => boolean;
  /** Delay before a handler that threw is called again for the same record. */
  retryDelayMs?: (attempt: number) => number;
  onHandlerError?: (record: IncomingRecord, error: Error, attempt: number) => void;
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

const partitionKey = (topic: string, partition: number) => `${topic}/${partition}`;
const splitKey = (key: string) => {
  const cut = key.lastIndexOf('/');
  return { topic: key.slice(0, cut), partition: Number(key.slice(cut + 1)) };
};

export class BackboneConsumer {
  private readonly consumer: KafkaConsumer;
  private running = false;
  private loop: Promise<void> | undefined;
  private readonly progress = new Map<string, PartitionProgress>();
  private readonly work = new Set<Promise<void>>();
  private readonly abort = new AbortController();
  private paused = false;
  private lagTimer: NodeJS.Timeout | undefined;
  private commitTimer: NodeJS.Timeout | undefined;

  constructor(
    config: RdKafkaConfig,
    private readonly options: ConsumerOptions,
  ) {
    this.consumer = new KafkaConsumer(
      {
        // librdkafka's prefetch queue is memory too: keep it small, the work bound is maxInFlight.
        'queued.max.messages.kbytes': 16_384,
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

  get inFlight(): number {
    return this.work.size;
  }

  /** Subscribe and process records until stop(). */
  start(handler: RecordHandler): void {
    this.consumer.setDefaultConsumeTimeout(100);
    this.consumer.subscribe(this.options.topics);
    this.running = true;
    this.loop = this.pollLoop(handler);
    if (this.options.onLag) this.lagTimer = setInterval(() => this.reportLag(), this.options.lagIntervalMs ?? 15_000);
  }

  private async pollLoop(handler: RecordHandler): Promise<void> {
    const maxInFlight = this.options.maxInFlight ?? 64;
    const batchSize = this.options.batchSize ?? 16;
    let fullSince: number | undefined;
    while (this.running) {
      const full = this.work.size >= maxInFlight;
      const held = this.options.shouldPause?.() ?? false;
      fullSince = full ? (fullSince ?? Date.now()) : undefined;
      const longFull = fullSince !== undefined && Date.now() - fullSince >= FULL_BEFORE_PAUSE_MS;
      if (full && !held && !longFull) {
        // Work is at its limit: wait for a slot. What librdkafka prefetched stays in its bounded
        // queue (queued.max.messages.kbytes) and is taken the moment a slot frees.
        await Promise.race([...this.work, sleep(100)]);
        continue;
      }
      // A sink is down, or work stayed full for long: pause fetching but keep polling, so
      // heartbeats, rebalances and max.poll.interval.ms are served.
      this.setPaused(held || longFull, held ? 'a sink is unavailable (circuit breaker open)' : 'in-flight work stayed at its limit');
      let messages: Message[];
      try {
        messages = await this.consume(Math.max(1, Math.min(batchSize, maxInFlight - this.work.size)));
      } catch (err) {
        this.options.onConsumeError?.(asError(err));
        await sleep(500);
        continue;
      }
      for (const message of messages) this.dispatch(toRecord(message), handler);
    }
  }

  private dispatch(record: IncomingRecord, handler: RecordHandler): void {
    const key = partitionKey(record.topic, record.partition);
    let tracker = this.progress.get(key);
    if (!tracker) this.progress.set(key, (tracker = new PartitionProgress()));
    tracker.started(record.offset);
    const owner = tracker;
    const job = this.handleUntilDone(record, handler).then((done) => {
      if (!done) return; // aborted: stays uncommitted, redelivered after restart or rebalance
      owner.finished(record.offset);
      if (this.progress.get(key) === owner) this.scheduleCommit();
    });
    this.work.add(job);
    void job.finally(() => this.work.delete(job));
  }

  /** Resolves true once the handler settled the record, false if aborted before that. */
  private handleUntilDone(record: IncomingRecord, handler: RecordHandler): Promise<boolean> {
    const signal = this.abort.signal;
    return untilDone(() => handler(record, signal), signal, this.options.retryDelayMs ?? defaultRetryDelayMs, (err, attempt) =>
      this.options.onHandlerError?.(record, asError(err), attempt),
    );
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
        if (this.cooperative()) this.consumer.incrementalAssign(assignment);
        else this.consumer.assign(assignment);
        // librdkafka keeps a partition's pause flag across unassign/assign: set it to ours explicitly,
        // or a partition paused before a rebalance (e.g. a broker restart) would never be fetched again.
        if (assignment.length > 0) {
          if (this.paused) this.consumer.pause(assignment);
          else this.consumer.resume(assignment);
        }
      } else if (err?.code === -174 /* ERR__REVOKE_PARTITIONS */) {
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
    this.running = false;
    if (this.lagTimer) clearInterval(this.lagTimer);
    await this.loop;
    let abandoned = 0;
    if (this.work.size > 0) {
      const drained = await Promise.race([Promise.allSettled([...this.work]).then(() => true), sleep(drainTimeoutMs).then(() => false)]);
      if (!drained) {
        abandoned = this.work.size;
        this.abort.abort();
        await Promise.race([Promise.allSettled([...this.work]), sleep(2_000)]);
      }
    }
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
  const headers: Record<string, string> = {};
  for (const h of m.headers ?? []) {
    for (const [k, v] of Object.entries(h)) headers[k] = Buffer.isBuffer(v) ? v.toString('utf8') : String(v);
  }
  return {
    topic: m.topic,
    partition: m.partition,
    offset: m.offset,
    key: m.key === undefined || m.key === null ? undefined : Buffer.isBuffer(m.key) ? m.key.toString('utf8') : String(m.key),
    value: m.value ?? Buffer.alloc(0),
    headers,
    timestamp: m.timestamp,
  };
}
