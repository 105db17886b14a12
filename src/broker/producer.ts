/**
 * The backbone producer: idempotent, acks=all, and every send resolves only on the broker's
 * delivery report (DESIGN.md §3 step 5: a source item is acknowledged only after Kafka holds it).
 */
import { CODES, HighLevelProducer, type LibrdKafkaError, type MessageHeader } from 'node-rdkafka';
import { Rejection } from '../errors';
import type { RdKafkaConfig } from './client-config';
import type { RecordHeader } from './record-metadata';

/** The largest record the producer writes; the broker default, never raised (DESIGN.md §4 rule 6). */
export const MAX_MESSAGE_BYTES = 1_000_000;

/** syslog severity of librdkafka log events; FAIL lines at this level name why a connection failed. */
const LOG_ERR = 3;

export interface OutgoingRecord {
  topic: string;
  key: string;
  value: Buffer;
  headers: Record<string, string>;
  /**
   * When set, written instead of `headers`, in this order and with duplicates (a replayed dead
   * letter's original headers). node-rdkafka writes header values as UTF-8 strings.
   */
  rawHeaders?: RecordHeader[];
}

/**
 * The backbone itself failed (broker unreachable, a produce request timed out, no leader): not the
 * record's fault. Work that meets it waits and tries again without spending its attempts, and the
 * consumer pauses meanwhile (BackboneProducer.unavailable, docs/DELIVERY.md).
 */
export class BackboneUnavailable extends Error {
  constructor(
    message: string,
    readonly code: number | undefined,
  ) {
    super(message);
    this.name = 'BackboneUnavailable';
  }
}

const E = CODES.ERRORS;
const TRANSIENT_CODES = new Set<number>([
  E.ERR__TRANSPORT,
  E.ERR__RESOLVE,
  E.ERR__MSG_TIMED_OUT,
  E.ERR__ALL_BROKERS_DOWN,
  E.ERR__TIMED_OUT,
  E.ERR__QUEUE_FULL,
  E.ERR__TIMED_OUT_QUEUE,
  E.ERR__STATE,
  E.ERR__WAIT_COORD,
  E.ERR_LEADER_NOT_AVAILABLE,
  E.ERR_NOT_LEADER_FOR_PARTITION,
  E.ERR_REQUEST_TIMED_OUT,
  E.ERR_BROKER_NOT_AVAILABLE,
  E.ERR_NETWORK_EXCEPTION,
  E.ERR_NOT_ENOUGH_REPLICAS,
  E.ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND,
]);

/**
 * node-rdkafka's HighLevelProducer rebuilds delivery-report errors from librdkafka's message text
 * and loses the code (-1): the text (rd_kafka_err2str, lower-cased) is what is left to go by.
 */
const TRANSIENT_MESSAGES = [
  'message timed out',
  'broker transport failure',
  'all broker connections are down',
  'timed out',
  'queue full',
  'timed out in queue',
  'host resolution failure',
  'erroneous state',
  'leader not available',
  'not leader for partition',
  'request timed out',
  'broker not available',
  'network exception',
  'not enough in-sync replicas',
  'message(s) written to insufficient number of in-sync replicas',
];
const TOO_LARGE_MESSAGES = ['message size too large', 'broker: message size too large'];

export function isBackboneUnavailable(err: unknown): err is BackboneUnavailable {
  return err instanceof BackboneUnavailable;
}

/** After a transient failure, how long the backbone counts as unavailable unless a write succeeds (then it is probed again). */
const UNAVAILABLE_HOLD_MS = 5_000;

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
  private lastTransientFailureAt = 0;
  private lastSuccessAt = 0;

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
    const headers: MessageHeader[] = record.rawHeaders
      ? record.rawHeaders.map((h) => ({ [h.name]: h.value }))
      : Object.entries(record.headers).map(([k, v]) => ({ [k]: v }));
    return new Promise((resolve, reject) => {
      const failed = (err: unknown) => {
        const e = this.sendError(err, record);
        if (isBackboneUnavailable(e)) this.lastTransientFailureAt = Date.now();
        reject(e);
      };
      try {
        this.producer.produce(record.topic, null, record.value, record.key, Date.now(), headers, (err: LibrdKafkaError | null, offset?: number | null) => {
          if (err) return failed(err);
          this.lastSuccessAt = Date.now();
          // Resolved a microtask later, after the delivery report of this very message filled the cache.
          queueMicrotask(() => resolve({ partition: this.partitionOfKey.get(`${record.topic}\u0000${record.key}`) ?? -1, offset: offset ?? -1 }));
        });
      } catch (err) {
        failed(err);
      }
    });
  }

  /**
   * True while the backbone looks down: a write failed transiently and none succeeded since, for
   * at most UNAVAILABLE_HOLD_MS after that failure (then the next write probes it, like a
   * half-open breaker). The consumer pauses meanwhile, and time spent so is not charged to any record.
   */
  unavailable(): boolean {
    if (!this.isConnected()) return true;
    return this.lastTransientFailureAt > this.lastSuccessAt && Date.now() - this.lastTransientFailureAt < UNAVAILABLE_HOLD_MS;
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
      this.producer.getMetadata({ allTopics: true, timeout: timeoutMs }, (err, data) =>
        err ? reject(new BackboneUnavailable(`metadata request failed: ${asError(err).message}`, (err as { code?: number }).code)) : resolve(data),
      );
    });
    this.knownTopics = new Set(metadata.topics.map((t) => t.name));
    this.topicsFetchedAt = Date.now();
  }

  /**
   * Waits until the broker's metadata lists every topic. A consumer that subscribes while a topic
   * it just created is not listed yet leaves that topic unassigned until its next metadata refresh.
   */
  async untilTopicsListed(topics: string[], timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      await this.refreshTopics();
      const unlisted = topics.filter((t) => !this.knownTopics.has(t));
      if (unlisted.length === 0) return;
      if (Date.now() >= deadline) throw new BackboneUnavailable(`topics not listed by the broker ${timeoutMs} ms after they were created: ${unlisted.join(', ')}`, undefined);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
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

  /**
   * Too large for a Kafka message is final, not transient: retrying the same bytes can never succeed.
   * Packages over CHUNK_BYTES are meant to go through sendChunked (src/broker/chunks.ts); a single
   * record this large is a caller's mistake or an oversized status, and is refused. Failures of the
   * backbone itself are BackboneUnavailable; anything else (no such topic, not authorized) is
   * final for this record as far as the caller can tell.
   */
  private sendError(err: unknown, record: OutgoingRecord): Error {
    const e = asError(err);
    const code = (e as { code?: number }).code;
    const text = e.message.toLowerCase();
    if (code === E.ERR_MSG_SIZE_TOO_LARGE || TOO_LARGE_MESSAGES.includes(text)) {
      return new Rejection(
        'limit-exceeded',
        `${record.value.length} bytes for ${record.topic} exceed the Kafka message limit (${MAX_MESSAGE_BYTES} bytes for one record here, or the topic's max.message.bytes; larger packages travel in chunks: sendChunked in src/broker/chunks.ts)`,
        'kafka.message.max.bytes',
      );
    }
    if ((code !== undefined && TRANSIENT_CODES.has(code)) || TRANSIENT_MESSAGES.includes(text) || !this.isConnected()) {
      return new BackboneUnavailable(`write to ${record.topic} failed: ${e.message}`, code);
    }
    return e;
  }
}

export function asError(err: unknown): Error {
  if (err instanceof Error) return err;
  const e = err as { message?: string; code?: number };
  return new Error(e?.message ?? `Kafka error ${e?.code ?? String(err)}`);
}
