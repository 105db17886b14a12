/**
 * The replay guard every replica of an agency shares (src/connectors/replay-guard.ts), kept in
 * Kafka because the connector has no database (DESIGN.md §4 rule 5). The topic
 * `vdxp.requests.<OrganId>` has one partition, so it is one ordered log for all replicas:
 *
 *   claim    <key> {s: "claim", c: <claim id>, e: <window end>}      written once a request is authentic
 *   accepted <key> {s: "accepted", c: <claim id>, e: …}               written before its 202 goes out
 *   released <key> {s: "released", c: <claim id>, e: …}               refused or failed: may come again
 *
 * Every replica reads the log from (now − look-back) and applies it in order: a claim takes the
 * key only when no earlier claim holds it, so of two copies claimed at once on two replicas the
 * one with the lower offset wins, and both replicas agree. A replica decides on its own claim only
 * after it has read up to that claim's offset. The topic keeps records for a day (time-based
 * retention, hour segments); the look-back covers twice the ingest's skew window.
 */
import { randomUUID } from 'node:crypto';
import { AdminClient, CODES, KafkaConsumer, type Message } from 'node-rdkafka';
import type { RdKafkaConfig } from './client-config';
import { asError } from './producer';
import type { OutgoingRecord } from './producer';
import { sleep } from '../sleep';
import { REPLAY_ENTRY_GRACE_MS, type ReplayClaim, type ReplayGuard, type ReplayOutcome } from '../connectors/replay-guard';

export const LEDGER_RETENTION_MS = 24 * 60 * 60 * 1000;
const LEDGER_SEGMENT_MS = 60 * 60 * 1000;
const PRUNE_INTERVAL_MS = 60_000;

export interface LedgerProducer {
  send(record: OutgoingRecord): Promise<{ offset: number }>;
}

export interface RequestLedgerOptions {
  topic: string;
  /**
   * The agency's consumer group, which its principal may use (docs/SECURITY.md): the ledger's
   * reader only looks its coordinator up; it assigns the partition itself and never joins the
   * group or commits.
   */
  groupId: string;
  /** How far back the log is read at start: twice the skew window, plus a margin. */
  lookBackMs: number;
  /** How long a claim may wait for the reader to reach it before the request is answered 503. */
  waitTimeoutMs?: number;
  onError?: (error: Error) => void;
}

interface Entry {
  state: 'claimed' | 'accepted' | 'released';
  owner?: string;
  acceptedAt?: Date;
  expiresAtMs: number;
}

interface Waiter {
  offset: number;
  resolve: () => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

/** Creates the ledger topic with one partition and a day's retention; an existing one is left as it is. */
export async function ensureLedgerTopic(config: RdKafkaConfig, topic: string, replicationFactor: number, timeoutMs = 15_000): Promise<void> {
  const admin = AdminClient.create({ ...config });
  try {
    await new Promise<void>((resolve, reject) =>
      admin.createTopic(
        {
          topic,
          num_partitions: 1,
          replication_factor: replicationFactor,
          config: { 'cleanup.policy': 'delete', 'retention.ms': String(LEDGER_RETENTION_MS), 'segment.ms': String(LEDGER_SEGMENT_MS) },
        },
        timeoutMs,
        (err) => (!err || err.code === CODES.ERRORS.ERR_TOPIC_ALREADY_EXISTS ? resolve() : reject(new Error(`creating topic ${topic}: ${asError(err).message}`))),
      ),
    );
  } finally {
    admin.disconnect();
  }
}

export class RequestLedger implements ReplayGuard {
  private readonly consumer: KafkaConsumer;
  private readonly entries = new Map<string, Entry>();
  private readonly waiters = new Set<Waiter>();
  private readonly replicaId = randomUUID();
  private sequence = 0;
  /** The next offset the reader will apply. */
  private position = -1;
  private running = false;
  private loop: Promise<void> | undefined;
  private lastPrune = Date.now();
  /** The reader's last failure (e.g. not authorized to read the topic), cleared by the next good read. */
  lastError: string | undefined;

  constructor(
    config: RdKafkaConfig,
    private readonly producer: LedgerProducer,
    private readonly options: RequestLedgerOptions,
  ) {
    this.consumer = new KafkaConsumer(
      { ...config, 'group.id': options.groupId, 'enable.auto.commit': false, 'enable.auto.offset.store': false, 'enable.partition.eof': true, 'fetch.wait.max.ms': 100 },
      { 'auto.offset.reset': 'earliest' },
    );
    this.consumer.setDefaultConsumeTimeout(200);
  }

