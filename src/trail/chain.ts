/**
 * One writer's hash chain: hands out seq numbers and links each record to the previous one.
 * Pure: the writer (./writer.ts) decides when the bytes go to Kafka.
 */
import { encodeEntry, hashOf, TRAIL_FORMAT_VERSION, type TrailEntry, type TrailStep } from './record';

export interface ChainedRecord {
  entry: TrailEntry;
  bytes: Buffer;
  hash: string;
}

export class HashChain {
  private nextSeq = 0;
  private head = '';

  constructor(
    readonly chainId: string,
    private readonly organId: string,
  ) {}

  /** Seq and hash of the last record appended, or undefined before the first. */
  get last(): { seq: number; hash: string } | undefined {
    return this.nextSeq === 0 ? undefined : { seq: this.nextSeq - 1, hash: this.head };
  }

  append(step: TrailStep, at: Date): ChainedRecord {
    const entry = { v: TRAIL_FORMAT_VERSION, chain: this.chainId, seq: this.nextSeq, prev: this.head, at: at.toISOString(), organId: this.organId, ...step } as TrailEntry;
    const bytes = encodeEntry(entry);
    const hash = hashOf(bytes);
    this.nextSeq += 1;
    this.head = hash;
    return { entry, bytes, hash };
  }
}
