import { strict as assert } from 'node:assert';
import { attemptWithinBudget, BudgetExhausted } from '../../../src/broker/record-budget';
import { consumerReadiness } from '../../../src/pipeline/agency';

class Outage extends Error {}
const policy = (maxAttempts: number) => ({ maxAttempts, retryDelayMs: () => 1, isTransient: (err: unknown) => err instanceof Outage });
const never = new AbortController().signal;

describe('the budget of a record', () => {
  it('gives up after maxAttempts counted failures, with the last error', async () => {
    let calls = 0;
    const outcome = await attemptWithinBudget(
      async () => {
        calls += 1;
        throw new Error(`failure ${calls}`);
      },
      never,
      policy(3),
      () => undefined,
    );
    assert.equal(calls, 3);
    assert.equal(outcome.kind, 'exhausted');
    assert.match(String((outcome as { error: Error }).error.message), /failure 3/);
  });

  it('waits out failures of the backbone without counting them', async () => {
    let calls = 0;
    const seen: Array<[number, boolean]> = [];
    const outcome = await attemptWithinBudget(
      async () => {
        calls += 1;
        if (calls <= 5) throw new Outage('broker down');
        if (calls === 6) throw new Error('the record’s own');
      },
      never,
      policy(2),
      (_err, attempt, transient) => seen.push([attempt, transient]),
    );
    assert.equal(outcome.kind, 'done');
    assert.deepEqual(seen, [[0, true], [0, true], [0, true], [0, true], [0, true], [1, false]]);
  });

  it('stops at once when the work says its own budget is spent, and when the signal aborts', async () => {
    const spent = await attemptWithinBudget(async () => Promise.reject(new BudgetExhausted('attempts', 7, new Error('inner'))), never, policy(10), () => undefined);
    assert.deepEqual([spent.kind, (spent as { attempts: number }).attempts, (spent as { error: Error }).error.message], ['exhausted', 7, 'inner']);
    const controller = new AbortController();
    const aborted = attemptWithinBudget(async () => Promise.reject(new Outage('down')), controller.signal, policy(1), () => undefined);
    setTimeout(() => controller.abort(), 20);
    assert.equal((await aborted).kind, 'aborted');
  });
});

describe('readiness check consumer', () => {
  const healthy = { inFlight: 3, maxInFlight: 64, parked: 2, waiting: 0, saturatedMs: 0, failing: [] };
  const limits = { maxSaturatedMs: 300_000, maxRecordFailures: 3 };

  it('passes while work moves, and while a record has failed fewer times than the limit', () => {
    assert.equal(consumerReadiness(healthy, limits), true);
    assert.equal(consumerReadiness({ ...healthy, saturatedMs: 299_000, failing: [{ topic: 't', partition: 0, offset: 9, attempts: 2 }] }, limits), true);
  });

  it('fails, saying why, when work stayed at its limit too long or a record keeps failing', () => {
    assert.match(String(consumerReadiness({ ...healthy, saturatedMs: 301_000 }, limits)), /at its limit of 64 records for 301 s/);
    assert.match(String(consumerReadiness({ ...healthy, failing: [{ topic: 'vdxp.docs.X', partition: 2, offset: 41, attempts: 3 }] }, limits)), /record vdxp\.docs\.X\/2@41 has failed 3 times/);
  });
});