  /** Connects, checks the topic, and reads the look-back window before it resolves. */
  async start(timeoutMs = 15_000): Promise<void> {
    const { topic } = this.options;
    await new Promise<void>((resolve, reject) => this.consumer.connect({ timeout: timeoutMs }, (err) => (err ? reject(asError(err)) : resolve())));
    try {
      const metadata = await new Promise<{ topics: Array<{ name: string; partitions: unknown[] }> }>((resolve, reject) =>
        this.consumer.getMetadata({ topic, timeout: timeoutMs }, (err, data) => (err ? reject(asError(err)) : resolve(data))),
      );
      const partitions = metadata.topics.find((t) => t.name === topic)?.partitions.length ?? 0;
      if (partitions !== 1) throw new Error(`topic ${topic} has ${partitions} partitions; the request ledger needs exactly one (let the connector create it)`);
      const end = await new Promise<number>((resolve, reject) =>
        this.consumer.queryWatermarkOffsets(topic, 0, timeoutMs, (err, o) => (err ? reject(asError(err)) : resolve(o.highOffset))),
      );
      const [since] = await new Promise<Array<{ offset: number }>>((resolve, reject) =>
        this.consumer.offsetsForTimes([{ topic, partition: 0, offset: Date.now() - this.options.lookBackMs }], timeoutMs, (err, o) => (err ? reject(asError(err)) : resolve(o))),
      );
      this.position = since && since.offset >= 0 ? since.offset : end;
      this.consumer.assign([{ topic, partition: 0, offset: this.position }]);
      this.running = true;
      this.loop = this.read();
      if (end > this.position) await this.reach(end - 1, Math.max(timeoutMs, this.options.waitTimeoutMs ?? 10_000));
    } catch (err) {
      await this.stop();
      throw err;
    }
  }

  async claim(key: string, expiresAtMs: number): Promise<ReplayClaim> {
    if (!this.running) throw new Error('the request ledger is not running');
    const id = `${this.replicaId}:${++this.sequence}`;
    const { offset } = await this.write(key, { s: 'claim', c: id, e: expiresAtMs });
    await this.reach(offset, this.options.waitTimeoutMs ?? 10_000);
    const entry = this.entries.get(key);
    if (entry?.state === 'claimed' && entry.owner === id) return { verdict: 'first', settle: (outcome: ReplayOutcome) => this.write(key, { s: outcome, c: id, e: expiresAtMs }).then(() => undefined) };
    if (entry?.state === 'accepted') return { verdict: 'accepted', acceptedAt: entry.acceptedAt! };
    return { verdict: 'in-flight' };
  }

  private stopped: Promise<void> | undefined;

  stop(): Promise<void> {
    return (this.stopped ??= this.close());
  }

  private async close(): Promise<void> {
    this.running = false;
    await this.loop;
    for (const w of this.waiters) (clearTimeout(w.timer), w.reject(new Error('the request ledger stopped')));
    this.waiters.clear();
    if (this.consumer.isConnected()) await new Promise<void>((resolve) => this.consumer.disconnect(() => resolve()));
  }

  private async write(key: string, value: Record<string, unknown>): Promise<{ offset: number }> {
    const { offset } = await this.producer.send({ topic: this.options.topic, key, value: Buffer.from(JSON.stringify(value)), headers: {} });
    if (!(offset >= 0)) throw new Error(`the broker gave no offset for a record on ${this.options.topic}`);
    return { offset };
  }

  /** Resolves once every record up to `offset` has been applied. */
  private reach(offset: number, timeoutMs: number): Promise<void> {
    if (offset < this.position) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        offset,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.waiters.delete(waiter);
          reject(new Error(`the request ledger ${this.options.topic} was not read up to offset ${offset} within ${timeoutMs} ms${this.lastError ? `: ${this.lastError}` : ''}`));
        }, timeoutMs),
      };
      this.waiters.add(waiter);
    });
  }

  private async read(): Promise<void> {
    while (this.running) {
      let batch: Message[];
      try {
        batch = await new Promise<Message[]>((resolve, reject) => this.consumer.consume(500, (err, messages) => (err ? reject(asError(err)) : resolve(messages))));
        this.lastError = undefined;
      } catch (err) {
        this.lastError = asError(err).message;
        this.options.onError?.(asError(err));
        await sleep(500);
        continue;
      }
      for (const m of batch) {
        if (m.partition !== 0 || m.offset < this.position) continue;
        this.apply(m);
        this.position = m.offset + 1;
      }
      for (const w of this.waiters) {
        if (w.offset < this.position) (clearTimeout(w.timer), this.waiters.delete(w), w.resolve());
      }
      if (Date.now() - this.lastPrune > PRUNE_INTERVAL_MS) this.prune();
    }
  }

  private apply(m: Message): void {
    const key = m.key === undefined || m.key === null ? undefined : Buffer.isBuffer(m.key) ? m.key.toString('utf8') : String(m.key);
    if (!key || !m.value) return;
    let record: { s?: unknown; c?: unknown; e?: unknown };
    try {
      record = JSON.parse(m.value.toString('utf8')) as typeof record;
    } catch {
      return;
    }
    const claimId = typeof record.c === 'string' ? record.c : undefined;
    const entry = this.entries.get(key);
    if (record.s === 'claim' && claimId && typeof record.e === 'number') {
      if (!entry || entry.state === 'released') this.entries.set(key, { state: 'claimed', owner: claimId, expiresAtMs: record.e });
    } else if (record.s === 'accepted' && claimId && (!entry || entry.owner === claimId)) {
      // Without an entry the claim lies before the look-back: the accepted record alone decides.
      const expiresAtMs = entry?.expiresAtMs ?? (typeof record.e === 'number' ? record.e : Date.now());
      this.entries.set(key, { state: 'accepted', owner: claimId, acceptedAt: new Date(m.timestamp ?? Date.now()), expiresAtMs });
    } else if (record.s === 'released' && entry && entry.owner === claimId) {
      Object.assign(entry, { state: 'released', owner: undefined });
    }
  }

  private prune(): void {
    const now = (this.lastPrune = Date.now());
    for (const [key, entry] of this.entries) if (entry.expiresAtMs + REPLAY_ENTRY_GRACE_MS < now) this.entries.delete(key);
  }
}
