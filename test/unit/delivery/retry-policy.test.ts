import { strict as assert } from 'node:assert';
import { Rejection } from '../../../src/errors';
import { DeliveryError } from '../../../src/connectors/types';
import { backoffDelayMs, classifyFailure, classifyHttpStatus } from '../../../src/pipeline/delivery/retry-policy';

describe('retry policy: backoff with jitter and the transient/permanent split', () => {
  const policy = { maxAttempts: 8, initialDelayMs: 500, maxDelayMs: 10_000 };

  it('doubles the delay per attempt, with jitter between half and the whole of it', () => {
    for (const [attempt, full] of [[1, 500], [2, 1000], [3, 2000], [4, 4000], [5, 8000]] as const) {
      assert.equal(backoffDelayMs(policy, attempt, () => 0), full / 2);
      assert.equal(backoffDelayMs(policy, attempt, () => 1), full);
      const d = backoffDelayMs(policy, attempt);
      assert.ok(d >= full / 2 && d <= full, `attempt ${attempt}: ${d}`);
    }
  });

  it('never waits longer than maxDelayMs, however many attempts', () => {
    assert.equal(backoffDelayMs(policy, 6, () => 1), 10_000);
    assert.equal(backoffDelayMs(policy, 60, () => 1), 10_000);
  });

  it('spreads retries of many records (jitter is real)', () => {
    const delays = new Set(Array.from({ length: 50 }, () => backoffDelayMs(policy, 4)));
    assert.ok(delays.size > 10, `only ${delays.size} distinct delays`);
  });

  it('quarantines checks and refusals at once, retries timeouts and connection failures', () => {
    assert.deepEqual(classifyFailure(new Rejection('bad-signature', 'x')), { kind: 'permanent', reason: 'bad-signature', detail: 'x' });
    assert.deepEqual(classifyFailure(new Rejection('mapping-failed', 'm')), { kind: 'permanent', reason: 'mapping-failed', detail: 'm' });
    const refused = classifyFailure(new DeliveryError('HTTP 422', false), 'legacy');
    assert.equal(refused.kind, 'permanent');
    assert.equal(refused.kind === 'permanent' && refused.reason, 'delivery-rejected');
    assert.equal(classifyFailure(new DeliveryError('HTTP 503', true)).kind, 'transient');
    assert.equal(classifyFailure(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })).kind, 'transient');
    assert.equal(classifyFailure(Object.assign(new Error('Timed out after 100ms'), { code: 'ETIMEDOUT' })).kind, 'transient');
    assert.equal(classifyFailure(Object.assign(new Error('Breaker is open'), { code: 'EOPENBREAKER' })).kind, 'breaker-open');
  });

  it('treats 408, 429 and 5xx as transient, other 4xx as permanent', () => {
    assert.equal(classifyHttpStatus(200), 'ok');
    assert.equal(classifyHttpStatus(204), 'ok');
    for (const s of [408, 429, 500, 502, 503, 504]) assert.equal(classifyHttpStatus(s), 'transient', String(s));
    for (const s of [400, 401, 403, 404, 409, 413, 422]) assert.equal(classifyHttpStatus(s), 'permanent', String(s));
  });
});
