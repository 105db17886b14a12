/**
 * The whole trail as it is now, for the commands that read it once (`vdxp track`, `vdxp trail
 * verify`): every record from the log start offset to the end, and the read model built from them.
 */
import type { AgencyConfig } from '../config/types';
import type { RdKafkaConfig } from '../broker/client-config';
import { TopicFollower, type PartitionBounds } from '../broker/topic-follower';
import { trailTopic } from '../broker/topics';
import { decodeEntry, hashOf, UnreadableEntry } from './record';
import { OverdueRules } from './overdue';
import { TrailReadModel } from './read-model';
import type { RawTrailRecord } from './verify';
import { overdueSettings } from '.';

export interface TrailSnapshot {
  records: RawTrailRecord[];
  bounds: PartitionBounds;
}

export async function readTrail(clientConfig: RdKafkaConfig, organId: string, timeoutMs = 300_000, groupId?: string): Promise<TrailSnapshot> {
  const records: RawTrailRecord[] = [];
  const follower = new TopicFollower(clientConfig, { topic: trailTopic(organId), groupId, onRecords: (batch) => records.push(...batch.map((r) => ({ offset: r.offset, value: r.value }))) });
  await follower.start();
  try {
    const [bounds] = await follower.bounds();
    if (!(await follower.caughtUp(timeoutMs))) throw new Error(`the trail topic ${trailTopic(organId)} was not read to its end within ${timeoutMs} ms`);
    return { records: records.filter((r) => r.offset < bounds!.high).sort((a, b) => a.offset - b.offset), bounds: bounds! };
  } finally {
    await follower.stop();
  }
}

export function modelOf(config: AgencyConfig, records: RawTrailRecord[]): TrailReadModel {
  const rules = new OverdueRules(overdueSettings(config.trail));
  const model = new TrailReadModel(rules);
  for (const r of records) {
    try {
      const entry = decodeEntry(r.value);
      if (entry.organId === config.organId) model.apply({ entry, hash: hashOf(r.value), offset: r.offset });
    } catch (err) {
      if (!(err instanceof UnreadableEntry)) throw err;
    }
  }
  return model;
}
