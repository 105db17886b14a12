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
  ) {
    this.follower = new TopicFollower(config, {
      topic: trailTopic(organId),
      onRecords: (records) => {
        for (const r of records) {
          try {
            const entry = decodeEntry(r.value);
            if (entry.organId !== organId) continue;
            this.model.apply({ entry, hash: hashOf(r.value), offset: r.offset });
          } catch (err) {
            if (!(err instanceof UnreadableEntry)) throw err;
            this.unreadable += 1;
            this.log?.warn({ step: 'trail', offset: r.offset, err: err.message }, 'unreadable trail record skipped (vdxp trail verify tells more)');
          }
        }
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
