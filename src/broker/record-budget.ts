/**
 * How often work on one record may fail before the record is given up (issue 14, docs/DELIVERY.md
 * "The budget of a record"). A failure of the backbone itself (the broker unreachable, a produce
 * request timed out) is not the record's fault: it is waited out and not counted, while the
 * consumer pauses (BackboneProducer.unavailable). Every other failure counts; after maxAttempts
 * the caller gives the record up (dead letter, or, if even that fails, a log line, a metric and a
 * commit past it). Nothing is retried forever.
 */
import { sleep } from '../sleep';

export interface AttemptPolicy {
  /** Failed attempts (not counting transient backbone failures) before the work is given up. */
  maxAttempts: number;
  /** Delay before attempt n+1 after n failures. */
  retryDelayMs: (attempt: number) => number;
  /** True for a failure of the backbone itself: waited out, not counted. */
  isTransient?: (error: unknown) => boolean;
}

export type AttemptOutcome = { kind: 'done' } | { kind: 'aborted' } | { kind: 'exhausted'; attempts: number; error: unknown };

/** Delay before attempt n+1 when the caller sets none: 0.5 s, 1 s, 2 s, … up to 30 s. */
export const defaultRetryDelayMs = (attempt: number): number => Math.min(30_000, 250 * 2 ** attempt);

/** Failed attempts before a record is given up, by default (`limits.maxRecordAttempts`). */
export const DEFAULT_MAX_ATTEMPTS = 10;

/** Runs `work` until it resolves, the signal aborts, or its failures use up the policy's attempts. */
export async function attemptWithinBudget(
  work: () => Promise<void>,
  signal: AbortSignal,
  policy: AttemptPolicy,
  onError: (error: unknown, attempt: number, transient: boolean) => void,
): Promise<AttemptOutcome> {
  let attempts = 0;
  let transientStreak = 0;
  while (!signal.aborted) {
    try {
      await work();
      return { kind: 'done' };
    } catch (error) {
      if (signal.aborted) return { kind: 'aborted' };
      if (error instanceof BudgetExhausted) return { kind: 'exhausted', attempts: Math.max(attempts, error.attempts), error: error.cause ?? error };
      const transient = policy.isTransient?.(error) ?? false;
      if (transient) {
        transientStreak += 1;
        onError(error, attempts, true);
        await sleep(policy.retryDelayMs(Math.min(transientStreak, 6)), signal);
        continue;
      }
      transientStreak = 0;
      attempts += 1;
      onError(error, attempts, false);
      if (attempts >= policy.maxAttempts) return { kind: 'exhausted', attempts, error };
      await sleep(policy.retryDelayMs(attempts), signal);
    }
  }
  return { kind: 'aborted' };
}

/**
 * Thrown by a handler (e.g. the chunk assembler for a package) whose own budget ran out: the
 * consumer gives the record up at once instead of calling the handler again.
 */
export class BudgetExhausted extends Error {
  constructor(
    readonly budget: 'attempts' | 'time',
    readonly attempts: number,
    override readonly cause: unknown,
  ) {
    super(`${budget === 'attempts' ? `${attempts} failed attempts` : 'time budget spent'}: ${cause instanceof Error ? cause.message : String(cause)}`);
    this.name = 'BudgetExhausted';
  }
}
