import { strict as assert } from 'node:assert';
import { Rejection } from '../../src/errors';

/** Runs fn and returns the typed Rejection it throws; fails the test on anything else or on success. */
export function refusal(fn: () => unknown): Rejection {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof Rejection, `expected a Rejection, got ${String(err)}`);
    return err;
  }
  assert.fail('expected a Rejection');
}

/** Awaits the promise and returns the typed Rejection it rejects with; fails the test on anything else or on success. */
export async function asyncRefusal(promise: Promise<unknown>): Promise<Rejection> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof Rejection, `expected a Rejection, got ${String(err)}`);
    return err;
  }
  assert.fail('expected a Rejection');
}
