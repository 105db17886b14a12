/**
 * One agency's connector, wired from its config: sources → send pipeline → backbone, and
 * backbone → receive pipeline → sinks, plus the ops endpoints. Stateless: everything it needs
 * to resume lives in Kafka (offsets) and in the legacy system (DESIGN.md §4 rule 5).
 */
import type { AgencyConfig } from '../config/types';
import { ConfigError } from '../config/load';
import { checkReferencedFiles } from '../config/referenced-files';
import { configWarnings } from '../config/warnings';
import { commonClientConfig } from '../broker/client-config';
import { ensureTopics } from '../broker/admin';
import { BackboneProducer, isBackboneUnavailable } from '../broker/producer';
import { BackboneConsumer, type ConsumerHealth, type IncomingRecord } from '../broker/consumer';
import { ScratchBudget } from '../broker/scratch-budget';
import { docsTopic, ownTopics, statusTopic } from '../broker/topics';
import { ChunkAssembler, sendChunked } from '../broker/chunks';
import { createSink, createSource } from '../connectors';
import type { Source } from '../connectors/types';
import { profileByName } from '../transform';
import { createLogger, type Logger } from '../observability/log';
import { createMetrics, type Metrics } from '../observability/metrics';
import { startOpsServer, type OpsServer } from '../observability/server';
import { makeSendHandler, type BackboneSender } from './send';
import { deadLetterUnassembled, makeReceiveHandler, type SinkBinding } from './receive';
import { deadLetterExhausted } from './delivery/dead-letter';
import { guardRecords } from './delivery/record-guard';
import { HEADERS } from '../broker/topics';
import { Spool } from './spool';
import { loadSignatureSupport } from './signature-support';
import { createSinkBreaker } from './delivery/breakers';
import { startTrail, type AgencyTrail } from '../trail';
import { startTrailWeb, type TrailWeb } from '../trail/web/server';
import { startFileDropHousekeeping } from './file-drop-housekeeping';
import { reportBackboneCaExpiry } from './backbone-certificates';

export interface RunningAgency {
  readonly organId: string;
  readonly opsPort: number | undefined;
  readonly metrics: Metrics;
  /** The trail and its read model (undefined with trail.enabled: false). */
  readonly trail: AgencyTrail | undefined;
  /** The trail's web page port, when it is enabled. */
  readonly webPort: number | undefined;
  /** Drain work in flight, commit, and disconnect (SIGTERM). */
  stop(): Promise<void>;
}

export interface StartOptions {
  logger?: Logger;
  /** Tests run several agencies in one process and do not need the ops server. */
  withOpsServer?: boolean;
}

/** Time kept back from delivery.drainTimeoutMs for the final commit and leaving the group. */
const SHUTDOWN_MARGIN_MS = 3_000;

