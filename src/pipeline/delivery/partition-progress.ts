/**
 * Which offset of one partition may be committed while its records are worked on concurrently
 * (DESIGN.md §4 rule 1). Records are started in offset order, so everything below the oldest
 * unfinished record is finished: that oldest offset is the commit position. A record that
 * finishes early does not move it; a slow or retrying record holds it back without blocking
 * the work behind it.
 */
export class PartitionProgress {
  private readonly pending = new Set<number>();
  private highestStarted = -1;
  private committed: number | undefined;

  get inFlight(): number {
    return this.pending.size;
  }

  started(offset: number): void {
    this.pending.add(offset);
    this.highestStarted = Math.max(this.highestStarted, offset);
  }

  finished(offset: number): void {
    this.pending.delete(offset);
  }

  /** The next offset to consume after a restart: nothing below it is unfinished. */
  commitPosition(): number | undefined {
    if (this.highestStarted < 0) return undefined;
    return this.pending.size === 0 ? this.highestStarted + 1 : Math.min(...this.pending);
  }

  /** commitPosition() if it moved since the last markCommitted, else undefined. */
  commitCandidate(): number | undefined {
    const position = this.commitPosition();
    return position !== undefined && position !== this.committed ? position : undefined;
  }

  markCommitted(offset: number): void {
    this.committed = offset;
  }
}
