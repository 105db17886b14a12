/**
 * The connector's Prometheus metrics (issue 8, DESIGN.md §8). Each call of createMetrics()
 * builds its own Registry, so tests and embedded uses never share series. The pipeline reports
 * through the typed helpers below; label values are bounded in ./labels.
 */
import * as fs from 'node:fs';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { RejectionReason } from '../errors';
import { REJECTION_REASONS } from '../errors';
import { DEFAULT_LIMITS } from '../limits';
import {
  BREAKER_STATES,
  CappedLabelSet,
  CERTIFICATE_KINDS,
  DEAD_LETTER_REASONS,
  DIRECTIONS,
  LATENCY_STAGES,
  oneOf,
  OUTCOMES,
  OVERDUE_STAGES,
  SIGNATURE_RESULTS,
  REVOCATION_GAP_REASONS,
  OCSP_OUTCOMES,
  TRUST_OPT_OUTS,
  type OcspOutcome,
  type RevocationGapReason,
  type TrustOptOut,
  type BreakerState,
  type CertificateKind,
  type Direction,
  type LatencyStage,
  type Outcome,
  type SignatureResult,
} from './labels';
import { PendingDocuments } from './pending';
import { AUTH_FAILURE_CODES, type AuthFailureCode } from '../connectors/http/signing';
import { TOKEN_FAILURES, type TokenFailure } from '../signature/pkcs11/token-failure';

export type { BreakerState, CertificateKind, Direction, LatencyStage, OcspOutcome, Outcome, RevocationGapReason, SignatureResult, TrustOptOut };
export type DeadLetterReason = RejectionReason | 'retries-exhausted' | 'budget-exhausted';

export interface MetricsOptions {
  /** Milliseconds since the epoch; injectable so tests control the age of pending documents. */
  now?: () => number;
  /** Distinct counterpart OrganIds that get their own label; the rest share `other`. */
  maxCounterparts?: number;
  /** Node's process_* and nodejs_* metrics (on by default). */
  defaultMetrics?: boolean;
  /** Shown on vdxp_build_info; defaults to the version in package.json. */
  version?: string;
  organId?: string;
}

export interface Metrics {
  readonly registry: Registry;
  /** Content-Type header value for the exposition. */
  readonly contentType: string;
  exposition(): Promise<string>;

  /** One document finished with the given outcome; `counterpart` is the other agency's OrganId. */
  documentProcessed(direction: Direction, counterpart: string, outcome: Outcome): void;
  rejected(direction: Direction, reason: RejectionReason): void;
  signatureResult(result: SignatureResult): void;
  /** A signature was accepted although a certificate of its path had no revocation status (revocation: best-effort, or soft-fail). */
  revocationUnchecked(reason: RevocationGapReason): void;
  /** One request to an OCSP responder, by how it ended, and how long it took. */
  ocspRequest(outcome: OcspOutcome, seconds: number): void;
  /** Where the OCSP cache gauges come from at scrape time. */
  observeOcspCache(source: () => OcspCacheGauges): void;
  /** An explicit trust opt-out in force (1) or not (0): skip_verification, revocation_best_effort. */
  setTrustOptOut(setting: TrustOptOut, active: boolean): void;
  deadLettered(reason: DeadLetterReason): void;
  /** A delivery attempt to `sink` (a connector name) failed and will be tried again. */
  retried(sink: string): void;
  observeDeliveryLatency(stage: LatencyStage, seconds: number): void;
  setBreakerState(sink: string, state: BreakerState): void;
  setConsumerLag(topic: string, partition: number, lag: number): void;
  /** Call on partition revocation so a lag series does not linger with a stale value. */
  removeConsumerLag(topic: string, partition: number): void;

  /**
   * The connector now holds `documentId` for `counterpart` and has not delivered it yet.
   * `since` is when the document entered the connector's care: the source acknowledgement
   * (outbound) or the Kafka message timestamp (inbound). Defaults to now.
   */
  pendingStarted(documentId: string, counterpart: string, since?: Date): void;
  /** The document was delivered, rejected or dead-lettered: it is no longer pending. */
  pendingSettled(documentId: string): void;

