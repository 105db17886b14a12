/**
 * When to try a delivery again and when to give up (DESIGN.md §4 rules 3–4). Pure functions:
 * the receive pipeline asks them, tests pin them down.
 */
import { isRejection, type RejectionReason } from '../../errors';
import { DeliveryError } from '../../connectors/types';
import type { DeadLetterReason } from '../../observability/metrics';

export interface RetryPolicy {
  /** Real delivery attempts (calls that reached the sink) before the package is quarantined. */
  maxAttempts: number;
  initialDelayMs: number;
  maxDelayMs: number;
}

/**
 * Exponential backoff with "equal jitter": half the capped exponential delay is fixed, the other
 * half random, so retries of many records spread out yet never come back immediately.
 * `attempt` is the number of failed attempts so far (1 after the first failure).
 */
export function backoffDelayMs(policy: RetryPolicy, attempt: number, random: () => number = Math.random): number {
  const exponential = Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** Math.max(0, attempt - 1));
  const half = exponential / 2;
  return Math.round(half + random() * half);
}

export type FailureClass =
  | { kind: 'permanent'; reason: RejectionReason; detail: string }
  /** The sink was not asked at all (its breaker is open): not an attempt, wait for the probe. */
  | { kind: 'breaker-open'; detail: string }
  | { kind: 'transient'; detail: string };

/**
 * Transient: timeouts, connection failures, 5xx, 408, 429 — anything the sink did not call final.
 * Permanent: a Rejection (bad signature, limits, mapping) or a DeliveryError marked non-transient
 * (4xx other than 408/429): retrying cannot help, so the package goes to quarantine at once.
 */
export function classifyFailure(err: unknown, sinkName?: string): FailureClass {
  if (isRejection(err)) return { kind: 'permanent', reason: err.reason, detail: err.detail };
  const e = err as { code?: unknown; message?: unknown } | undefined;
  if (e?.code === 'EOPENBREAKER') return { kind: 'breaker-open', detail: `circuit breaker of sink ${sinkName ?? '?'} is open` };
  if (err instanceof DeliveryError && !err.transient) {
    return { kind: 'permanent', reason: 'delivery-rejected', detail: `sink ${sinkName ?? '?'} refused it: ${err.message}` };
  }
  const message = typeof e?.message === 'string' ? e.message : String(err);
  return { kind: 'transient', detail: e?.code === 'ETIMEDOUT' ? `sink ${sinkName ?? '?'} did not answer in time: ${message}` : message };
}

/** For HTTP-speaking sinks: whether a status answer is success, worth retrying, or final. */
export function classifyHttpStatus(status: number): 'ok' | 'transient' | 'permanent' {
  if (status >= 200 && status < 300) return 'ok';
  if (status === 408 || status === 429 || status >= 500) return 'transient';
  return 'permanent';
}

/** What a quarantined package carries in its dead-letter headers besides its reason. */
export interface FailureHistory {
  attempts: number;
  firstFailure?: Date;
  lastFailure?: Date;
}

export interface Quarantine {
  reason: DeadLetterReason;
  detail: string;
  /** The config key of the limit that refused it, e.g. `limits.maxOpenPackages`. */
  limit?: string;
  history: FailureHistory;
}
