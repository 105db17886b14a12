/**
 * The backbone producer: idempotent, acks=all, and every send resolves only on the broker's
 * delivery report (DESIGN.md §3 step 5: a source item is acknowledged only after Kafka holds it).
 */
import { CODES, HighLevelProducer, type LibrdKafkaError, type MessageHeader } from 'node-rdkafka';
import { Rejection } from '../errors';
import type { RdKafkaConfig } from './client-config';

/** The largest record the producer writes; the broker default, never raised (DESIGN.md §4 rule 6). */
export const MAX_MESSAGE_BYTES = 1_000_000;

/** syslog severity of librdkafka log events; FAIL lines at this level name why a connection failed. */
const LOG_ERR = 3;

export interface OutgoingRecord {
  topic: string;
  key: string;
  value: Buffer;
  headers: Record<string, string>;
}

const UNKNOWN_TOPIC_RECHECK_MS = 1_000;

/** The producer's librdkafka properties on top of the common client ones (`kafka.librdkafka` included). */
export function producerProperties(config: RdKafkaConfig): RdKafkaConfig {
  return {
    // Tuning an operator may override under kafka.librdkafka. linger.ms is librdkafka's own
    // default: at saturation it lets a few documents share one produce request, which cost the
    // bench broker less CPU per document than 2 ms did (docs/BENCHMARKS.md).
    'linger.ms': 5,
    'compression.type': 'lz4',
    ...config,
    // What "nothing lost, in order" rests on: not overridable.
    'enable.idempotence': true,
    'message.max.bytes': MAX_MESSAGE_BYTES,
    dr_cb: true,
  };
}

export class BackboneProducer {
  private readonly producer: HighLevelProducer;
  private knownTopics = new Set<string>();
  private topicsFetchedAt = 0;
  /** Why the broker cannot be reached, in librdkafka's words (e.g. SASL authentication failed), where connect only says "timed out". */
  get lastError(): string | undefined {
    return this.lastConnectionFailure ?? this.lastErrorEvent;
  }
  private lastConnectionFailure: string | undefined;
  private lastErrorEvent: string | undefined;
  private connected = false;
  /**
   * The partition of each (topic, key) from the delivery reports: HighLevelProducer's produce
   * callback gives the offset only. A key always maps to the same partition, so a bounded cache is
   * enough; the report is emitted, synchronously, just after the callback that resolves `send`.
   */
  private readonly partitionOfKey = new Map<string, number>();

