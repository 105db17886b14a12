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
import { agencyGroupId, docsTopic, ownTopics, requestLedgerTopic, statusTopic } from '../broker/topics';
import { ensureLedgerTopic, RequestLedger } from '../broker/request-ledger';
import { describeBackboneError, isAuthorizationError } from '../broker/authorization';
import { ChunkAssembler, sendChunked } from '../broker/chunks';
import { createSink, createSource } from '../connectors';
import { ensureMailboxTopics, VxpMailbox } from '../broker/vxp-mailbox';
import { AgencyDirectory, ensureDirectoryTopic, registerAgency } from '../broker/agency-directory';
import { VxpMailboxSink } from '../connectors/vxp/mailbox-sink';
import { sendStatus } from './delivery/dead-letter';
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
  const groupId = agencyGroupId(config.organId, config.kafka.consumerGroup);
  const ingestSkewSeconds = signedIngestSkews(config);
  const principal = config.kafka.sasl?.username;
  // The VXP API (src/connectors/vxp): its mailbox and the agency directory live in Kafka.
  const vxpConnectors = config.connectors.filter((c) => c.type === 'vxp');
  // Until every startup step against the backbone is done, the connector is not ready, and says why.
  let startup: true | string = 'starting';
  let consumeRefused: string | undefined;
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
        { name: 'startup', check: async () => startup },
        { name: 'consume', check: async () => consumeRefused ?? true },
        ...signatures.readiness,
      ],
    });
  }

  const onStartupFailure = (why: string) => (startup = why);
  await untilConnected(log, principal, onStartupFailure, async () => {
    await producer.connect();
    // Only what is missing: the backbone operator may have created the topics and granted no Create.
    const missing = await missingTopics(producer, ownTopics(config.organId));
    if (missing.length > 0) await ensureTopics(clientConfig, missing, config.kafka.topics);
    const ledgerTopic = requestLedgerTopic(config.organId);
    if (ingestSkewSeconds.length > 0 && (await missingTopics(producer, [ledgerTopic])).length > 0) await ensureLedgerTopic(clientConfig, ledgerTopic, config.kafka.topics.replicationFactor);
    if (vxpConnectors.length > 0) {
      await ensureMailboxTopics(clientConfig, config.organId, config.kafka.topics);
      await ensureDirectoryTopic(clientConfig, config.kafka.topics.replicationFactor);
    }
  });
  log.info({ step: 'startup', topics: ownTopics(config.organId) }, 'connected to the backbone');
  // Replay refusal of the signed HTTP ingest, shared by every replica (src/broker/request-ledger.ts).
  const ledger =
    ingestSkewSeconds.length === 0
      ? undefined
      : await untilConnected(log, principal, onStartupFailure, async () => {
          const started = new RequestLedger(clientConfig, producer, {
            topic: requestLedgerTopic(config.organId),
            groupId,
            lookBackMs: 2 * Math.max(...ingestSkewSeconds) * 1000 + 60_000,
            onError: (err) => log.warn({ step: 'receive', topic: requestLedgerTopic(config.organId), err: describeBackboneError(err, principal) }, `request ledger: ${describeBackboneError(err, principal)}`),
          });
          await started.start();
          return started;
        });

  // The trail's read model is rebuilt before anything is taken or consumed, and this process's
  // chain is open, so every step from here on has its record (docs/TRAIL.md).
  let trail: AgencyTrail | undefined;
  if (config.trail.enabled) {
    trail = await untilConnected(log, principal, onStartupFailure, () => startTrail({ config, clientConfig, producer, log }));
    const model = trail.model;
    metrics.setOverdueSource(() => model.overdueCounts());
  }
  let web: TrailWeb | undefined;
  if (trail && config.trail.web.enabled) web = await startTrailWeb({ organId: config.organId, organName: config.organName, settings: config.trail.web, trail, log });

  let mailbox: VxpMailbox | undefined;
  let directory: AgencyDirectory | undefined;
  if (vxpConnectors.length > 0) {
    const onError = (err: Error) => log.warn({ step: 'receive', err: describeBackboneError(err, principal) }, `vxp mailbox: ${describeBackboneError(err, principal)}`);
    mailbox = await untilConnected(log, principal, onStartupFailure, async () => {
      const m = new VxpMailbox(clientConfig, producer, { organId: config.organId, groupId, onError });
      await m.start();
      return m;
    });
    const entry = (vxpConnectors[0]!.options as { directory?: { parentOrganId?: string; mail?: string } }).directory ?? {};
    directory = await untilConnected(log, principal, onStartupFailure, async () => {
      await registerAgency(producer, { code: config.organId, name: config.organName ?? config.organId, pid: entry.parentOrganId ?? '', mail: entry.mail ?? '' });
      const d = new AgencyDirectory(clientConfig, groupId, onError);
      await d.start();
      return d;
    });
  }
  const sinks: SinkBinding[] = config.connectors
    .filter((c) => c.direction === 'sink' && c.type !== 'vxp')
    .map((c) => ({
      breaker: createSinkBreaker(createSink(c), config.delivery.breaker, log, metrics),
      profile: profileByName(c.profile),
      profileOptions: c.profileOptions,
    }));
  // A vxp connector delivers into the agency's mailbox, where the legacy system fetches from.
  for (const c of vxpConnectors) {
    sinks.push({ breaker: createSinkBreaker(new VxpMailboxSink(c.name, config.organId, producer), config.delivery.breaker, log, metrics), profile: profileByName(c.profile), profileOptions: c.profileOptions });
  }
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
      groupId,
      topics: [docsTopic(config.organId), statusTopic(config.organId)],
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
        if (isAuthorizationError(err)) consumeRefused = why;
        log.warn({ step: 'consume', err: why }, `consume failed: ${why}`);
      },
      onRebalance: (event, partitions) => {
        if (event === 'revoked') chunks.revoked(partitions);
        else consumeRefused = undefined;
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
    await untilConnected(log, principal, onStartupFailure, () => running.connect());
    const receive = makeReceiveHandler({ self, limits, sinks, retry: config.delivery.retry, producer, verify: signatures.verify, log, metrics, trail });
    running.start(guardRecords({ ...letters, limits }, chunks.wrap(receive)));
  }

  const sources: Source[] = [];
  const refuse = async (entry: { from: string; documentId: string }, description: string) => {
    await sendStatus({ self, producer, log, metrics }, { organId: entry.from, documentId: entry.documentId }, '02', description, new Date());
  };
  for (const c of config.connectors.filter((k) => k.direction === 'source' || k.type === 'vxp')) {
    const source = createSource(c, { sentDocuments: trail?.model, log, metrics, replayGuard: ledger, organId: config.organId, mailbox, directory, refuse });
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
        // What a VXP endpoint holds for this agency comes from other agencies (src/connectors/vxp-bridge.ts).
        acceptsInbound: c.type === 'vxp-bridge',
      }),
    );
    sources.push(source);
  }
  const housekeeping = startFileDropHousekeeping(config, metrics, log);
  // "Running" means consuming: a document sent now is picked up at once, not after the group join.
  if (consumer && !(await consumer.waitForAssignment(15_000))) {
    log.warn({ step: 'startup' }, 'no partitions assigned yet (more replicas than partitions, or a slow group join)');
  }
  startup = true;
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
        await ledger?.stop();
        await mailbox?.stop();
        await directory?.stop();
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
 * untrusted broker certificate, unreachable host, an ACL the principal lacks): the process stays
 * up and /readyz says why, instead of hanging or crash-looping.
 */
