import { strict as assert } from 'node:assert';
import { TrailAbandoned, TrailWriter } from '../../../src/trail/writer';
import { verifyTrail } from '../../../src/trail/verify';
import type { OutgoingRecord } from '../../../src/broker/producer';

const ORGAN = '000.00.00.H41';

/** A producer that refuses the first `failures` sends, then appends to a list like a partition. */
function flakyProducer(failures: number) {
  const log: Array<{ offset: number; value: Buffer }> = [];
  let calls = 0;
  return {
    log,
    calls: () => calls,
    send: async (r: OutgoingRecord) => {
      calls += 1;
      if (calls <= failures) throw new Error('broker unreachable');
      log.push({ offset: log.length, value: r.value });
      return { partition: 0, offset: log.length - 1 };
    },
  };
}

describe('trail writer: never loses a record it was given', () => {
  it('retries a refused write with the same bytes until Kafka holds it; the chain verifies', async () => {
    const producer = flakyProducer(3);
    const writer = new TrailWriter({ organId: ORGAN, producer, role: 'connector', retryDelayMs: () => 1 });
    await writer.open();
    await writer.recordAll([
      { step: { step: 'status-sent', documentId: 'd1', counterpart: '000.00.00.G22', statusCode: '01', description: 'Đã đến' } },
      { step: { step: 'status-sent', documentId: 'd2', counterpart: '000.00.00.G22', statusCode: '01', description: 'Đã đến' } },
    ]);
    assert.deepEqual(await writer.close(1_000), { abandoned: 0 });
    assert.equal(producer.calls(), 7);
    const report = verifyTrail(ORGAN, producer.log, 0);
    assert.deepEqual(report.problems, []);
    assert.equal(report.chains[0]!.closed, true);
    assert.equal(report.chains[0]!.lastSeq, 3);
  });

  it('cuts long strings, so a record always fits a Kafka message', async () => {
    const producer = flakyProducer(0);
    const writer = new TrailWriter({ organId: ORGAN, producer, role: 'connector' });
    await writer.record({ step: 'refused', source: 'outbox', item: 'x', reason: 'malformed-xml', detail: 'x'.repeat(100_000) });
    assert.ok(producer.log[0]!.value.length < 3_000);
  });

  it('at shutdown, records Kafka never acknowledged are abandoned and the chain stays open (no false close)', async () => {
    const producer = flakyProducer(Number.MAX_SAFE_INTEGER);
    const writer = new TrailWriter({ organId: ORGAN, producer, role: 'connector', retryDelayMs: () => 5 });
    const pending = writer.record({ step: 'checkpoint', heads: [] });
    const closed = await writer.close(50);
    await assert.rejects(pending, TrailAbandoned);
    assert.equal(closed.abandoned, 1);
    assert.equal(producer.log.length, 0);
  });

  it('vouches in a checkpoint only for the other chains’ heads that moved', async () => {
    const producer = flakyProducer(0);
    let heads = [{ chain: 'other', seq: 4, hash: 'aa'.repeat(32), at: 1 }];
    const writer = new TrailWriter({ organId: ORGAN, producer, role: 'connector', heads: () => heads });
    await writer.open();
    await writer.checkpoint();
    heads = [{ chain: 'other', seq: 9, hash: 'bb'.repeat(32), at: 2 }];
    await writer.checkpoint();
    const steps = producer.log.map((r) => JSON.parse(r.value.toString()));
    assert.deepEqual(steps.map((s) => [s.step, s.heads.map((h: { seq: number }) => h.seq)]), [['chain-opened', [4]], ['checkpoint', [9]]]);
  });
});
