/**
 * The agency's outbox (issue 15): its own packages for recipients that an outbound route sends
 * through a VXP endpoint (./outbound-routes.ts) wait in `vdxp.outbox.<OrganId>`, written by the
 * send pipeline before the source is answered. This consumer, in a group of its own so that an
 * endpoint that is down never pauses what the backbone brings the agency, hands each to its route's
 * endpoint (./outbox-delivery.ts), one circuit breaker per route.
 */
import type { AgencyConfig } from '../config/types';
import type { BackboneProducer } from '../broker/producer';
import type { BackboneConsumer } from '../broker/consumer';
import { createOutboundSink } from '../connectors';
import type { Logger } from '../observability/log';
import type { Metrics } from '../observability/metrics';
import type { TrailRecorder } from '../trail';
import { createSinkBreaker, type SinkBreaker } from './delivery/breakers';
import type { Consuming } from './consuming';
import { makeOutboxHandler } from './outbox-delivery';
import type { OutboundRoute } from './outbound-routes';
import type { Self } from './statuses';

export interface OutboxSetup {
  config: AgencyConfig;
  routes: readonly OutboundRoute[];
  /** A consumer of the outbox topic that pauses while one of these breakers is open. */
  consuming: (breakers: SinkBreaker[]) => Consuming;
  /** Retries a step against the backbone until it succeeds (the agency's untilConnected). */
  connect: (step: () => Promise<void>) => Promise<void>;
  self: Self;
  producer: BackboneProducer;
  log: Logger;
  metrics: Metrics;
  trail?: TrailRecorder;
}

export interface RunningOutbox {
  readonly consumer: BackboneConsumer;
  /** Drains what is in flight (up to `drainMs`), commits, and stops the routes' clients. */
  stop(drainMs: number): Promise<{ abandoned: number } | undefined>;
}

export async function startOutbox(setup: OutboxSetup): Promise<RunningOutbox> {
  const { config, log, metrics } = setup;
  const breakers = new Map<string, SinkBreaker>();
  for (const route of setup.routes) {
    const connector = config.connectors.find((c) => c.name === route.connector)!;
    const breaker = createSinkBreaker(createOutboundSink(connector), config.delivery.breaker, log, metrics);
    await breaker.sink.start();
    breakers.set(route.connector, breaker);
  }
  const consuming = setup.consuming([...breakers.values()]);
  await setup.connect(() => consuming.consumer.connect());
  consuming.start(makeOutboxHandler({ self: setup.self, producer: setup.producer, limits: config.limits, retry: config.delivery.retry, endpoints: breakers, log, metrics, trail: setup.trail }));
  log.info({ step: 'startup', routes: setup.routes.map((r) => r.connector) }, 'outbox consumer running');
  return {
    consumer: consuming.consumer,
    stop: async (drainMs) => {
      const drained = await consuming.consumer.stop(drainMs);
      for (const b of breakers.values()) b.shutdown();
      await Promise.allSettled([...breakers.values()].map((b) => b.sink.stop()));
      await consuming.assembler.close();
      return drained;
    },
  };
}