  /**
   * When the certificates of `kind` in use stop being valid: pass the earliest notAfter among
   * them, again after every reload (a rotated certificate replaces the old value).
   */
  setCertificateExpiry(kind: CertificateKind, notAfter: Date): void;
  /** The signing token became unusable for `reason` (once per change, not per refused signature). */
  signingTokenFailure(reason: TokenFailure): void;
  /** The connector called C_Login on the signing token, with this outcome (`ok`, or a token failure). */
  signingTokenLogin(outcome: 'ok' | TokenFailure): void;
  /** Used by the ops server after evaluating the readiness checks. */
  setReadiness(ready: boolean, checks: Record<string, boolean>): void;
  /** Report the free and total bytes of the file system under `dir` (a file-drop folder) at every scrape. */
  watchVolume(connector: string, dir: string): void;
  /** A file-drop source removed `count` files from sent/ that were older than its retention. */
  sentFilesRemoved(connector: string, count: number): void;
  /** Where vdxp_documents_overdue is read from at each scrape: the trail's read model (src/trail). */
  setOverdueSource(source: () => OverdueCount[]): void;

  /** A record was refused by the limit with this config key (`limits.maxOpenPackages`, …). */
  limitExceeded(limit: string): void;
  /** A status 01/02 the connector owed a sender was not sent: `no_topic`, `unwritable` or `refused`. */
  statusNotSent(code: string, cause: StatusNotSentCause): void;
  /** Work on a record failed: `record` counts against its budget, `backbone` (Kafka unreachable) does not. */
  recordAttemptFailed(kind: 'record' | 'backbone'): void;
  /** A record spent its budget (`attempts` or `time`) and was given up. */
  recordBudgetExhausted(budget: 'attempts' | 'time'): void;
  /** A record given up could not even be dead-lettered: it was logged and committed past. */
  recordSkipped(budget: 'attempts' | 'time'): void;
  /** Where the consumer's and the assembler's gauges come from at scrape time. */
  observeConsumer(source: () => ConsumerGauges): void;

  /** The HTTP ingest `connector` refused a request with 401, for `reason`. */
  ingestUnauthorized(connector: string, reason: AuthFailureCode): void;
  /** The ingest received a copy of a signed request it had already: answered from the replay guard, nothing sent. */
  ingestReplay(connector: string, verdict: 'accepted' | 'in-flight'): void;
}

/** The OCSP cache at scrape time (src/signature/ocsp-source.ts `cacheStats`). */
export interface OcspCacheGauges {
  entries: number;
  oldestStatusAgeSeconds: number;
}

/** Documents past a deadline of the overdue rules, for one direction, counterpart and stage. */
export interface OverdueCount {
  direction: Direction;
  counterpart: string;
  stage: 'arrival' | 'acceptance' | 'completion';
  count: number;
}

export type StatusNotSentCause = 'no_topic' | 'unwritable' | 'refused';

export interface ConsumerGauges {
  inFlight: number;
  maxInFlight: number;
  saturatedSeconds: number;
  failingRecords: number;
  openPackages: number;
  scratchReservedBytes: number;
  scratchLimitBytes: number;
}

const NO_CONSUMER: ConsumerGauges = { inFlight: 0, maxInFlight: 0, saturatedSeconds: 0, failingRecords: 0, openPackages: 0, scratchReservedBytes: 0, scratchLimitBytes: 0 };
const LIMIT_KEYS = [...Object.keys(DEFAULT_LIMITS).map((k) => `limits.${k}`), 'kafka.message.max.bytes'];
const STATUS_NOT_SENT_CAUSES = ['no_topic', 'unwritable', 'refused'] as const;
const BUDGETS = ['attempts', 'time'] as const;

const LATENCY_BUCKETS_SECONDS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600];
const MISNAMED_DEFAULT_GAUGES = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];
const DEFAULT_MAX_COUNTERPARTS = 1000;
const MAX_SINKS = 50;
const MAX_TOPICS = 50;
const MAX_READINESS_CHECKS = 20;

