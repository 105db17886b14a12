/**
 * The agency's trail (issue 18; docs/TRAIL.md): a writer for this process's hash chain, and a
 * read model rebuilt from the trail topic at start and kept current by following it.
 *
 *   record format and hash chain   ./record.ts, ./chain.ts
 *   writing                        ./writer.ts
 *   verifying                      ./verify.ts
 *   read model and its rebuild     ./read-model.ts, ./follower.ts
 *   overdue rules and calendar     ./overdue.ts, ./calendar/
 *   the web page                   ./web/
 */
import type { AgencyConfig, TrailConfig } from '../config/types';
import type { RdKafkaConfig } from '../broker/client-config';
import { ensureTopics } from '../broker/admin';
import { agencyGroupId, trailTopic } from '../broker/topics';
import type { Logger } from '../observability/log';
import { OverdueRules, type OverdueSettings } from './overdue';
import { TrailReadModel } from './read-model';
import { TrailFollower } from './follower';
import { TrailWriter, type TrailProducer } from './writer';
import type { TrailStep } from './record';

/** What the pipeline calls at each step. Resolves once Kafka holds the records. */
export interface TrailRecorder {
  record(step: TrailStep, at?: Date): Promise<void>;
  recordAll(steps: Array<{ step: TrailStep; at?: Date }>): Promise<void>;
}

/** For an agency with `trail.enabled: false`. */
export const NO_TRAIL: TrailRecorder = { record: async () => undefined, recordAll: async () => undefined };

export interface AgencyTrail extends TrailRecorder {
  readonly model: TrailReadModel;
  readonly rules: OverdueRules;
  readonly writer: TrailWriter;
  /** The read model has caught up with what the topic held at start. */
  readonly rebuilt: boolean;
  /** Closes the chain (waiting up to timeoutMs for records in flight) and stops following. */
  stop(timeoutMs?: number): Promise<void>;
}

export function overdueSettings(trail: TrailConfig): OverdueSettings {
  return {
    arrivalWorkingMinutes: trail.overdue.arrivalWorkingMinutes,
    acceptanceWorkingMinutes: trail.overdue.acceptanceWorkingMinutes,
    counterparts: trail.overdue.counterparts,
    calendar: {
      workingHours: trail.calendar.workingHours,
      workingWeekdays: trail.calendar.workingWeekdays,
      vietnamDefaults: trail.calendar.vietnamHolidays,
      add: trail.calendar.holidays,
      remove: trail.calendar.notHolidays,
      workOn: trail.calendar.workingDays,
    },
  };
}

/** The trail topic: one partition (one total order for verify and the rebuild), retention as configured. */
export async function ensureTrailTopic(clientConfig: RdKafkaConfig, config: AgencyConfig): Promise<void> {
  await ensureTopics(clientConfig, [trailTopic(config.organId)], {
    partitions: 1,
    replicationFactor: config.kafka.topics.replicationFactor,
    config: { 'retention.ms': String(config.trail.retentionMs), 'cleanup.policy': 'delete' },
  });
}

export interface StartTrailOptions {
  config: AgencyConfig;
  clientConfig: RdKafkaConfig;
  producer: TrailProducer;
  log?: Logger;
  role?: string;
  version?: string;
  rebuildTimeoutMs?: number;
}

/** Rebuilds the read model from the topic, then opens this process's chain vouching for the others. */
export async function startTrail(options: StartTrailOptions): Promise<AgencyTrail> {
  const { config, log } = options;
  await ensureTrailTopic(options.clientConfig, config);
  const rules = new OverdueRules(overdueSettings(config.trail));
  const model = new TrailReadModel(rules);
  const follower = new TrailFollower({ ...options.clientConfig, 'client.id': `${options.clientConfig['client.id'] ?? 'vdxp'}-trail` }, config.organId, model, log, agencyGroupId(config.organId, config.kafka.consumerGroup));
  const startedAt = Date.now();
  const rebuilt = await follower.start(options.rebuildTimeoutMs ?? 300_000);
  log?.info({ step: 'trail', records: model.records, documents: model.size, ms: Date.now() - startedAt, rebuilt }, rebuilt ? 'trail read model rebuilt' : 'trail read model not caught up yet; it keeps reading');
  const writer = new TrailWriter({
    organId: config.organId,
    producer: options.producer,
    role: options.role ?? 'connector',
    log,
    heads: () => model.heads(),
    checkpointIntervalMs: config.trail.checkpointIntervalMs,
    version: options.version,
  });
  await writer.open();
  return {
    model,
    rules,
    writer,
    rebuilt,
    record: (step, at) => writer.record(step, at),
    recordAll: (steps) => writer.recordAll(steps),
    stop: async (timeoutMs) => {
      const { abandoned } = await writer.close(timeoutMs);
      if (abandoned > 0) log?.warn({ step: 'trail', abandoned }, 'trail records not acknowledged at shutdown; their work is redone, with its records, after restart');
      await follower.stop();
    },
  };
}
