/**
 * The VXP connector's mailbox in Kafka (docs/VXP.md "The pull side"): what waits for the agency's
 * legacy system to fetch it with getReceivedEdocList → getEdoc → updateStatus. No local state:
 *
 *   vdxp.vxp.inbox.<OrganId>          each package delivered to the legacy system's mailbox, key
 *                                     = its VXP DocId, chunked like vdxp.docs.* when large;
 *                                     retention unlimited (a package stays until it is confirmed
 *                                     and an operator prunes the topic)
 *   vdxp.vxp.confirmations.<OrganId>  compacted: DocId → {"status":"done"|"fail","at":…}
 *
 * Every replica follows both topics from the start and keeps an index (DocId → partition, offset,
 * chunk count, bytes, sender): a few hundred bytes per waiting package, never its content. The
 * list is that index minus what is confirmed; getEdoc streams the chunks from Kafka. A DocId seen
 * twice (a redelivery) keeps its first address, so each package is listed once.
 */
import { KafkaConsumer, type Message } from 'node-rdkafka';
import type { RdKafkaConfig } from './client-config';
import { asError, type OutgoingRecord } from './producer';
import { toRecord, type IncomingRecord } from './consumer';
import { TopicFollower } from './topic-follower';
import { parseChunkHeader } from './chunk-format';
import { ensureTopics } from './admin';
import { HEADERS } from './topics';
import { sleep } from '../sleep';

export const vxpInboxTopic = (organId: string) => `vdxp.vxp.inbox.${organId}`;
export const vxpConfirmationsTopic = (organId: string) => `vdxp.vxp.confirmations.${organId}`;
/** Header on inbox records: the recipients' OrganIds as the package names them, comma-separated. */
export const VXP_TO_HEADER = 'vdxp-vxp-to';
export const VXP_DOCID_HEADER = 'vdxp-vxp-docid';

export type VxpKind = 'edoc' | 'status';

/** Per partition, what the index rebuild fetches and queues of the inbox at once. */
const INBOX_BUFFERED_BYTES = 4 * 1024 * 1024;

export interface MailboxEntry {
  docId: string;
  kind: VxpKind;
  from: string;
  to: string;
  documentId: string;
  partition: number;
  offset: number;
  chunks: number;
  bytes: number;
  createdAt: Date;
}

export interface Confirmation {
  status: 'done' | 'fail';
  at: string;
}

export async function ensureMailboxTopics(config: RdKafkaConfig, organId: string, settings: { partitions: number; replicationFactor: number }): Promise<void> {
  await ensureTopics(config, [vxpInboxTopic(organId)], { ...settings, config: { 'retention.ms': '-1', 'cleanup.policy': 'delete' } });
  await ensureTopics(config, [vxpConfirmationsTopic(organId)], { ...settings, config: { 'cleanup.policy': 'compact' } });
}

export interface MailboxOptions {
  organId: string;
  groupId: string;
  onError?: (err: Error) => void;
}

export class VxpMailbox {
  private readonly entries = new Map<string, MailboxEntry>();
  private readonly confirmed = new Map<string, Confirmation>();
  private readonly inbox: TopicFollower;
  private readonly confirmations: TopicFollower;

  constructor(
    private readonly config: RdKafkaConfig,
    private readonly producer: { send(record: OutgoingRecord): Promise<unknown> },
    private readonly options: MailboxOptions,
  ) {
    // The inbox holds whole packages (900 KiB chunks) but only their headers are indexed: fetch it in
    // small buffers, so that rebuilding the index of a mailbox full of 200 MB scans stays small too.
    this.inbox = new TopicFollower(config, {
      topic: vxpInboxTopic(options.organId),
      groupId: options.groupId,
      onRecords: (r) => this.indexPackages(r),
      onError: options.onError,
      maxBufferedBytes: INBOX_BUFFERED_BYTES,
      batchSize: 16,
    });
    this.confirmations = new TopicFollower(config, { topic: vxpConfirmationsTopic(options.organId), groupId: options.groupId, onRecords: (r) => this.indexConfirmations(r), onError: options.onError });
  }

  get inboxTopic(): string {
    return vxpInboxTopic(this.options.organId);
  }

  async start(): Promise<void> {
    await Promise.all([this.inbox.start(), this.confirmations.start()]);
    await this.catchUp(60_000);
  }

  async stop(): Promise<void> {
    await Promise.allSettled([this.inbox.stop(), this.confirmations.stop()]);
  }

  /** Resolves true once both topics are read up to where they ended when called. */
  async catchUp(timeoutMs = 10_000): Promise<boolean> {
    const [a, b] = await Promise.all([this.inbox.caughtUp(timeoutMs), this.confirmations.caughtUp(timeoutMs)]);
    return a && b;
  }

  /**
   * Packages of one kind waiting for the legacy system, oldest first, after reading both topics to
   * their end: a confirmation another replica has just written is seen, so a confirmed package is
   * never listed again by any replica.
   */
  async waitingNow(kind: VxpKind, timeoutMs = 5_000): Promise<MailboxEntry[]> {
    await this.catchUp(timeoutMs);
    return this.waiting(kind);
  }