export function createMetrics(options: MetricsOptions = {}): Metrics {
  const now = options.now ?? Date.now;
  const registry = new Registry();
  const counterparts = new CappedLabelSet(options.maxCounterparts ?? DEFAULT_MAX_COUNTERPARTS);
  const sinks = new CappedLabelSet(MAX_SINKS);
  const sources = new CappedLabelSet(MAX_SINKS);
  const topics = new CappedLabelSet(MAX_TOPICS);
  const readinessChecks = new CappedLabelSet(MAX_READINESS_CHECKS);
  const pending = new PendingDocuments();
  const registers = [registry];

  if (options.defaultMetrics ?? true) {
    collectDefaultMetrics({ register: registry });
    // Gauges named *_total break Prometheus naming rules (promtool check metrics); the same
    // counts stay available per type in nodejs_active_handles, _requests and _resources.
    for (const name of MISNAMED_DEFAULT_GAUGES) registry.removeSingleMetric(name);
  }

  const buildInfo = new Gauge({
    name: 'vdxp_build_info',
    help: 'Always 1; labels carry the connector version and the agency OrganId it serves.',
    labelNames: ['version', 'organ_id'],
    registers,
  });
  buildInfo.set({ version: options.version ?? packageVersion(), organ_id: options.organId ?? 'unknown' }, 1);

  const documents = new Counter({
    name: 'vdxp_documents_total',
    help: 'Documents the connector finished handling, by direction, counterpart OrganId and outcome.',
    labelNames: ['direction', 'counterpart', 'outcome'],
    registers,
  });
  const rejections = new Counter({
    name: 'vdxp_rejections_total',
    help: 'Packages refused, by direction and rejection reason code.',
    labelNames: ['direction', 'reason'],
    registers,
  });
  const signatures = new Counter({
    name: 'vdxp_signature_verifications_total',
    help: 'Signature checks on inbound packages, by result (valid, accepted_unsigned, rejected).',
    labelNames: ['result'],
    registers,
  });
  const revocationUnchecked = new Counter({
    name: 'vdxp_revocation_unchecked_total',
    help: 'Signatures accepted although a certificate of the signer\'s path had no current revocation status (revocation: best-effort, or revocationFailure: soft-fail with an unreachable OCSP responder), by reason (no-crl, stale-crl, ocsp-unavailable, ocsp-stale, ocsp-refused, ocsp-unknown, ocsp-not-fetched).',
    labelNames: ['reason'],
    registers,
  });
  const ocspRequests = new Counter({
    name: 'vdxp_ocsp_requests_total',
    help: 'Requests to OCSP responders (trust.ocsp), by outcome: good, revoked, unknown (certStatus), unavailable (unreachable, timeout, HTTP error, tryLater), stale, unauthorized-signer, bad-response.',
    labelNames: ['outcome'],
    registers,
  });
  const ocspDuration = new Histogram({
    name: 'vdxp_ocsp_request_duration_seconds',
    help: 'How long a request to an OCSP responder took, answered or not.',
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers,
  });
  let ocspCacheSource: (() => OcspCacheGauges) | undefined;
  new Gauge({
    name: 'vdxp_ocsp_cached_statuses',
    help: 'OCSP statuses held in the in-memory cache and still reusable.',
    registers,
    collect() {
      this.set(ocspCacheSource?.().entries ?? 0);
    },
  });
  new Gauge({
    name: 'vdxp_ocsp_cached_status_max_age_seconds',
    help: 'Age (now - thisUpdate) of the oldest OCSP status the cache still reuses; 0 when it holds none. Computed at scrape time.',
    registers,
    collect() {
      this.set(ocspCacheSource?.().oldestStatusAgeSeconds ?? 0);
    },
  });
  const trustOptOut = new Gauge({
    name: 'vdxp_trust_opt_out',
    help: 'Explicit trust opt-outs in force (1): skip_verification (trust.insecureSkipVerification: nothing received is verified), revocation_best_effort (some signatures may be accepted without a revocation check).',
    labelNames: ['setting'],
    registers,
  });
  for (const setting of TRUST_OPT_OUTS) trustOptOut.set({ setting }, 0);
  const deadLetters = new Counter({
    name: 'vdxp_dead_letters_total',
    help: 'Messages written to the dead-letter topic, by reason.',
    labelNames: ['reason'],
    registers,
  });
  const retries = new Counter({
    name: 'vdxp_delivery_retries_total',
    help: 'Failed delivery attempts that will be retried, by sink connector.',
    labelNames: ['sink'],
    registers,
  });
  const latency = new Histogram({
    name: 'vdxp_delivery_latency_seconds',
    help: 'Time from source acknowledgement to Kafka (source_to_kafka) and from Kafka to sink confirmation (kafka_to_sink).',
    labelNames: ['stage'],
    buckets: LATENCY_BUCKETS_SECONDS,
    registers,
  });
  const breaker = new Gauge({
    name: 'vdxp_breaker_state',
    help: 'Circuit breaker state per sink connector: 1 for the current state, 0 for the others.',
    labelNames: ['sink', 'state'],
    registers,
  });
  const lag = new Gauge({
    name: 'vdxp_kafka_consumer_lag_messages',
    help: 'Messages between the committed offset and the end of the partition, per topic and partition.',
    labelNames: ['topic', 'partition'],
    registers,
  });
  new Gauge({
    name: 'vdxp_undelivered_documents',
    help: 'Documents held by the connector and not yet delivered, per counterpart OrganId.',
    labelNames: ['counterpart'],
    registers,
    collect() {
      this.reset();
      for (const [label, summary] of pending.summarize((c) => counterparts.label(c))) {
        this.set({ counterpart: label }, summary.count);
      }
    },
  });
  new Gauge({
    name: 'vdxp_oldest_undelivered_document_age_seconds',
    help: 'Age of the oldest document not yet delivered, per counterpart OrganId; computed at scrape time.',
    labelNames: ['counterpart'],
    registers,
    collect() {
      this.reset();
      const at = now();
      for (const [label, summary] of pending.summarize((c) => counterparts.label(c))) {
        this.set({ counterpart: label }, Math.max(0, (at - summary.oldestSinceMs) / 1000));
      }
    },
  });
  let overdueSource: (() => OverdueCount[]) | undefined;
  new Gauge({
    name: 'vdxp_documents_overdue',
    help: 'Documents past a deadline of the overdue rules (trail.overdue), by direction, counterpart OrganId and stage (arrival, acceptance, completion); computed at scrape time from the trail.',
    labelNames: ['direction', 'counterpart', 'stage'],
    registers,
    collect() {
      this.reset();
      if (!overdueSource) return;
      const sums = new Map<string, { labels: { direction: string; counterpart: string; stage: string }; count: number }>();
      for (const c of overdueSource()) {
        const labels = { direction: oneOf(DIRECTIONS, c.direction), counterpart: counterparts.label(c.counterpart), stage: oneOf(OVERDUE_STAGES, c.stage) };
        const key = `${labels.direction}\u0000${labels.counterpart}\u0000${labels.stage}`;
        const sum = sums.get(key);
        if (sum) sum.count += c.count;
        else sums.set(key, { labels, count: c.count });
      }
      for (const { labels, count } of sums.values()) this.set(labels, count);
    },
  });
  const certificateExpiry = new Gauge({
    name: 'vdxp_certificate_expiry_timestamp_seconds',
    help: 'Earliest notAfter among the certificates in use, per kind (signing, kafka_client, trust_anchor, backbone_ca), as a Unix time.',
    labelNames: ['kind'],
    registers,
  });
  const signingTokenFailures = new Counter({
    name: 'vdxp_signing_token_failures_total',
    help: 'Times the PKCS#11 signing token became unusable, by reason (pin-incorrect, token-not-found, token-removed, …; docs/OPERATIONS.md, "Keys in a token").',
    labelNames: ['reason'],
    registers,
  });
  const signingTokenLogins = new Counter({
    name: 'vdxp_signing_token_logins_total',
    help: 'C_Login calls on the PKCS#11 signing token, by outcome (ok, pin-incorrect, pin-locked, …). After a refused login there is none with the same PIN.',
    labelNames: ['outcome'],
    registers,
  });
  const ready = new Gauge({
    name: 'vdxp_ready',
    help: '1 when the last readiness evaluation passed every check and the connector is not draining, else 0.',
    registers,
  });
  const volumes = new Map<string, string>();
  const volumeGauge = (name: string, help: string, bytes: (s: fs.StatsFs) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ['connector'],
      registers,
      collect() {
        this.reset();
        for (const [connector, dir] of volumes) {
          try {
            this.set({ connector }, bytes(fs.statfsSync(dir)));
          } catch {
            // The folder is gone or unreachable (an NFS outage): no value rather than a wrong one.
          }
        }
      },
    });
  volumeGauge('vdxp_volume_free_bytes', 'Bytes available to the connector on the file system of each file-drop folder, at scrape time.', (st) => st.bavail * st.bsize);
  volumeGauge('vdxp_volume_size_bytes', 'Size in bytes of the file system of each file-drop folder, at scrape time.', (st) => st.blocks * st.bsize);
  const sentRemoved = new Counter({
    name: 'vdxp_sent_files_removed_total',
    help: 'Files removed from a file-drop source folder sent/ after its retention (sentRetentionDays), per connector.',
    labelNames: ['connector'],
    registers,
  });
  const ingestUnauthorized = new Counter({
    name: 'vdxp_ingest_unauthorized_total',
    help: 'Requests the HTTP ingest refused with 401, by connector and reason (missing-signature, unknown-system, bad-signature, timestamp-skew, …).',
    labelNames: ['connector', 'reason'],
    registers,
  });
  const ingestReplays = new Counter({
    name: 'vdxp_ingest_replays_total',
    help: 'Copies of a signed request the HTTP ingest had already received, by connector and what the first became (accepted, in_flight); nothing was sent for them.',
    labelNames: ['connector', 'first'],
    registers,
  });
  const readinessCheck = new Gauge({
    name: 'vdxp_readiness_check_ok',
    help: 'Result of each readiness check at the last evaluation: 1 passed, 0 failed.',
    labelNames: ['check'],
    registers,
  });

  const limitRefusals = new Counter({
    name: 'vdxp_limit_refusals_total',
    help: 'Records refused by a configured limit, by its config key (limits.maxOpenPackages, limits.maxScratchBytes, ...).',
    labelNames: ['limit'],
    registers,
  });
  const statusesNotSent = new Counter({
    name: 'vdxp_statuses_not_sent_total',
    help: 'Statuses 01/02 owed to a sender and not sent: no_topic (sender unknown to the backbone), unwritable, refused (by the backbone, for good).',
    labelNames: ['code', 'cause'],
    registers,
  });
  const attemptFailures = new Counter({
    name: 'vdxp_record_attempt_failures_total',
    help: 'Failed attempts at a record: record (counts against its budget) or backbone (Kafka unreachable: waited out, not counted).',
    labelNames: ['kind'],
    registers,
  });
  const budgetExhausted = new Counter({
    name: 'vdxp_record_budget_exhausted_total',
    help: 'Records given up because they spent their budget of attempts or time (then dead-lettered as budget-exhausted).',
    labelNames: ['budget'],
    registers,
  });
  const skipped = new Counter({
    name: 'vdxp_records_skipped_total',
    help: 'Records given up that could not even be dead-lettered: logged with topic, partition, offset and sender, and committed past.',
    labelNames: ['budget'],
    registers,
  });
  let consumerSource: () => ConsumerGauges = () => NO_CONSUMER;
  const consumerGauge = (name: string, help: string, pick: (g: ConsumerGauges) => number) =>
    new Gauge({
      name,
      help,
      registers,
      collect() {
        this.set(pick(consumerSource()));
      },
    });
  consumerGauge('vdxp_consumer_in_flight_records', 'Records being worked on that hold an in-flight slot (delivery.maxInFlight).', (g) => g.inFlight);
  consumerGauge('vdxp_consumer_max_in_flight_records', 'The in-flight limit (delivery.maxInFlight).', (g) => g.maxInFlight);
  consumerGauge('vdxp_consumer_saturated_seconds', 'How long in-flight work has been at its limit without a break (0 when it is not).', (g) => g.saturatedSeconds);
  consumerGauge('vdxp_consumer_failing_records', 'Records in flight that failed at least once and are being tried again.', (g) => g.failingRecords);
  consumerGauge('vdxp_open_packages', 'Chunked packages being reassembled (limits.maxOpenPackages).', (g) => g.openPackages);
  consumerGauge('vdxp_scratch_reserved_bytes', 'Scratch bytes reserved by packages being reassembled.', (g) => g.scratchReservedBytes);
  consumerGauge('vdxp_scratch_limit_bytes', 'The scratch budget for reassembly (limits.maxScratchBytes).', (g) => g.scratchLimitBytes);

  return {
    registry,
    contentType: registry.contentType,
    exposition: () => registry.metrics(),

    documentProcessed(direction, counterpart, outcome) {
      documents.inc({
        direction: oneOf(DIRECTIONS, direction),
        counterpart: counterparts.label(counterpart),
        outcome: oneOf(OUTCOMES, outcome),
      });
    },
    rejected(direction, reason) {
      rejections.inc({ direction: oneOf(DIRECTIONS, direction), reason: oneOf(REJECTION_REASONS, reason) });
    },
    signatureResult(result) {
      signatures.inc({ result: oneOf(SIGNATURE_RESULTS, result) });
    },
    revocationUnchecked(reason) {
      revocationUnchecked.inc({ reason: oneOf(REVOCATION_GAP_REASONS, reason) });
    },
    ocspRequest(outcome, seconds) {
      ocspRequests.inc({ outcome: oneOf(OCSP_OUTCOMES, outcome) });
      if (Number.isFinite(seconds) && seconds >= 0) ocspDuration.observe(seconds);
    },
    observeOcspCache(source) {
      ocspCacheSource = source;
    },
    setTrustOptOut(setting, active) {
      trustOptOut.set({ setting: oneOf(TRUST_OPT_OUTS, setting) }, active ? 1 : 0);
    },
    deadLettered(reason) {
      deadLetters.inc({ reason: oneOf(DEAD_LETTER_REASONS, reason) });
    },
    retried(sink) {
      retries.inc({ sink: sinks.label(sink) });
    },
    observeDeliveryLatency(stage, seconds) {
      if (!Number.isFinite(seconds) || seconds < 0) return;
      latency.observe({ stage: oneOf(LATENCY_STAGES, stage) }, seconds);
    },
    setBreakerState(sink, state) {
      const sinkLabel = sinks.label(sink);
      for (const candidate of BREAKER_STATES) {
        breaker.set({ sink: sinkLabel, state: candidate }, candidate === state ? 1 : 0);
      }
    },
    setConsumerLag(topic, partition, value) {
      lag.set({ topic: topics.label(topic), partition: String(partition) }, Math.max(0, value));
    },
    removeConsumerLag(topic, partition) {
      lag.remove({ topic: topics.label(topic), partition: String(partition) });
    },
    pendingStarted(documentId, counterpart, since) {
      pending.add(documentId, counterpart, since ? since.getTime() : now());
    },
    pendingSettled(documentId) {
      pending.remove(documentId);
    },
    setCertificateExpiry(kind, notAfter) {
      certificateExpiry.set({ kind: oneOf(CERTIFICATE_KINDS, kind) }, notAfter.getTime() / 1000);
    },
    signingTokenFailure(reason) {
      signingTokenFailures.inc({ reason: oneOf(TOKEN_FAILURES, reason) });
    },
    signingTokenLogin(outcome) {
      signingTokenLogins.inc({ outcome: outcome === 'ok' ? 'ok' : oneOf(TOKEN_FAILURES, outcome) });
    },
    setOverdueSource(source) {
      overdueSource = source;
    },
    watchVolume(connector, dir) {
      volumes.set(sinks.label(connector), dir);
    },
    sentFilesRemoved(connector, count) {
      if (count > 0) sentRemoved.inc({ connector: sinks.label(connector) }, count);
    },
    ingestUnauthorized(connector, reason) {
      ingestUnauthorized.inc({ connector: sources.label(connector), reason: oneOf(AUTH_FAILURE_CODES, reason) });
    },
    ingestReplay(connector, verdict) {
      ingestReplays.inc({ connector: sources.label(connector), first: verdict === 'accepted' ? 'accepted' : 'in_flight' });
    },
    setReadiness(isReady, checks) {
      ready.set(isReady ? 1 : 0);
      for (const [name, ok] of Object.entries(checks)) {
        readinessCheck.set({ check: readinessChecks.label(name) }, ok ? 1 : 0);
      }
    },
    limitExceeded(limit) {
      limitRefusals.inc({ limit: oneOf(LIMIT_KEYS, limit) });
    },
    statusNotSent(code, cause) {
      statusesNotSent.inc({ code: oneOf(['01', '02'], code), cause: oneOf(STATUS_NOT_SENT_CAUSES, cause) });
    },
    recordAttemptFailed(kind) {
      attemptFailures.inc({ kind: oneOf(['record', 'backbone'], kind) });
    },
    recordBudgetExhausted(budget) {
      budgetExhausted.inc({ budget: oneOf(BUDGETS, budget) });
    },
    recordSkipped(budget) {
      skipped.inc({ budget: oneOf(BUDGETS, budget) });
    },
    observeConsumer(source) {
      consumerSource = source;
    },
  };
}

/** package.json sits three levels above this file both in the checkout (dist/src/observability) and in the image. */
function packageVersion(): string {
  try {
    const version = (require('../../../package.json') as { version?: unknown }).version;
    return typeof version === 'string' ? version : 'unknown';
  } catch {
    return 'unknown';
  }
}
