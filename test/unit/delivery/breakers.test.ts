import { strict as assert } from 'node:assert';
import { DeliveryError, type DeliveryContext, type VendorMessage } from '../../../src/connectors/types';
import { createSinkBreaker } from '../../../src/pipeline/delivery/breakers';
import { createMetrics } from '../../../src/observability/metrics';
import { ScriptedSink, silentLog } from './fakes';

const message: VendorMessage = { body: Buffer.from('x'), fileName: 'x.edxml', contentType: 'application/xml', sideFiles: [] };
const context = (n: number): DeliveryContext => ({ documentId: `doc-${n}`, idempotencyKey: `k${n}`, kind: 'edoc', fromOrganId: 'A' });
const settings = { timeoutMs: 200, errorThresholdPercentage: 50, resetTimeoutMs: 300, volumeThreshold: 2 };

describe('per-sink circuit breaker', () => {
  it('opens after transient failures, refuses without calling the sink, probes half-open and closes on success', async () => {
    let down = true;
    const sink = new ScriptedSink('legacy', () => (down ? new DeliveryError('HTTP 503', true) : 'ok'));
    const metrics = createMetrics({ defaultMetrics: false });
    const breaker = createSinkBreaker(sink, settings, silentLog, metrics);
    try {
      for (let i = 0; i < 3; i++) await breaker.deliver(message, context(i)).catch(() => undefined);
      assert.equal(breaker.state(), 'open');
      const callsWhenOpened = sink.calls.length;
      await assert.rejects(breaker.deliver(message, context(9)), (e: { code?: string }) => e.code === 'EOPENBREAKER');
      assert.equal(sink.calls.length, callsWhenOpened, 'an open breaker does not touch the sink');
      assert.match(await metrics.exposition(), /vdxp_breaker_state\{[^}]*state="open"[^}]*\} 1/);

      down = false;
      const started = Date.now();
      await breaker.untilCallable();
      assert.ok(Date.now() - started >= 200, 'waits for the reset timeout');
      assert.equal(breaker.state(), 'half_open');
      await breaker.deliver(message, context(10));
      assert.equal(breaker.state(), 'closed');
      assert.ok(breaker.longestOpenMs() >= 250, `open for ${breaker.longestOpenMs()} ms`);
    } finally {
      breaker.shutdown();
    }
  });

  it('does not open on permanent refusals: the sink answered, it is healthy', async () => {
    const sink = new ScriptedSink('legacy', () => new DeliveryError('HTTP 422', false));
    const breaker = createSinkBreaker(sink, settings, silentLog);
    try {
      for (let i = 0; i < 6; i++) await assert.rejects(breaker.deliver(message, context(i)), /422/);
      assert.equal(breaker.state(), 'closed');
      assert.equal(sink.calls.length, 6);
    } finally {
      breaker.shutdown();
    }
  });

  it('counts a sink slower than its timeout as a failure', async () => {
    const sink = new ScriptedSink('slow', () => 1_000);
    const breaker = createSinkBreaker(sink, { ...settings, timeoutMs: 50 }, silentLog);
    try {
      await assert.rejects(breaker.deliver(message, context(1)), (e: { code?: string }) => e.code === 'ETIMEDOUT');
      await assert.rejects(breaker.deliver(message, context(2)), (e: { code?: string }) => e.code === 'ETIMEDOUT');
      assert.equal(breaker.state(), 'open');
    } finally {
      breaker.shutdown();
    }
  });
});
