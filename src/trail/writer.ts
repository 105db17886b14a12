/**
 * Writes this process's chain of trail records to `vdxp.trail.<OrganId>` (one partition).
 *
 * - `record()` resolves when Kafka acknowledged the record (acks=all, idempotent producer). The
 *   pipeline awaits it before it settles a source item or lets an offset be committed, so a
 *   crash before the acknowledgement leaves the item or record to be done again — and its trail
 *   records to be written again (docs/TRAIL.md, "never a delivery without its record").
 * - A failed write is retried with the same bytes (same seq, same prev) until it succeeds or the
 *   writer is abandoned at shutdown: `vdxp trail verify` orders a chain by seq, not by offset, and
 *   counts an identical record written twice as a harmless duplicate.
 * - Seq and prev are assigned synchronously in call order, so one process never forks its chain.
 */
import * as os from 'node:os';
import { randomBytes } from 'node:crypto';
import { trailTopic } from '../broker/topics';
import type { OutgoingRecord } from '../broker/producer';
import type { Logger } from '../observability/log';
import { sleep } from '../sleep';
import { HashChain } from './chain';
import { documentIdOf, type ChainHead, type TrailStep } from './record';

export interface TrailProducer {
  send(record: OutgoingRecord): Promise<unknown>;
}

export interface TrailWriterOptions {
  organId: string;
  producer: TrailProducer;
  /** Who writes: `connector` (vdxp run), `dlq-replay`… shown by verify. */
  role: string;
  log?: Logger;
  now?: () => Date;
  /** Heads of the chains in the trail (from the read model): vouched for at open and in checkpoints. */
  heads?: () => Array<ChainHead & { at?: number }>;
  /** How often a live writer vouches for the other chains' new heads (0: never). */
  checkpointIntervalMs?: number;
  retryDelayMs?: (attempt: number) => number;
  version?: string;
}

/** Longest string kept in a record: records stay far below Kafka's message limit. */
const MAX_STRING = 2_000;
/** Heads named in a chain opening: the most recently active chains. */
const MAX_OPENING_HEADS = 100;

export class TrailAbandoned extends Error {}

export class TrailWriter {
  readonly chainId = `${os.hostname()}/${process.pid}/${randomBytes(4).toString('hex')}`;
  readonly topic: string;
  private readonly chain: HashChain;
  private readonly pending = new Set<Promise<void>>();
  private readonly abort = new AbortController();
  private readonly vouched = new Map<string, number>();
  private checkpointTimer: NodeJS.Timeout | undefined;
  private closing = false;

  constructor(private readonly options: TrailWriterOptions) {
    this.topic = trailTopic(options.organId);
    this.chain = new HashChain(this.chainId, options.organId);
  }

  /** Starts the chain with the heads of the others, and the periodic checkpoints. */
  async open(): Promise<void> {
    const heads = this.otherHeads()
      .sort((a, b) => (b.at ?? 0) - (a.at ?? 0))
      .slice(0, MAX_OPENING_HEADS);
    for (const h of heads) this.vouched.set(h.chain, h.seq);
    await this.record({
      step: 'chain-opened',
      writer: { host: os.hostname(), pid: process.pid, version: this.options.version ?? 'unknown', role: this.options.role },
      heads: heads.map(({ chain, seq, hash }) => ({ chain, seq, hash })),
    });
    const every = this.options.checkpointIntervalMs ?? 0;
    if (every > 0) {
      this.checkpointTimer = setInterval(() => void this.checkpoint().catch(() => undefined), every);
      this.checkpointTimer.unref();
    }
  }

  /** Appends one step; resolves once Kafka holds it. Rejects only with TrailAbandoned (shutdown). */
  record(step: TrailStep, at?: Date): Promise<void> {
    if (this.abort.signal.aborted) return Promise.reject(new TrailAbandoned('the trail writer was stopped'));
    const chained = this.chain.append(bounded(step), at ?? this.options.now?.() ?? new Date());
    const key = documentIdOf(step) ?? this.chainId;
    const write = this.writeUntilDone({ topic: this.topic, key, value: chained.bytes, headers: {} });
    this.pending.add(write);
    void write.finally(() => this.pending.delete(write)).catch(() => undefined);
    return write;
  }

  /** Several steps, in this order, all acknowledged. */
  recordAll(steps: Array<{ step: TrailStep; at?: Date }>): Promise<void> {
    return Promise.all(steps.map((s) => this.record(s.step, s.at))).then(() => undefined);
  }

  /** Vouches for the other chains' heads that moved since the last time. */
  async checkpoint(): Promise<void> {
    if (this.closing) return;
    const moved = this.otherHeads().filter((h) => (this.vouched.get(h.chain) ?? -1) < h.seq);
    if (moved.length === 0) return;
    for (const h of moved) this.vouched.set(h.chain, h.seq);
    await this.record({ step: 'checkpoint', heads: moved.map(({ chain, seq, hash }) => ({ chain, seq, hash })) });
  }

  /**
   * Waits up to `timeoutMs` for the records in flight, then closes the chain cleanly. Records still
   * unacknowledged then are abandoned, and the chain stays open (as after a crash): their
   * deliveries were not committed either and are done again, with their records, by another writer.
   */
  async close(timeoutMs = 10_000): Promise<{ abandoned: number }> {
    this.closing = true;
    clearInterval(this.checkpointTimer);
    const settled = await within(Promise.allSettled([...this.pending]).then(() => true), timeoutMs);
    if (settled) {
      const closed = this.record({ step: 'chain-closed' });
      if (await within(closed.then(() => true, () => false), timeoutMs)) return { abandoned: 0 };
    }
    const abandoned = this.pending.size;
    this.abort.abort();
    await Promise.allSettled([...this.pending]);
    return { abandoned };
  }

  private otherHeads(): Array<ChainHead & { at?: number }> {
    return (this.options.heads?.() ?? []).filter((h) => h.chain !== this.chainId);
  }

  private async writeUntilDone(record: OutgoingRecord): Promise<void> {
    const signal = this.abort.signal;
    for (let attempt = 1; ; attempt++) {
      if (signal.aborted) throw new TrailAbandoned('the trail writer was stopped before Kafka acknowledged the record');
      try {
        await this.options.producer.send(record);
        return;
      } catch (err) {
        this.options.log?.warn({ step: 'trail', attempt, err: (err as Error).message }, 'trail record not acknowledged; retrying');
        try {
          await sleep(this.options.retryDelayMs?.(attempt) ?? Math.min(5_000, 200 * 2 ** Math.min(attempt, 5)), signal);
        } catch {
          // aborted: the loop ends above
        }
      }
    }
  }
}

/** The promise's value, or false after `ms` (the timer does not outlive the race). */
async function within(promise: Promise<boolean>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The step with every string cut to MAX_STRING characters. */
function bounded<T>(value: T): T {
  if (typeof value === 'string') return (value.length > MAX_STRING ? value.slice(0, MAX_STRING) : value) as T;
  if (Array.isArray(value)) return value.map(bounded) as T;
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, bounded(v)])) as T;
  return value;
}
