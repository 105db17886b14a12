/**
 * One consumer of the agency's topics with everything around it: reassembly of chunked packages,
 * the record guard, the record budget and its dead letters, pausing while a sink's breaker is open
 * or the backbone is down. The agency runs one for what the backbone brings it (src/pipeline/agency.ts)
 * and, with outbound routes, one for its outbox (src/pipeline/outbox.ts).
 */
import type { AgencyConfig } from '../config/types';
import type { RdKafkaConfig } from '../broker/client-config';
import { isBackboneUnavailable, type BackboneProducer } from '../broker/producer';
import { BackboneConsumer, type IncomingRecord } from '../broker/consumer';
import { ChunkAssembler, type PackageHandler } from '../broker/chunks';
import type { ScratchBudget } from '../broker/scratch-budget';
import { describeBackboneError, isAuthorizationError } from '../broker/authorization';
import { HEADERS } from '../broker/topics';
import type { Logger } from '../observability/log';
import type { Metrics } from '../observability/metrics';
import type { SinkBreaker } from './delivery/breakers';
import { deadLetterExhausted, type DeadLetterDependencies } from './delivery/dead-letter';
import { guardRecords } from './delivery/record-guard';
import { deadLetterUnassembled } from './receive';

export interface ConsumingSetup {
  /** For log lines: which of the agency's consumers this is. */
  name: string;
  config: AgencyConfig;
  clientConfig: RdKafkaConfig;
  producer: BackboneProducer;
  groupId: string;
  topics: string[];
  /** The sinks its records go to: consumption pauses while one's breaker is open. */
  breakers: SinkBreaker[];
  /** Where large packages are reassembled, under the agency's scratch limits. */
  spoolDir: string;
  scratch: ScratchBudget;
  letters: DeadLetterDependencies;
  log: Logger;
  metrics: Metrics;
  principal: string | undefined;
  /** Refused by an ACL (the reason), or assigned again (undefined): for /readyz. */
  onRefused(why: string | undefined): void;
}

export interface Consuming {
  consumer: BackboneConsumer;
  assembler: ChunkAssembler;
  /** Starts handing records to `handler` (after connect()). */
  start(handler: PackageHandler): void;
}

export function createConsuming(setup: ConsumingSetup): Consuming {
  const { config, producer, log, metrics, principal, letters } = setup;
  const { limits } = config;
  // Held: a sink's breaker is open or the backbone is down. Consumption pauses, and the time is
  // charged to no record's budget and no package's age.
  const held = () => setup.breakers.some((b) => b.state() === 'open') || producer.unavailable();
  // A write the backbone failed is waited out only while the backbone as a whole looks down (no
  // write succeeded since): one that keeps failing while others succeed is the record's own
  // trouble (its dead-letter topic gone, say) and spends its attempts.
  const backboneDown = (err: unknown) => isBackboneUnavailable(err) && producer.unavailable();
  const assembler = new ChunkAssembler({
    spoolDir: setup.spoolDir,
    scratch: setup.scratch,
    maxPackageBytes: limits.maxPackageBytes,
    maxOpenPackages: limits.maxOpenPackages,
    maxOpenPackagesPerSender: limits.maxOpenPackagesPerSender,
    maxPackageAgeMs: limits.maxPackageAgeMs,
    maxChunksPerPackage: limits.maxChunksPerPackage,
    maxAttempts: limits.maxRecordAttempts,
    isTransient: backboneDown,
    isPaused: held,
    onBroken: (first, rejection) => deadLetterUnassembled(letters, first, rejection),
    log: (level, fields, message) => log[level]({ step: 'reassemble', consumer: setup.name, ...fields }, message),
  });
  const exhausted = new WeakSet<IncomingRecord>();
  const consumer = new BackboneConsumer(setup.clientConfig, {
    groupId: setup.groupId,
    topics: setup.topics,
    maxInFlight: config.delivery.maxInFlight,
    maxWaitingRecords: config.delivery.maxWaitingRecords,
    maxWaitingBytes: config.delivery.maxWaitingBytes,
    shouldPause: held,
    budget: { maxAttempts: limits.maxRecordAttempts, maxRecordMs: limits.maxRecordMs },
    isTransient: backboneDown,
    onHandlerError: (record, err, attempt, transient) => {
      metrics.recordAttemptFailed(transient ? 'backbone' : 'record');
      const why = describeBackboneError(err, principal);
      log.warn({ step: 'retry', ...where(record), attempt, transient, err: why }, transient ? `the backbone is unavailable; the record waits: ${why}` : `record not done; retrying: ${why}`);
    },
    onExhausted: async (record, failure) => {
      if (!exhausted.has(record)) {
        exhausted.add(record);
        metrics.recordBudgetExhausted(failure.budget);
        log.error({ step: 'budget', ...where(record), budget: failure.budget, attempts: failure.attempts, activeMs: failure.activeMs, err: failure.error }, 'record spent its budget; dead-lettering it');
      }
      await deadLetterExhausted(letters, record, failure);
    },
    onSkipped: (record, failure, err) => {
      metrics.recordSkipped(failure.budget);
      log.error(
        { step: 'budget', ...where(record), budget: failure.budget, attempts: failure.attempts, reason: failure.error?.message, err },
        'record spent its budget and could not be dead-lettered: committed past it; the original stays at its offset until retention',
      );
    },
    onConsumeError: (err) => {
      const why = describeBackboneError(err, principal);
      // Refused by an ACL: not ready until partitions are assigned, with the refusal as the reason.
      if (isAuthorizationError(err)) setup.onRefused(why);
      log.warn({ step: 'consume', consumer: setup.name, err: why }, `consume failed: ${why}`);
    },
    onRebalance: (event, partitions) => {
      if (event === 'revoked') assembler.revoked(partitions);
      else setup.onRefused(undefined);
      log.info({ step: 'consume', consumer: setup.name, partitions: partitions.map((p) => `${p.topic}/${p.partition}`) }, `partitions ${event}`);
    },
    onPauseChange: (paused, why) => log.info({ step: 'consume', consumer: setup.name, paused }, paused ? `consumption paused: ${why}` : 'consumption resumed'),
    onLag: (topic, partition, lag) => (lag === undefined ? metrics.removeConsumerLag(topic, partition) : metrics.setConsumerLag(topic, partition, lag)),
  });
  return {
    consumer,
    assembler,
    start: (handler) => consumer.start(guardRecords({ ...letters, limits }, assembler.wrap(handler))),
  };
}

/** Where a record is, for log lines: enough to find it again with `kcat` or `vdxp dlq`. */
function where(record: IncomingRecord): Record<string, unknown> {
  return {
    topic: record.topic,
    partition: record.partition,
    offset: record.offset,
    fromOrganId: record.headers[HEADERS.fromOrganId]?.slice(0, 200),
    documentId: record.headers[HEADERS.documentId]?.slice(0, 200),
  };
}