  constructor(config: RdKafkaConfig) {
    this.producer = new HighLevelProducer(producerProperties(config), { 'request.required.acks': -1, 'message.timeout.ms': 30_000 }); // acks=all
    // librdkafka's error events are terse ("authentication failure", "all broker connections are
    // down"); the reason (invalid SCRAM credentials, certificate verify failed) is in its FAIL log line.
    this.producer.on('event.log', (log: { severity: number; fac: string; message: string }) => {
      if (log.fac === 'FAIL' && log.severity <= LOG_ERR) this.lastConnectionFailure = log.message.replace(/^\[thrd:[^\]]*\]: /, '');
    });
    this.producer.on('event.error', (err) => (this.lastErrorEvent = asError(err).message));
    this.producer.on('delivery-report', (err, report) => {
      if (err || !report) return;
      if (this.partitionOfKey.size >= 10_000) this.partitionOfKey.clear();
      const key = report.key === undefined || report.key === null ? '' : report.key.toString();
      this.partitionOfKey.set(`${report.topic}\u0000${key}`, report.partition);
    });
  }

  /** True once connect() has succeeded (node-rdkafka already says connected while its first metadata request is pending). */
  isConnected(): boolean {
    return this.connected && this.producer.isConnected();
  }

  connect(timeoutMs = 15_000): Promise<void> {
    // librdkafka delivers error events only from poll(), and HighLevelProducer polls only while
    // messages are in flight: without this, a connect that cannot succeed hears no error event.
    const poller = setInterval(() => {
      try {
        this.producer.poll();
      } catch {
        // not connected yet: the native handle is not up, so there is nothing to poll
      }
    }, 200);
    poller.unref();
    return new Promise<void>((resolve, reject) => {
      this.producer.connect({ timeout: timeoutMs }, (err) => {
        this.connected = !err;
        if (!err) {
          this.lastConnectionFailure = this.lastErrorEvent = undefined;
          return resolve();
        }
        const cause = this.lastError && this.lastError !== asError(err).message ? ` (${this.lastError})` : '';
        reject(new Error(`${asError(err).message}${cause}`));
      });
    }).finally(() => clearInterval(poller));
  }

  send(record: OutgoingRecord): Promise<{ partition: number; offset: number }> {
    const headers: MessageHeader[] = Object.entries(record.headers).map(([k, v]) => ({ [k]: v }));
    return new Promise((resolve, reject) => {
      try {
        this.producer.produce(record.topic, null, record.value, record.key, Date.now(), headers, (err: LibrdKafkaError | null, offset?: number | null) => {
          if (err) return reject(sendError(err, record));
          // Resolved a microtask later, after the delivery report of this very message filled the cache.
          queueMicrotask(() => resolve({ partition: this.partitionOfKey.get(`${record.topic}\u0000${record.key}`) ?? -1, offset: offset ?? -1 }));
        });
      } catch (err) {
        reject(sendError(err, record));
      }
    });
  }

  /**
   * Whether a topic exists on the backbone (auto-creation is off, so a missing topic is an unknown
   * recipient). Known topics are answered from memory; an unknown one refreshes the metadata at
   * most once per UNKNOWN_TOPIC_RECHECK_MS, so a recipient whose connector just started is found
   * quickly while a run of documents for a missing one costs no round trip each.
   */
  async topicExists(topic: string): Promise<boolean> {
    if (this.knownTopics.has(topic)) return true;
    if (Date.now() - this.topicsFetchedAt > UNKNOWN_TOPIC_RECHECK_MS) await this.refreshTopics();
    return this.knownTopics.has(topic);
  }

  /** Round trip to the broker; readiness uses it. */
  async refreshTopics(timeoutMs = 5_000): Promise<void> {
    const metadata = await new Promise<{ topics: Array<{ name: string }> }>((resolve, reject) => {
      this.producer.getMetadata({ allTopics: true, timeout: timeoutMs }, (err, data) => (err ? reject(asError(err)) : resolve(data)));
    });
    this.knownTopics = new Set(metadata.topics.map((t) => t.name));
    this.topicsFetchedAt = Date.now();
  }

  flush(timeoutMs = 10_000): Promise<void> {
    return new Promise((resolve, reject) => this.producer.flush(timeoutMs, (err) => (err ? reject(asError(err)) : resolve())));
  }

  disconnect(): Promise<void> {
    this.connected = false;
    return new Promise((resolve) => {
      if (!this.producer.isConnected()) return resolve();
      this.producer.disconnect(5_000, () => resolve());
    });
  }
}

/**
 * Too large for a Kafka message is final, not transient: retrying the same bytes can never succeed.
 * Packages over CHUNK_BYTES are meant to go through sendChunked (src/broker/chunks.ts); a single
 * record this large is a caller's mistake or an oversized status, and is refused.
 */
function sendError(err: unknown, record: OutgoingRecord): Error {
  const e = asError(err);
  if ((e as { code?: number }).code !== CODES.ERRORS.ERR_MSG_SIZE_TOO_LARGE) return e;
  return new Rejection(
    'limit-exceeded',
    `${record.value.length} bytes for ${record.topic} exceed the Kafka message limit of ${MAX_MESSAGE_BYTES} bytes for one record (larger packages travel in chunks: sendChunked in src/broker/chunks.ts)`,
    'kafka.message.max.bytes',
  );
}

export function asError(err: unknown): Error {
  if (err instanceof Error) return err;
  const e = err as { message?: string; code?: number };
  return new Error(e?.message ?? `Kafka error ${e?.code ?? String(err)}`);
}
