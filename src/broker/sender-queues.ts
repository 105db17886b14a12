/**
 * Per-sender fairness for the records the consumer fetched and has not started yet (issue 14,
 * docs/DELIVERY.md "Fairness between senders"). Each sender (the `vdxp-from` header, as claimed)
 * has its own queue, kept in arrival order, so the records of one sender, the chunks of one of its
 * packages among them, start in the order they arrived. The next record to start is the head of the
 * queue whose sender has the fewest records in flight; ties go to the sender served longest ago.
 * It is work-conserving: a sender alone gets every slot; a flood from one sender shares them with
 * every other sender that has a record waiting.
 */
export class SenderQueues<T extends { value: Buffer }> {
  private readonly queues = new Map<string, T[]>();
  private readonly inFlight = new Map<string, number>();
  private readonly lastServed = new Map<string, number>();
  private served = 0;
  private waitingBytes = 0;
  private waiting = 0;

  constructor(private readonly senderOf: (item: T) => string) {}

  /** Records waiting to start. */
  get size(): number {
    return this.waiting;
  }

  /** Bytes of the records waiting to start. */
  get bytes(): number {
    return this.waitingBytes;
  }

  push(item: T): void {
    const sender = this.senderOf(item);
    let queue = this.queues.get(sender);
    if (!queue) this.queues.set(sender, (queue = []));
    queue.push(item);
    this.waiting += 1;
    this.waitingBytes += item.value.length;
  }

  /** Takes the next record to start and counts it in flight for its sender (finished() uncounts it). */
  next(): { item: T; sender: string } | undefined {
    let best: string | undefined;
    for (const sender of this.queues.keys()) {
      if (best === undefined || this.before(sender, best)) best = sender;
    }
    if (best === undefined) return undefined;
    const queue = this.queues.get(best)!;
    const item = queue.shift()!;
    if (queue.length === 0) this.queues.delete(best);
    this.waiting -= 1;
    this.waitingBytes -= item.value.length;
    this.inFlight.set(best, (this.inFlight.get(best) ?? 0) + 1);
    this.lastServed.set(best, ++this.served);
    return { item, sender: best };
  }

  finished(sender: string): void {
    const left = (this.inFlight.get(sender) ?? 0) - 1;
    if (left > 0) this.inFlight.set(sender, left);
    else {
      this.inFlight.delete(sender);
      if (!this.queues.has(sender)) this.lastServed.delete(sender);
    }
  }

  /** Removes the waiting records `drop` selects (partitions revoked, or shutdown); returns how many. */
  remove(drop: (item: T) => boolean): number {
    let removed = 0;
    for (const [sender, queue] of this.queues) {
      const kept = queue.filter((item) => {
        if (!drop(item)) return true;
        removed += 1;
        this.waitingBytes -= item.value.length;
        return false;
      });
      if (kept.length === 0) this.queues.delete(sender);
      else this.queues.set(sender, kept);
    }
    this.waiting -= removed;
    return removed;
  }

  private before(a: string, b: string): boolean {
    const fa = this.inFlight.get(a) ?? 0;
    const fb = this.inFlight.get(b) ?? 0;
    if (fa !== fb) return fa < fb;
    return (this.lastServed.get(a) ?? 0) < (this.lastServed.get(b) ?? 0);
  }
}
