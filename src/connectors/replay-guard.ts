/**
 * Replay refusal for signed requests (docs/SECURITY.md, "The HTTP ingest"). A signed request is
 * claimed by its replay key once it is authentic; only the first claim is handled. A copy that
 * comes while the first is in flight is told to ask again; a copy of one that was accepted is
 * answered as accepted and sends nothing. A request that was refused or failed is released, so
 * the same bytes may be sent again (a vendor retrying after a 503). Entries live until the
 * signature's timestamp leaves the skew window, after which the signature itself is refused.
 *
 * The guard shared by every replica of an agency is the Kafka ledger in
 * src/broker/request-ledger.ts; MemoryReplayGuard serves one process (tests, and a source
 * started without the ledger).
 */

export type ReplayOutcome = 'accepted' | 'released';

/**
 * How long an entry is kept after its window end. A copy that comes later is refused by the
 * signature's timestamp check at its own arrival; the grace only keeps the entry of a request
 * whose upload outlasted its window until that request is settled.
 */
export const REPLAY_ENTRY_GRACE_MS = 60 * 60 * 1000;

export type ReplayClaim =
  /** The first copy: handle it, then settle the claim with what became of it. */
  | { verdict: 'first'; settle(outcome: ReplayOutcome): Promise<void> }
  /** A copy of a request that was accepted at `acceptedAt`: nothing is to be sent again. */
  | { verdict: 'accepted'; acceptedAt: Date }
  /** A copy of a request being handled right now (elsewhere or here). */
  | { verdict: 'in-flight' };

export interface ReplayGuard {
  /**
   * Claims `key` until `expiresAtMs`. Rejects when the guard cannot decide (e.g. the ledger is
   * unreachable): the request should then be answered "retry later", never handled unguarded.
   */
  claim(key: string, expiresAtMs: number): Promise<ReplayClaim>;
}

interface Entry {
  state: 'claimed' | 'accepted';
  acceptedAt?: Date;
  expiresAtMs: number;
}

export class MemoryReplayGuard implements ReplayGuard {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly now: () => number = Date.now) {}

  async claim(key: string, expiresAtMs: number): Promise<ReplayClaim> {
    this.prune();
    const entry = this.entries.get(key);
    if (entry?.state === 'accepted') return { verdict: 'accepted', acceptedAt: entry.acceptedAt! };
    if (entry) return { verdict: 'in-flight' };
    const mine: Entry = { state: 'claimed', expiresAtMs };
    this.entries.set(key, mine);
    return {
      verdict: 'first',
      settle: async (outcome) => {
        if (this.entries.get(key) !== mine) return;
        if (outcome === 'released') this.entries.delete(key);
        else Object.assign(mine, { state: 'accepted', acceptedAt: new Date(this.now()) });
      },
    };
  }

  private prune(): void {
    const at = this.now();
    for (const [key, entry] of this.entries) if (entry.expiresAtMs + REPLAY_ENTRY_GRACE_MS < at) this.entries.delete(key);
  }
}
