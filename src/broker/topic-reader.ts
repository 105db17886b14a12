/**
 * Reads a topic from its start to its current end without joining a consumer group or committing
 * anything: what an operator tool needs to look into the dead-letter topic.
 */
import { KafkaConsumer, type Message } from 'node-rdkafka';
import type { RdKafkaConfig } from './client-config';
import { asError } from './producer';
import { toRecord, type IncomingRecord } from './consumer';

export interface RecordAddress {
  partition: number;
  offset: number;
}

export class TopicReader {
  private readonly consumer: KafkaConsumer;

  /**
   * `groupId`: under the backbone's ACLs, the agency's own consumer group, which its principal
   * may use (the reader assigns partitions itself and never joins the group or commits); a group
   * id the principal has no ACL for makes every read fail with "Group authorization failed".
   */
  constructor(config: RdKafkaConfig, groupId = `vdxp-reader-${process.pid}-${Date.now()}`) {
    this.consumer = new KafkaConsumer(
      { ...config, 'group.id': groupId, 'enable.auto.commit': false, 'enable.auto.offset.store': false, 'enable.partition.eof': true },
      { 'auto.offset.reset': 'earliest' },
    );
  }

  connect(timeoutMs = 15_000): Promise<void> {
    return new Promise((resolve, reject) => this.consumer.connect({ timeout: timeoutMs }, (err) => (err ? reject(asError(err)) : resolve())));
  }

  disconnect(): Promise<void> {
    return new Promise((resolve) => this.consumer.disconnect(() => resolve()));
  }

  async partitions(topic: string, timeoutMs = 10_000): Promise<number[]> {
    const metadata = await new Promise<{ topics: Array<{ name: string; partitions: Array<{ id: number }> }> }>((resolve, reject) =>
      this.consumer.getMetadata({ topic, timeout: timeoutMs }, (err, data) => (err ? reject(asError(err)) : resolve(data))),
    );
    const found = metadata.topics.find((t) => t.name === topic);
    // Under ACLs a topic the principal may not describe is left out of the metadata, as if it did not exist.
    if (!found || found.partitions.length === 0) throw new Error(`topic ${topic} does not exist or is not visible to this principal (no Describe or Read ACL)`);
    return found.partitions.map((p) => p.id).sort((a, b) => a - b);
  }

  private watermarks(topic: string, partition: number): Promise<{ low: number; high: number }> {
    return new Promise((resolve, reject) =>
      this.consumer.queryWatermarkOffsets(topic, partition, 10_000, (err, o) => (err ? reject(asError(err)) : resolve({ low: o.lowOffset, high: o.highOffset }))),
    );
  }

  /** Every record now in the topic, partition by partition, in offset order. */
  async readAll(topic: string): Promise<IncomingRecord[]> {
    const records: IncomingRecord[] = [];
    for (const partition of await this.partitions(topic)) {
      const { low, high } = await this.watermarks(topic, partition);
      if (high > low) records.push(...(await this.readRange(topic, partition, low, high)));
    }
    return records;
  }

  /** The record at one address, or undefined if there is none. */
  async readOne(topic: string, address: RecordAddress): Promise<IncomingRecord | undefined> {
    const { low, high } = await this.watermarks(topic, address.partition);
    if (address.offset < low || address.offset >= high) return undefined;
    const [record] = await this.readRange(topic, address.partition, address.offset, address.offset + 1);
    return record?.offset === address.offset ? record : undefined;
  }

  /** Records with offsets in [from, to). */
  private async readRange(topic: string, partition: number, from: number, to: number, timeoutMs = 30_000): Promise<IncomingRecord[]> {
    this.consumer.assign([{ topic, partition, offset: from }]);
    const records: IncomingRecord[] = [];
    const deadline = Date.now() + timeoutMs;
    try {
      while (Date.now() < deadline) {
        const batch = await new Promise<Message[]>((resolve, reject) => this.consumer.consume(100, (err, m) => (err ? reject(asError(err)) : resolve(m))));
        for (const m of batch) if (m.offset < to) records.push(toRecord(m));
        const last = batch.length > 0 ? batch[batch.length - 1]!.offset : -1;
        // Offsets may have gaps (transaction markers): the end is reached when nothing below `to` remains.
        if (last >= to - 1 || (records.length > 0 && records[records.length - 1]!.offset >= to - 1)) break;
        if (batch.length === 0 && (await this.watermarks(topic, partition)).high <= (records.at(-1)?.offset ?? from - 1) + 1) break;
      }
    } finally {
      this.consumer.unassign();
    }
    return records;
  }
}