  /** As waitingNow, from what this replica has read so far. */
  waiting(kind: VxpKind): MailboxEntry[] {
    const out: MailboxEntry[] = [];
    for (const e of this.entries.values()) if (e.kind === kind && !this.confirmed.has(e.docId)) out.push(e);
    return out.sort((x, y) => x.createdAt.getTime() - y.createdAt.getTime());
  }

  /** The entry and its confirmation, after reading both topics to their end (another replica may have just written). */
  async find(docId: string): Promise<{ entry?: MailboxEntry; confirmation?: Confirmation }> {
    if (!this.entries.has(docId) || !this.confirmed.has(docId)) await this.catchUp();
    return { entry: this.entries.get(docId), confirmation: this.confirmed.get(docId) };
  }

  isIndexed(docId: string): boolean {
    return this.entries.has(docId);
  }

  /** Writes the legacy system's confirmation; resolves once Kafka holds it. */
  async confirm(docId: string, status: 'done' | 'fail', at: Date): Promise<Confirmation> {
    const confirmation: Confirmation = { status, at: at.toISOString() };
    await this.producer.send({ topic: vxpConfirmationsTopic(this.options.organId), key: docId, value: Buffer.from(JSON.stringify(confirmation)), headers: {} });
    if (!this.confirmed.has(docId)) this.confirmed.set(docId, confirmation);
    return this.confirmed.get(docId)!;
  }

  /** The package's bytes, chunk by chunk, read from Kafka as they are needed. */
  async *read(entry: MailboxEntry, timeoutMs = 60_000): AsyncGenerator<Buffer> {
    const consumer = new KafkaConsumer({ ...this.config, 'group.id': this.options.groupId, 'enable.auto.commit': false, 'enable.auto.offset.store': false, 'fetch.message.max.bytes': 1024 * 1024, 'fetch.max.bytes': 2 * 1024 * 1024, 'queued.max.messages.kbytes': 2 * 1024, 'queued.min.messages': 4 }, { 'auto.offset.reset': 'earliest' });
    await new Promise<void>((resolve, reject) => consumer.connect({ timeout: 15_000 }, (err) => (err ? reject(asError(err)) : resolve())));
    try {
      consumer.assign([{ topic: this.inboxTopic, partition: entry.partition, offset: entry.offset }]);
      let next = 0;
      let idle = Date.now();
      while (next < entry.chunks) {
        const batch = await new Promise<Message[]>((resolve, reject) => consumer.consume(4, (err, m) => (err ? reject(asError(err)) : resolve(m))));
        if (batch.length === 0) {
          if (Date.now() - idle > timeoutMs) throw new Error(`chunk ${next}/${entry.chunks} of ${entry.docId} not found in ${this.inboxTopic}[${entry.partition}] after offset ${entry.offset}`);
          await sleep(10);
          continue;
        }
        idle = Date.now();
        for (const m of batch) {
          const r = toRecord(m);
          if (r.key !== entry.docId) continue;
          const position = r.headers[HEADERS.chunk] ? parseChunkHeader(r.headers[HEADERS.chunk]!) : { index: 0, count: 1 };
          // A package written again after a failed try starts over at chunk 0: follow the newest run.
          if (position?.index === 0 && next > 0 && r.offset > entry.offset) throw new Error(`package ${entry.docId} was written again while being read; fetch it again`);
          if (position?.index !== next) continue;
          next++;
          yield r.value;
          if (next >= entry.chunks) break;
        }
      }
    } finally {
      consumer.unassign();
      await new Promise<void>((resolve) => consumer.disconnect(() => resolve()));
    }
  }

  private indexPackages(records: IncomingRecord[]): void {
    for (const r of records) {
      const docId = r.key;
      if (!docId || this.entries.has(docId)) continue;
      const position = r.headers[HEADERS.chunk] ? parseChunkHeader(r.headers[HEADERS.chunk]!) : { index: 0, count: 1 };
      if (!position || position.index !== 0) continue;
      const kind = r.headers[HEADERS.kind] === 'status' ? 'status' : 'edoc';
      this.entries.set(docId, {
        docId,
        kind,
        from: r.headers[HEADERS.fromOrganId] ?? '',
        to: r.headers[VXP_TO_HEADER] ?? '',
        documentId: r.headers[HEADERS.documentId] ?? '',
        partition: r.partition,
        offset: r.offset,
        chunks: position.count,
        bytes: Number(r.headers[HEADERS.packageBytes] ?? r.value.length),
        createdAt: new Date(r.timestamp ?? Date.now()),
      });
    }
  }

  private indexConfirmations(records: IncomingRecord[]): void {
    for (const r of records) {
      if (!r.key || this.confirmed.has(r.key)) continue;
      try {
        const c = JSON.parse(r.value.toString('utf8')) as Confirmation;
        if (c.status === 'done' || c.status === 'fail') this.confirmed.set(r.key, c);
      } catch {
        this.options.onError?.(new Error(`confirmation of ${r.key} in ${vxpConfirmationsTopic(this.options.organId)} is not JSON; ignored`));
      }
    }
  }
}
