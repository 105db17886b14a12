/**
 * The reference for the end-to-end rows: the same package bytes produced to and consumed from the
 * same broker with no processing at all, through the connector's own Kafka clients and settings
 * (idempotent acks=all producer, manual-commit consumer), closed loop with the same backlog.
 */
import { commonClientConfig } from '../src/broker/client-config';
import { ensureTopics } from '../src/broker/admin';
import { BackboneProducer } from '../src/broker/producer';
import { BackboneConsumer } from '../src/broker/consumer';
import { sleep } from './stats';

export interface RawPipe {
  /** Keeps `backlog` records in flight for `seconds`; arrivals after `warmupSeconds` count. */
  saturate(seconds: number, warmupSeconds: number, backlog: number): Promise<{ docsPerSecond: number; latenciesMs: number[] }>;
  /** `rate` records a second on a fixed schedule for `seconds`; latency of each. */
  steady(rate: number, seconds: number): Promise<{ latenciesMs: number[]; missing: number }>;
  /** Times the raw consumer lost its partitions (a group session that expired under load). */
  readonly revocations: number;
  close(): Promise<void>;
}

export async function openRawPipe(brokers: string, value: Buffer): Promise<RawPipe> {
  const tag = Date.now().toString(36);
  const topic = `bench.raw.${tag}`;
  const config = commonClientConfig({ brokers: [brokers] }, `vdxp-bench-raw-${tag}`);
  await ensureTopics(config, [topic], { partitions: 3, replicationFactor: 1 });
  const producer = new BackboneProducer(config);
  await producer.connect();
  const sentAt = new Map<string, number>();
  let arrivals: Array<{ sentAt: number; arrivedAt: number }> = [];
  let revocations = 0;
  const consumer = new BackboneConsumer(config, {
    groupId: `bench.raw.${tag}`,
    topics: [topic],
    onRebalance: (event) => {
      if (event === 'revoked') revocations++;
    },
  });
  await consumer.connect();
  consumer.start(async (record) => {
    const at = record.key === undefined ? undefined : sentAt.get(record.key);
    if (at === undefined) return;
    sentAt.delete(record.key!);
    arrivals.push({ sentAt: at, arrivedAt: performance.now() });
  });
  let serial = 0;
  const send = () => {
    const key = `raw-${++serial}`;
    sentAt.set(key, performance.now());
    producer.send({ topic, key, value, headers: { 'vdxp-kind': 'edoc' } }).catch(() => sentAt.delete(key));
  };
  // The group joins asynchronously: wait until a record makes the round trip before timing anything.
  send();
  const deadline = performance.now() + 30_000;
  while (arrivals.length === 0) {
    if (performance.now() > deadline) throw new Error('raw Kafka pipe: nothing consumed within 30 s');
    await sleep(20);
  }

  return {
    get revocations() {
      return revocations;
    },
    async saturate(seconds, warmupSeconds, backlog) {
      arrivals = [];
      const start = performance.now();
      const end = start + seconds * 1000;
      const windowStart = start + warmupSeconds * 1000;
      while (performance.now() < end) {
        while (sentAt.size < backlog) send();
        await sleep(1);
      }
      const counted = arrivals.filter((a) => a.arrivedAt >= windowStart && a.arrivedAt <= end);
      await drain(sentAt, 30_000);
      return { docsPerSecond: counted.length / ((end - windowStart) / 1000), latenciesMs: counted.map((a) => a.arrivedAt - a.sentAt) };
    },
    async steady(rate, seconds) {
      arrivals = [];
      const start = performance.now();
      const total = Math.round(rate * seconds);
      for (let i = 0; i < total; i++) {
        const wait = start + (i * 1000) / rate - performance.now();
        if (wait > 0) await sleep(wait);
        send();
      }
      const missing = await drain(sentAt, 30_000);
      return { latenciesMs: arrivals.map((a) => a.arrivedAt - a.sentAt), missing };
    },
    async close() {
      await consumer.stop();
      await producer.disconnect();
    },
  };
}

async function drain(pending: Map<string, number>, timeoutMs: number): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  while (pending.size > 0 && performance.now() < deadline) await sleep(20);
  return pending.size;
}
