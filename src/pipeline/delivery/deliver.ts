/**
 * The one retry loop of every delivery (DESIGN.md §4 rule 4): the receive pipeline's sinks and the
 * outbox's endpoints (src/pipeline/outbox-delivery.ts) go through it, behind their circuit breakers.
 */
import type { DeliveryContext, VendorMessage } from '../../connectors/types';
import type { Logger } from '../../observability/log';
import type { Metrics } from '../../observability/metrics';
import { sleep } from '../../sleep';
import type { SinkBreaker } from './breakers';
import { backoffDelayMs, classifyFailure, type FailureHistory, type Quarantine, type RetryPolicy } from './retry-policy';

export interface RetryDependencies {
  retry: RetryPolicy;
  log: Logger;
  metrics?: Metrics;
  now?: () => Date;
}

/** A package that will not be delivered: it goes to the dead-letter topic. */
export class Quarantined extends Error {
  constructor(readonly quarantine: Quarantine) {
    super(`${quarantine.reason}: ${quarantine.detail}`);
  }
}

/**
 * Calls the sink until it confirms, it refuses for good, or the attempts run out. Neither a call
 * the open breaker refused nor a failed half-open probe is an attempt: the record waits for the
 * sink to come back (consumption is paused meanwhile), so a legacy system that is down for an
 * hour does not bleed good packages into quarantine. Attempts count failures of a sink that is
 * otherwise answering, which is what points at the package itself.
 */
export async function deliverWithRetries(deps: RetryDependencies, breaker: SinkBreaker, message: VendorMessage, context: DeliveryContext, signal: AbortSignal): Promise<void> {
  const history: FailureHistory = { attempts: 0 };
  for (;;) {
    if (signal.aborted) throw new Error(`delivery of ${context.documentId} abandoned: shutting down`);
    const probe = breaker.state() === 'half_open';
    try {
      await breaker.deliver(message, context);
      return;
    } catch (err) {
      const failure = classifyFailure(err, breaker.sinkName);
      if (failure.kind === 'breaker-open') {
        await breaker.untilCallable(signal);
        continue;
      }
      const at = deps.now?.() ?? new Date();
      history.firstFailure ??= at;
      history.lastFailure = at;
      if (probe && failure.kind === 'transient') {
        // A failed half-open probe says the sink is still down, nothing about this package: no attempt spent.
        deps.log.warn({ step: 'retry', documentId: context.documentId, sink: breaker.sinkName, err: failure.detail }, 'probe failed; the sink is still unavailable');
        continue;
      }
      history.attempts += 1;
      if (failure.kind === 'permanent') throw new Quarantined({ reason: failure.reason, detail: failure.detail, history });
      if (history.attempts >= deps.retry.maxAttempts) {
        throw new Quarantined({ reason: 'retries-exhausted', detail: `sink ${breaker.sinkName}: ${history.attempts} attempts failed; the last: ${failure.detail}`, history });
      }
      const delayMs = backoffDelayMs(deps.retry, history.attempts);
      deps.metrics?.retried(breaker.sinkName);
      deps.log.warn({ step: 'retry', documentId: context.documentId, sink: breaker.sinkName, attempt: history.attempts, retryInMs: delayMs, err: failure.detail }, 'delivery failed; will retry');
      await sleep(delayMs, signal);
    }
  }
}

