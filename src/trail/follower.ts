/**
 * Keeps a read model current: reads the trail topic from its first record at start (the rebuild)
 * and then follows it, so records written by any replica of the agency reach every replica.
 */
import type { RdKafkaConfig } from '../broker/client-config';
import { TopicFollower } from '../broker/topic-follower';
import { trailTopic } from '../broker/topics';
import type { Logger } from '../observability/log';
import { decodeEntry, hashOf, UnreadableEntry } from './record';
import type { TrailReadModel } from './read-model';

export class TrailFollower {
  private readonly follower: TopicFollower;
  private unreadable = 0;

  constructor(
    config: RdKafkaConfig,
    organId: string,
    private readonly model: TrailReadModel,
    private readonly log?: Logger,
    groupId?: string,
  ) {
    this.follower = new TopicFollower(config, {
      topic: trailTopic(organId),
      groupId,
      onRecords: (records) => {
        // Only a chain's head needs its hash (checkpoints vouch for it): hash the last record of
        // each chain in the batch, not every record (a third of the rebuild's time otherwise).
        const decoded: Array<{ entry: ReturnType<typeof decodeEntry>; value: Buffer; offset: number }> = [];
        const lastOfChain = new Map<string, number>();
        for (const r of records) {
          try {
            const entry = decodeEntry(r.value);
            if (entry.organId !== organId) continue;
            lastOfChain.set(entry.chain, decoded.length);
            decoded.push({ entry, value: r.value, offset: r.offset });
          } catch (err) {
            if (!(err instanceof UnreadableEntry)) throw err;
            this.unreadable += 1;
            this.log?.warn({ step: 'trail', offset: r.offset, err: err.message }, 'unreadable trail record skipped (vdxp trail verify tells more)');
          }
        }
        decoded.forEach((d, i) => this.model.apply({ entry: d.entry, hash: lastOfChain.get(d.entry.chain) === i ? hashOf(d.value) : '', offset: d.offset }));
      },
      onError: (err) => this.log?.warn({ step: 'trail', err: err.message }, 'reading the trail failed; retrying'),
    });
  }

  get unreadableRecords(): number {
    return this.unreadable;
  }

  /** Connects and reads until the records present now are all applied (false: not within timeoutMs). */
  async start(timeoutMs = 120_000): Promise<boolean> {
    await this.follower.start();
    return this.follower.caughtUp(timeoutMs);
  }

  caughtUp(timeoutMs: number): Promise<boolean> {
    return this.follower.caughtUp(timeoutMs);
  }

  stop(): Promise<void> {
    return this.follower.stop();
  }
}
