/**
 * Reads every partition of a topic from its first offset and keeps following it, without a
 * consumer group or commits: each replica (and each CLI run) reads the whole topic for itself.
 * What the trail's read model is rebuilt from (src/trail/follower.ts).
 */
import { KafkaConsumer, type Message } from 'node-rdkafka';
import type { RdKafkaConfig } from './client-config';
import { asError } from './producer';
import { toRecord, type IncomingRecord } from './consumer';
import { sleep } from '../sleep';

export interface FollowerOptions {
  topic: string;
  /** Called with each batch, in offset order per partition. */
  onRecords: (records: IncomingRecord[]) => void;
  onError?: (err: Error) => void;
  batchSize?: number;
  /** Under ACLs, the agency's own group id (agencyGroupId): a group the principal has no ACL for is refused. */
  groupId?: string;
  /**
   * The most record bytes fetched and queued at once, for a topic of large records (chunks of
   * 900 KiB): by default up to 64 MiB per fetch and per partition queue, which suits small ones.
   */
  maxBufferedBytes?: number;
}

export interface PartitionBounds {
  partition: number;
  /** The log start offset: records before it were removed by retention or deleteRecords. */
  low: number;
  high: number;
}

export class TopicFollower {
  private readonly consumer: KafkaConsumer;
  private running = false;
  private loop: Promise<void> | undefined;
  private readonly positions = new Map<number, number>();
  private partitionIds: number[] = [];

  constructor(
    config: RdKafkaConfig,
    private readonly options: FollowerOptions,
  ) {
    this.consumer = new KafkaConsumer(
      {
        // A rebuild reads the whole topic: fetch in large batches (one 1 MB fetch per round trip
        // read the bench's trail at a third of the speed).
        'queued.min.messages': 100_000,
        'fetch.wait.max.ms': 100,
        'fetch.message.max.bytes': 16 * 1024 * 1024,
        'fetch.max.bytes': 64 * 1024 * 1024,
        ...(options.maxBufferedBytes ? boundedBuffers(options.maxBufferedBytes) : {}),
        ...config,
        'group.id': options.groupId ?? `vdxp-follower-${process.pid}-${Date.now()}`,
        'enable.auto.commit': false,
        'enable.auto.offset.store': false,
      },
      { 'auto.offset.reset': 'earliest' },
    );
  }

  async start(timeoutMs = 15_000): Promise<void> {
    await new Promise<void>((resolve, reject) => this.consumer.connect({ timeout: timeoutMs }, (err) => (err ? reject(asError(err)) : resolve())));
    this.partitionIds = await this.partitions(timeoutMs);
    this.consumer.assign(this.partitionIds.map((partition) => ({ topic: this.options.topic, partition, offset: 0 })));
    this.consumer.setDefaultConsumeTimeout(200);
    this.running = true;
    this.loop = this.pollLoop();
  }

  /** Low and high watermarks of every partition, now. */
  async bounds(timeoutMs = 10_000): Promise<PartitionBounds[]> {
    return Promise.all(
      this.partitionIds.map(
        (partition) =>
          new Promise<PartitionBounds>((resolve, reject) =>
            this.consumer.queryWatermarkOffsets(this.options.topic, partition, timeoutMs, (err, o) => (err ? reject(asError(err)) : resolve({ partition, low: o.lowOffset, high: o.highOffset }))),
          ),
      ),
    );
  }

  /** Resolves true once every record that was in the topic when called has been handed over. */
  async caughtUp(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    const target = await this.bounds();
    while (Date.now() < deadline) {
      if (target.every((b) => b.high <= b.low || (this.positions.get(b.partition) ?? b.low) >= b.high)) return true;
      if (!this.running) return false;
      await sleep(20);
    }
    return false;
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
    await new Promise<void>((resolve) => this.consumer.disconnect(() => resolve()));
  }

  private async pollLoop(): Promise<void> {
    const batchSize = this.options.batchSize ?? 2_000;
    while (this.running) {
      let messages: Message[];
      try {
        messages = await new Promise<Message[]>((resolve, reject) => this.consumer.consume(batchSize, (err, m) => (err ? reject(err) : resolve(m))));
      } catch (err) {
        this.options.onError?.(asError(err));
        await sleep(500);
        continue;
      }
      if (messages.length === 0) continue;
      const records = messages.map(toRecord);
      for (const r of records) this.positions.set(r.partition, r.offset + 1);
      try {
        this.options.onRecords(records);
      } catch (err) {
        this.options.onError?.(asError(err));
      }
    }
  }

  private async partitions(timeoutMs: number): Promise<number[]> {
    const metadata = await new Promise<{ topics: Array<{ name: string; partitions: Array<{ id: number }> }> }>((resolve, reject) =>
      this.consumer.getMetadata({ topic: this.options.topic, timeout: timeoutMs }, (err, data) => (err ? reject(asError(err)) : resolve(data))),
    );
    const found = metadata.topics.find((t) => t.name === this.options.topic);
    if (!found || found.partitions.length === 0) throw new Error(`topic ${this.options.topic} does not exist`);
    return found.partitions.map((p) => p.id).sort((a, b) => a - b);
  }
}

/** librdkafka settings that keep a follower's fetched and queued records under `bytes` per partition. */
function boundedBuffers(bytes: number): Record<string, number> {
  return {
    'fetch.max.bytes': bytes,
    'fetch.message.max.bytes': Math.min(bytes, 1024 * 1024),
    'queued.max.messages.kbytes': Math.max(1, Math.floor(bytes / 1024)),
    'queued.min.messages': 16,
  };
}
