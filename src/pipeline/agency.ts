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
import { BackboneProducer } from '../broker/producer';
import type { BackboneConsumer, ConsumerHealth } from '../broker/consumer';
import { ScratchBudget } from '../broker/scratch-budget';
import { agencyGroupId, docsTopic, outboxGroupId, outboxTopic, ownTopics, requestLedgerTopic, statusTopic } from '../broker/topics';
import { ensureLedgerTopic, RequestLedger } from '../broker/request-ledger';
import { describeBackboneError } from '../broker/authorization';
import { sendChunked, type ChunkAssembler } from '../broker/chunks';
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
import { makeReceiveHandler, type SinkBinding } from './receive';
import { Spool } from './spool';
import { loadSignatureSupport } from './signature-support';
import { createSinkBreaker, type SinkBreaker } from './delivery/breakers';
import { createConsuming } from './consuming';
import { outboundRoutes } from './outbound-routes';
import { startOutbox } from './outbox';
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
  // Recipients that leave through a VXP endpoint: their copies wait in the outbox topic.
  const routes = outboundRoutes(config.connectors);
  // Until every startup step against the backbone is done, the connector is not ready, and says why.
  let startup: true | string = 'starting';
  // Per consumer (receive, outbox): the broker's refusal while an ACL keeps it from its partitions.
  const consumeRefused = new Map<string, string>();
  let ops: OpsServer | undefined;
  let consumer: BackboneConsumer | undefined;
  let outbox: Awaited<ReturnType<typeof startOutbox>> | undefined;
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
        { name: 'consume', check: async () => [...consumeRefused.values()][0] ?? true },
        ...signatures.readiness,
      ],
    });
  }

  const onStartupFailure = (why: string) => (startup = why);
  await untilConnected(log, principal, onStartupFailure, async () => {
    await producer.connect();
    // Only what is missing: the backbone operator may have created the topics and granted no Create.
    const missing = await missingTopics(producer, [...ownTopics(config.organId), ...(routes.length > 0 ? [outboxTopic(config.organId)] : [])]);
    if (missing.length > 0) {
      await ensureTopics(clientConfig, missing, config.kafka.topics);
      await producer.untilTopicsListed(missing);
    }
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

  const scratch = new ScratchBudget({ dir: spool.newPath('assembly'), maxBytes: config.limits.maxScratchBytes, maxBytesPerSender: config.limits.maxScratchBytesPerSender });
  const letters = { self, producer, log, metrics, trail, routes };
  const consuming = (name: string, groupId: string, topics: string[], breakers: SinkBreaker[]) =>
    createConsuming({ name, config, clientConfig, producer, groupId, topics, breakers, spoolDir: scratch.dir, scratch, letters, log, metrics, principal, onRefused: (why) => void (why === undefined ? consumeRefused.delete(name) : consumeRefused.set(name, why)) });
  let assembler: ChunkAssembler | undefined;
  if (sinks.length > 0) {
    const receiving = consuming('receive', groupId, [docsTopic(config.organId), statusTopic(config.organId)], sinks.map((s) => s.breaker));
    assembler = receiving.assembler;
    consumer = receiving.consumer;
    const running = consumer;
    const chunks = assembler;
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
    receiving.start(makeReceiveHandler({ self, limits: config.limits, sinks, retry: config.delivery.retry, producer, verify: signatures.verify, log, metrics, trail, routes }));
  }
  // This agency's packages for recipients behind a VXP endpoint (src/pipeline/outbox.ts).
  if (routes.length > 0)
    outbox = await startOutbox({ config, routes, consuming: (breakers) => consuming('outbox', outboxGroupId(groupId), [outboxTopic(config.organId)], breakers), connect: (c) => untilConnected(log, principal, onStartupFailure, c), self, producer, log, metrics, trail });

  const sources: Source[] = [];
  const refuse = async (entry: { from: string; documentId: string }, description: string) => {
    await sendStatus({ self, producer, log, metrics, routes }, { organId: entry.from, documentId: entry.documentId }, '02', description, new Date());
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
        // What came from an endpoint never goes back to it through its own route.
        routes: routes.filter((r) => r.connector !== c.name),
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
        const drainMs = Math.max(1_000, config.delivery.drainTimeoutMs - SHUTDOWN_MARGIN_MS);
        const [drained] = await Promise.all([consumer?.stop(drainMs), outbox?.stop(drainMs)]);
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
