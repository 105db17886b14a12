import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { PartitionProgress } from '../../../src/pipeline/delivery/partition-progress';

describe('PartitionProgress: commit only over a contiguous run of finished records', () => {
  it('holds the commit position at a slow record while later ones finish', () => {
    const p = new PartitionProgress();
    for (const o of [10, 11, 12, 13]) p.started(o);
    p.finished(11);
    p.finished(13);
    assert.equal(p.commitPosition(), 10, 'offset 10 is unfinished, so nothing past it is committed');
    p.finished(10);
    assert.equal(p.commitPosition(), 12);
    p.finished(12);
    assert.equal(p.commitPosition(), 14);
    assert.equal(p.inFlight, 0);
  });

  it('offers a commit only when the position moved', () => {
    const p = new PartitionProgress();
    assert.equal(p.commitCandidate(), undefined, 'nothing started, nothing to commit');
    p.started(0);
    p.started(1);
    assert.equal(p.commitCandidate(), 0);
    p.markCommitted(0);
    assert.equal(p.commitCandidate(), undefined);
    p.finished(1);
    assert.equal(p.commitCandidate(), undefined, 'offset 0 still holds it');
    p.finished(0);
    assert.equal(p.commitCandidate(), 2);
  });

  it('skips offset gaps (compaction, transaction markers)', () => {
    const p = new PartitionProgress();
    p.started(5);
    p.started(9);
    p.finished(5);
    assert.equal(p.commitPosition(), 9);
    p.finished(9);
    assert.equal(p.commitPosition(), 10);
  });

  it('never commits past an unfinished record, whatever the finishing order', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 40 }), fc.array(fc.nat(), { minLength: 40, maxLength: 40 }), (n, order) => {
        const p = new PartitionProgress();
        for (let o = 0; o < n; o++) p.started(o);
        const remaining = Array.from({ length: n }, (_, i) => i);
        const finished = new Set<number>();
        for (const pick of order.slice(0, n)) {
          const [o] = remaining.splice(pick % remaining.length, 1);
          p.finished(o!);
          finished.add(o!);
          const position = p.commitPosition()!;
          for (let below = 0; below < position; below++) assert.ok(finished.has(below), `committed past unfinished ${below}`);
          assert.ok(position === n || !finished.has(position), 'the position is the oldest unfinished record');
        }
        assert.equal(p.commitPosition(), n);
      }),
    );
  });
});
