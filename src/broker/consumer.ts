/**
 * The backbone consumer: one group per agency (replicas share partitions), manual commits.
 * A record's offset is committed only after its handler resolved, i.e. after the legacy system
 * confirmed delivery or the package was dead-lettered (DESIGN.md §4 rule 1).
 */
import { KafkaConsumer, type Message } from 'node-rdkafka';
import type { RdKafkaConfig } from './client-config';
import { asError } from './producer';

export interface IncomingRecord {
  topic: string;
  partition: number;
  offset: number;
  key: string | undefined;
  value: Buffer;
  headers: Record<string, string>;
  timestamp: number | undefined;
}

export type RecordHandler = (record: IncomingRecord) => Promise<void>;

export interface ConsumerOptions {
  groupId: string;
  topics: string[];
  batchSize?: number;
  /** Called when a handler throws: the record is retried after this many ms (never skipped). */
  retryDelayMs?: (attempt: number) => number;
  onHandlerError?: (record: IncomingRecord, error: Error, attempt: number) => void;
  onConsumeError?: (error: Error) => void;
}

export class BackboneConsumer {
  private readonly consumer: KafkaConsumer;
  private running = false;
  private loop: Promise<void> | undefined;
  private readonly committed = new Map<string, { topic: string; partition: number; offset: number }>();

  constructor(
    config: RdKafkaConfig,
    private readonly options: ConsumerOptions,
  ) {
    this.consumer = new KafkaConsumer(
      {
        ...config,
        'group.id': options.groupId,
        'enable.auto.commit': false,
        'enable.auto.offset.store': false,
        'session.timeout.ms': 10_000,
        'heartbeat.interval.ms': 1_000,
        'partition.assignment.strategy': 'cooperative-sticky',
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

  /** Subscribe and process records in order until stop(). */
  start(handler: RecordHandler): void {
    this.consumer.subscribe(this.options.topics);
    this.running = true;
    this.loop = this.pollLoop(handler);
  }

  private async pollLoop(handler: RecordHandler): Promise<void> {
    const batchSize = this.options.batchSize ?? 16;
    while (this.running) {
      let messages: Message[];
      try {
        messages = await this.consume(batchSize);
      } catch (err) {
        this.options.onConsumeError?.(asError(err));
        await sleep(500);
        continue;
      }
      for (const message of messages) {
        if (!this.running) return;
        if (!(await this.handleUntilDone(toRecord(message), handler))) return;
      }
    }
  }

  /** Resolves true once the record is handled and committed, false if stopped before that. */
  private async handleUntilDone(record: IncomingRecord, handler: RecordHandler): Promise<boolean> {
    for (let attempt = 1; this.running; attempt++) {
      try {
        await handler(record);
        this.commit(record);
        return true;
      } catch (err) {
        this.options.onHandlerError?.(record, asError(err), attempt);
        await sleep(this.options.retryDelayMs?.(attempt) ?? Math.min(30_000, 250 * 2 ** attempt));
      }
    }
    return false;
  }

  private commit(record: IncomingRecord): void {
    const next = { topic: record.topic, partition: record.partition, offset: record.offset + 1 };
    this.committed.set(`${record.topic}/${record.partition}`, next);
    try {
      this.consumer.commit(next);
    } catch {
      // Committed again on the next record or at stop; a lost commit only means a harmless redelivery.
    }
  }

  private consume(n: number): Promise<Message[]> {
    return new Promise((resolve, reject) => {
      this.consumer.consume(n, (err, messages) => (err ? reject(err) : resolve(messages)));
    });
  }

  /** Stop polling, let the record in hand finish, commit synchronously and leave the group. */
  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
    const offsets = [...this.committed.values()];
    if (offsets.length > 0) {
      try {
        this.consumer.commitSync(offsets);
      } catch {
        // Already committed asynchronously, or the group moved on: redelivery is harmless.
      }
    }
    await new Promise<void>((resolve) => this.consumer.disconnect(() => resolve()));
  }
}

function toRecord(m: Message): IncomingRecord {
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

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