export async function startAgency(config: AgencyConfig, options: StartOptions = {}): Promise<RunningAgency> {
  const log = options.logger ?? createLogger({ organId: config.organId });
  // Before anything connects: a missing secret must not cost a partition handover (issue 16).
  const unreadable = checkReferencedFiles(config);
  if (unreadable.length > 0) throw new ConfigError('config', unreadable);
  for (const w of configWarnings(config)) log.warn({ step: 'startup', path: w.path }, `config ${w.path}: ${w.message}`);
  const metrics = createMetrics({ organId: config.organId });
  const clientConfig = commonClientConfig(config.kafka, `vdxp-${config.organId}`);

  const signatures = await loadSignatureSupport(config, log, metrics);
  reportBackboneCaExpiry(config, metrics, log);
  const self = { organId: config.organId, organName: config.organName, sign: signatures.sign };
  const producer = new BackboneProducer(clientConfig);
  const backbone: BackboneSender = {
    send: (record) => producer.send(record),
    sendFile: async (record, file) => {
      let first: unknown;
      await sendChunked({ send: (r) => producer.send(r).then((placed) => ((first ??= placed), placed)) }, record, file);
      return first;
    },
    topicExists: (topic) => producer.topicExists(topic),
  };
  // Scratch files of large packages: os.tmpdir() (TMPDIR; an emptyDir in Kubernetes).
  const spool = await Spool.open();
  let ops: OpsServer | undefined;
  let consumer: BackboneConsumer | undefined;
  if (options.withOpsServer !== false) {
    ops = await startOpsServer({
      port: config.ops.port,
      host: config.ops.host,
      metrics,
      logger: log,
      readinessChecks: [
        { name: 'config', check: async () => true },
        { name: 'kafka', check: () => kafkaReadiness(producer) },
        { name: 'consumer', check: async () => (consumer ? consumerReadiness(consumer.health(), config.delivery.readiness) : true) },
        ...signatures.readiness,
      ],
    });
  }

  await untilConnected(log, async () => {
    await producer.connect();
    await ensureTopics(clientConfig, ownTopics(config.organId), config.kafka.topics);
  });
  log.info({ step: 'startup', topics: ownTopics(config.organId) }, 'connected to the backbone');

  // The trail's read model is rebuilt before anything is taken or consumed, and this process's
  // chain is open, so every step from here on has its record (docs/TRAIL.md).
  let trail: AgencyTrail | undefined;
  if (config.trail.enabled) {
    trail = await untilConnected(log, () => startTrail({ config, clientConfig, producer, log }));
    const model = trail.model;
    metrics.setOverdueSource(() => model.overdueCounts());
  }
  let web: TrailWeb | undefined;
  if (trail && config.trail.web.enabled) web = await startTrailWeb({ organId: config.organId, organName: config.organName, settings: config.trail.web, trail, log });

  const sinks: SinkBinding[] = config.connectors
    .filter((c) => c.direction === 'sink')
    .map((c) => ({
      breaker: createSinkBreaker(createSink(c), config.delivery.breaker, log, metrics),
      profile: profileByName(c.profile),
      profileOptions: c.profileOptions,
    }));
  const sinkObjects = sinks.map((s) => s.breaker.sink);
  for (const s of sinkObjects) await s.start();

  let assembler: ChunkAssembler | undefined;
  if (sinks.length > 0) {
    const { limits } = config;
    const sinkUnavailable = () => sinks.some((s) => s.breaker.state() === 'open');
    // Held: a sink's breaker is open or the backbone is down. Consumption pauses, and the time is
    // charged to no record's budget and no package's age.
    const held = () => sinkUnavailable() || producer.unavailable();
    // A write the backbone failed is waited out only while the backbone as a whole looks down (no
    // write succeeded since): one that keeps failing while others succeed is the record's own
    // trouble (its dead-letter topic gone, say) and spends its attempts.
    const backboneDown = (err: unknown) => isBackboneUnavailable(err) && producer.unavailable();
    const spoolDir = spool.newPath('assembly');
    const scratch = new ScratchBudget({ dir: spoolDir, maxBytes: limits.maxScratchBytes, maxBytesPerSender: limits.maxScratchBytesPerSender });
    const letters = { self, producer, log, metrics, trail };
    assembler = new ChunkAssembler({
      spoolDir,
      scratch,
      maxPackageBytes: limits.maxPackageBytes,
      maxOpenPackages: limits.maxOpenPackages,
      maxOpenPackagesPerSender: limits.maxOpenPackagesPerSender,
      maxPackageAgeMs: limits.maxPackageAgeMs,
      maxChunksPerPackage: limits.maxChunksPerPackage,
      maxAttempts: limits.maxRecordAttempts,
      isTransient: backboneDown,
      isPaused: held,
      onBroken: (first, rejection) => deadLetterUnassembled(letters, first, rejection),
      log: (level, fields, message) => log[level]({ step: 'reassemble', ...fields }, message),
    });
    const chunks = assembler;
    const exhausted = new WeakSet<IncomingRecord>();
    consumer = new BackboneConsumer(clientConfig, {
      groupId: config.kafka.consumerGroup ?? `vdxp.${config.organId}`,
      topics: [docsTopic(config.organId), statusTopic(config.organId)],
      maxInFlight: config.delivery.maxInFlight,
      maxWaitingRecords: config.delivery.maxWaitingRecords,
      maxWaitingBytes: config.delivery.maxWaitingBytes,
      shouldPause: held,
      budget: { maxAttempts: limits.maxRecordAttempts, maxRecordMs: limits.maxRecordMs },
      isTransient: backboneDown,
      onHandlerError: (record, err, attempt, transient) => {
        metrics.recordAttemptFailed(transient ? 'backbone' : 'record');
        log.warn({ step: 'retry', ...where(record), attempt, transient, err }, transient ? 'the backbone is unavailable; the record waits' : 'record not done; retrying');
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
      onConsumeError: (err) => log.warn({ step: 'consume', err }, 'consume failed'),
      onRebalance: (event, partitions) => {
        if (event === 'revoked') chunks.revoked(partitions);
        log.info({ step: 'consume', partitions: partitions.map((p) => `${p.topic}/${p.partition}`) }, `partitions ${event}`);
      },
      onPauseChange: (paused, why) => log.info({ step: 'consume', paused }, paused ? `consumption paused: ${why}` : 'consumption resumed'),
      onLag: (topic, partition, lag) => (lag === undefined ? metrics.removeConsumerLag(topic, partition) : metrics.setConsumerLag(topic, partition, lag)),
    });
    const running = consumer;
    metrics.observeConsumer(() => {
      const health = running.health();
      const scratchNow = scratch.snapshot();
      return {
        inFlight: health.inFlight,
        maxInFlight: health.maxInFlight,
        saturatedSeconds: health.saturatedMs / 1000,
        failingRecords: health.failing.length,
        openPackages: chunks.openPackages().packages,
        scratchReservedBytes: scratchNow.reservedBytes,
        scratchLimitBytes: scratchNow.maxBytes,
      };
    });
    await untilConnected(log, () => running.connect());
    const receive = makeReceiveHandler({ self, limits, sinks, retry: config.delivery.retry, producer, verify: signatures.verify, log, metrics, trail });
    running.start(guardRecords({ ...letters, limits }, chunks.wrap(receive)));
  }

  const sources: Source[] = [];
  for (const c of config.connectors.filter((k) => k.direction === 'source')) {
    const source = createSource(c, { sentDocuments: trail?.model });
    await source.start(
      makeSendHandler({
        trail,
        sourceName: c.name,
        signingCertificate: signatures.signingCertificate,
        organId: config.organId,
        limits: config.limits,
        profile: profileByName(c.profile),
        profileOptions: c.profileOptions,
        producer: backbone,
        sign: signatures.signParsed,
        spool,
        log,
        metrics,
      }),
    );
    sources.push(source);
  }
  const housekeeping = startFileDropHousekeeping(config, metrics, log);
  // "Running" means consuming: a document sent now is picked up at once, not after the group join.
  if (consumer && !(await consumer.waitForAssignment(15_000))) {
    log.warn({ step: 'startup' }, 'no partitions assigned yet (more replicas than partitions, or a slow group join)');
  }
  log.info({ step: 'startup', sources: sources.map((s) => s.name), sinks: sinks.map((s) => s.breaker.sinkName), opsPort: ops?.port, webPort: web?.port }, 'connector running');

  let stopping: Promise<void> | undefined;
  return {
    organId: config.organId,
    opsPort: ops?.port,
    metrics,
    trail,
    webPort: web?.port,
    stop: () =>
      (stopping ??= (async () => {
        ops?.setDraining();
        log.info({ step: 'shutdown' }, 'draining');
        await Promise.allSettled(sources.map((s) => s.stop()));
        const drained = await consumer?.stop(Math.max(1_000, config.delivery.drainTimeoutMs - SHUTDOWN_MARGIN_MS));
        if (drained?.abandoned) log.warn({ step: 'shutdown', abandoned: drained.abandoned }, 'records still in flight at the drain deadline stay uncommitted and are redelivered');
        await web?.close();
        await trail?.stop(SHUTDOWN_MARGIN_MS);
        await producer.flush().catch(() => undefined);
        await producer.disconnect();
        for (const s of sinks) s.breaker.shutdown();
        await Promise.allSettled(sinkObjects.map((s) => s.stop()));
        signatures.close();
        housekeeping.stop();
        await assembler?.close();
        await spool.close();
        await ops?.close();
        log.info({ step: 'shutdown' }, 'stopped');
      })()),
  };
}

/**
 * Keep trying to reach Kafka with backoff, logging the real cause each time (wrong password,
 * untrusted broker certificate, unreachable host): the process stays up and /readyz says why,
 * instead of hanging or crash-looping.
 */
async function untilConnected<T>(log: Logger, connect: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await connect();
    } catch (err) {
      const delayMs = Math.min(30_000, 1_000 * 2 ** Math.min(attempt - 1, 5));
      log.error({ step: 'startup', attempt, err: (err as Error).message, retryInMs: delayMs }, `cannot connect to Kafka: ${(err as Error).message}`);
      await new Promise((r) => setTimeout(r, delayMs));
    }
  }
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

/** /readyz check `consumer`: false while in-flight work stays at its limit too long, or a record keeps failing. */
export function consumerReadiness(health: ConsumerHealth, limits: { maxSaturatedMs: number; maxRecordFailures: number }): true | string {
  if (health.saturatedMs > limits.maxSaturatedMs) {
    return `in-flight work has been at its limit of ${health.maxInFlight} records for ${Math.round(health.saturatedMs / 1000)} s (delivery.readiness.maxSaturatedMs: ${limits.maxSaturatedMs})`;
  }
  const worst = health.failing[0];
  if (worst && worst.attempts >= limits.maxRecordFailures) {
    return `record ${worst.topic}/${worst.partition}@${worst.offset} has failed ${worst.attempts} times and is being tried again (delivery.readiness.maxRecordFailures: ${limits.maxRecordFailures})`;
  }
  return true;
}

async function kafkaReadiness(producer: BackboneProducer): Promise<boolean | string> {
  if (!producer.isConnected()) return `not connected to Kafka${producer.lastError ? `: ${producer.lastError}` : ''}`;
  return producer.refreshTopics().then(
    () => true,
    (e: Error) => `Kafka metadata request failed: ${e.message}${producer.lastError ? ` (${producer.lastError})` : ''}`,
  );
}
