/**
 * One circuit breaker per sink (DESIGN.md §4 rule 4), built on opossum. A sink that keeps failing
 * transiently is not asked again until resetTimeoutMs passed; then one probe goes through
 * (half-open) and its result closes or reopens the breaker. Permanent refusals (a 4xx for one
 * package) do not count: the sink answered, it is healthy.
 */
import CircuitBreaker from 'opossum';
import type { DeliveryContext, Sink, VendorMessage } from '../../connectors/types';
import type { Logger } from '../../observability/log';
import type { BreakerState, Metrics } from '../../observability/metrics';
import { classifyFailure } from './retry-policy';

export interface BreakerSettings {
  timeoutMs: number;
  errorThresholdPercentage: number;
  resetTimeoutMs: number;
  volumeThreshold: number;
}

export interface SinkBreaker {
  readonly sinkName: string;
  readonly sink: Sink;
  deliver(message: VendorMessage, context: DeliveryContext): Promise<void>;
  state(): BreakerState;
  /** Resolves once the breaker lets a call through again (half-open or closed), or on abort. */
  untilCallable(signal?: AbortSignal): Promise<void>;
  /** The longest time this breaker stayed open, in ms (including a current open period). */
  longestOpenMs(): number;
  shutdown(): void;
}

export function createSinkBreaker(sink: Sink, settings: BreakerSettings, log: Logger, metrics?: Metrics): SinkBreaker {
  const breaker = new CircuitBreaker((message: VendorMessage, context: DeliveryContext) => sink.deliver(message, context), {
    timeout: settings.timeoutMs,
    errorThresholdPercentage: settings.errorThresholdPercentage,
    resetTimeout: settings.resetTimeoutMs,
    volumeThreshold: settings.volumeThreshold,
    errorFilter: (err: unknown) => classifyFailure(err, sink.name).kind === 'permanent',
  });
  let openedAt: number | undefined;
  let longest = 0;
  const waiters = new Set<() => void>();
  const report = (state: BreakerState) => {
    metrics?.setBreakerState(sink.name, state);
    for (const wake of waiters) wake();
    waiters.clear();
  };
  breaker.on('open', () => {
    openedAt ??= Date.now();
    log.warn({ step: 'breaker', sink: sink.name, state: 'open', retryInMs: settings.resetTimeoutMs }, `circuit breaker of sink ${sink.name} opened`);
    report('open');
  });
  breaker.on('halfOpen', () => {
    log.info({ step: 'breaker', sink: sink.name, state: 'half_open' }, `circuit breaker of sink ${sink.name} half-open: probing`);
    report('half_open');
  });
  breaker.on('close', () => {
    const openMs = openedAt === undefined ? 0 : Date.now() - openedAt;
    longest = Math.max(longest, openMs);
    openedAt = undefined;
    log.info({ step: 'breaker', sink: sink.name, state: 'closed', openMs }, `circuit breaker of sink ${sink.name} closed after ${openMs} ms`);
    report('closed');
  });
  metrics?.setBreakerState(sink.name, 'closed');

  const state = (): BreakerState => (breaker.opened ? 'open' : breaker.halfOpen ? 'half_open' : 'closed');
  return {
    sinkName: sink.name,
    sink,
    deliver: (message, context) => breaker.fire(message, context) as Promise<void>,
    state,
    untilCallable: (signal) =>
      new Promise<void>((resolve) => {
        // Half-open lets one probe through; the others wait for its verdict like during open.
        const probeTaken = breaker.halfOpen && !(breaker as unknown as { pendingClose: boolean }).pendingClose;
        if ((!breaker.opened && !probeTaken) || signal?.aborted) return resolve();
        const fallback = setTimeout(wake, 1_000); // a missed event costs one cheap refused call, never a hang
        function wake() {
          clearTimeout(fallback);
          signal?.removeEventListener('abort', wake);
          waiters.delete(wake);
          resolve();
        }
        waiters.add(wake);
        signal?.addEventListener('abort', wake, { once: true });
      }),
    longestOpenMs: () => Math.max(longest, openedAt === undefined ? 0 : Date.now() - openedAt),
    shutdown: () => breaker.shutdown(),
  };
}
