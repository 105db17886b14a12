/**
 * The directory of agencies on the backbone (docs/VXP.md "Agencies"): `vdxp.agencies`, one
 * compacted topic for the whole backbone, key = OrganId, value = {code, name, pid, mail,
 * updatedAt}. Each connector registers its own agency at start (organId, organName and
 * vxp.parentOrganId from its config); the VXP connector answers getAgenciesList,
 * getAgenciesListQD20 and getSynchronizeUnit from it. Every replica follows the whole topic.
 */
import type { RdKafkaConfig } from './client-config';
import type { OutgoingRecord } from './producer';
import type { IncomingRecord } from './consumer';
import { TopicFollower } from './topic-follower';
import { ensureTopics } from './admin';

export const AGENCY_DIRECTORY_TOPIC = 'vdxp.agencies';

export interface AgencyEntry {
  code: string;
  name: string;
  /** The parent agency's OrganId, or '' at the top. */
  pid: string;
  mail: string;
  updatedAt: string;
}

export async function ensureDirectoryTopic(config: RdKafkaConfig, replicationFactor: number): Promise<void> {
  await ensureTopics(config, [AGENCY_DIRECTORY_TOPIC], { partitions: 1, replicationFactor, config: { 'cleanup.policy': 'compact' } });
}

/** Writes this agency's entry; resolves once Kafka holds it. */
export async function registerAgency(producer: { send(record: OutgoingRecord): Promise<unknown> }, entry: Omit<AgencyEntry, 'updatedAt'>, at = new Date()): Promise<void> {
  const value: AgencyEntry = { ...entry, updatedAt: at.toISOString() };
  await producer.send({ topic: AGENCY_DIRECTORY_TOPIC, key: entry.code, value: Buffer.from(JSON.stringify(value)), headers: {} });
}

export class AgencyDirectory {
  private readonly agencies = new Map<string, AgencyEntry>();
  private readonly follower: TopicFollower;

  constructor(config: RdKafkaConfig, groupId: string, onError?: (err: Error) => void) {
    this.follower = new TopicFollower(config, { topic: AGENCY_DIRECTORY_TOPIC, groupId, onRecords: (r) => this.apply(r), onError });
  }

  async start(): Promise<void> {
    await this.follower.start();
    await this.follower.caughtUp(30_000);
  }

  async stop(): Promise<void> {
    await this.follower.stop();
  }

  async list(): Promise<AgencyEntry[]> {
    await this.follower.caughtUp(5_000);
    return [...this.agencies.values()].sort((a, b) => a.code.localeCompare(b.code));
  }

  private apply(records: IncomingRecord[]): void {
    for (const r of records) {
      if (!r.key) continue;
      if (r.value.length === 0) {
        this.agencies.delete(r.key);
        continue;
      }
      try {
        const e = JSON.parse(r.value.toString('utf8')) as Partial<AgencyEntry>;
        // The key is the OrganId: an entry naming another code is not taken.
        if (e.code !== r.key) continue;
        this.agencies.set(r.key, { code: r.key, name: String(e.name ?? ''), pid: String(e.pid ?? ''), mail: String(e.mail ?? ''), updatedAt: String(e.updatedAt ?? '') });
      } catch {
        /* not an entry: ignored */
      }
    }
  }
}
