/**
 * The consumer's retry rule for work on a record (DESIGN.md §4 rule 1): keep trying until it is
 * done or the signal aborts (shutdown), with a growing pause between attempts. What is not done
 * stays uncommitted and comes back after a restart.
 */
import { sleep } from '../sleep';

/** Delay before attempt n+1 when the caller sets none: 0.5 s, 1 s, 2 s, … up to 30 s. */
export const defaultRetryDelayMs = (attempt: number): number => Math.min(30_000, 250 * 2 ** attempt);

/** True once `work` resolved; false if the signal aborted first. `onError` hears every failed attempt. */
export async function untilDone(
  work: () => Promise<void>,
  signal: AbortSignal,
  retryDelayMs: (attempt: number) => number,
  onError: (error: unknown, attempt: number) => void,
): Promise<boolean> {
  for (let attempt = 1; !signal.aborted; attempt++) {
    try {
      await work();
      return true;
    } catch (err) {
      if (signal.aborted) return false;
      onError(err, attempt);
      await sleep(retryDelayMs(attempt), signal);
    }
  }
  return false;
}