async function untilConnected<T>(log: Logger, principal: string | undefined, onFailure: (why: string) => void, connect: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await connect();
    } catch (err) {
      const delayMs = Math.min(30_000, 1_000 * 2 ** Math.min(attempt - 1, 5));
      const why = describeBackboneError(err as Error, principal);
      onFailure(why);
      log.error({ step: 'startup', attempt, err: why, retryInMs: delayMs }, `cannot connect to Kafka: ${why}`);
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

async function missingTopics(producer: BackboneProducer, topics: string[]): Promise<string[]> {
  await producer.refreshTopics();
  const missing: string[] = [];
  for (const topic of topics) if (!(await producer.topicExists(topic))) missing.push(topic);
  return missing;
}

/** The skew windows (seconds) of the HTTP ingests that check HMAC signatures: each needs the request ledger. */
function signedIngestSkews(config: AgencyConfig): number[] {
  return config.connectors
    .filter((c) => (c.type === 'http' && c.direction === 'source') || c.type === 'vxp')
    .map((c) => (c.type === 'vxp' ? (c.options as { maxSkewSeconds?: number }) : (c.options as { auth?: { hmac?: { maxSkewSeconds?: number } } }).auth?.hmac))
    .filter((hmac): hmac is { maxSkewSeconds?: number } => hmac !== undefined)
    .map((hmac) => hmac.maxSkewSeconds ?? 300);
}

async function kafkaReadiness(producer: BackboneProducer): Promise<boolean | string> {
  if (!producer.isConnected()) return `not connected to Kafka${producer.lastError ? `: ${producer.lastError}` : ''}`;
  return producer.refreshTopics().then(
    () => true,
    (e: Error) => `Kafka metadata request failed: ${e.message}${producer.lastError ? ` (${producer.lastError})` : ''}`,
  );
}
