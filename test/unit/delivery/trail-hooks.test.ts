/**
 * "A crash never leaves a delivery without its record": the receive handler resolves (and so lets
 * the consumer commit) only after the trail holds the records of the delivery, and the send
 * handler accepts a source item only after the trail holds its records. A trail that cannot be
 * written leaves the record uncommitted and the item with its source, to be done again.
 */
import { strict as assert } from 'node:assert';
import { makeReceiveHandler, type SinkBinding } from '../../../src/pipeline/receive';
import { makeSendHandler } from '../../../src/pipeline/send';
import { createSinkBreaker } from '../../../src/pipeline/delivery/breakers';
import { deadLetterTopic, docsTopic, statusTopic, HEADERS } from '../../../src/broker/topics';
import { profileByName } from '../../../src/transform';
import { withDefaults } from '../../../src/limits';
import type { IncomingRecord } from '../../../src/broker/consumer';
import type { TrailRecorder } from '../../../src/trail';
import type { TrailStep } from '../../../src/trail/record';
import { Spool } from '../../../src/pipeline/spool';
import { makeEdoc } from '../../support/packages';
import { MemoryBackbone, ScriptedSink, silentLog } from './fakes';

const SENDER = '000.00.00.H41';
const US = '000.00.00.G22';

/** A trail whose writes are held until released, or fail. */
function heldTrail() {
  const written: TrailStep[] = [];
  let release: () => void = () => undefined;
  let fail: (e: Error) => void = () => undefined;
  const gate = new Promise<void>((res, rej) => ((release = res), (fail = rej)));
  gate.catch(() => undefined);
  const trail: TrailRecorder = {
    record: async (step) => {
      await gate;
      written.push(step);
    },
    recordAll: async (steps) => {
      await gate;
      written.push(...steps.map((s) => s.step));
    },
  };
  return { trail, written, release: () => release(), fail: (e: Error) => fail(e) };
}

const settledWithin = (p: Promise<unknown>, ms: number) => Promise.race([p.then(() => 'settled', () => 'settled'), new Promise((r) => setTimeout(() => r('pending'), ms))]);

function receiveSetup(trail: TrailRecorder) {
  const sink = new ScriptedSink('legacy', () => 'ok');
  const backbone = new MemoryBackbone(new Set([statusTopic(SENDER), deadLetterTopic(US)]));
  const breaker = createSinkBreaker(sink, { timeoutMs: 1_000, errorThresholdPercentage: 100, resetTimeoutMs: 100, volumeThreshold: 1_000 }, silentLog);
  const binding: SinkBinding = { breaker, profile: profileByName('edxml'), profileOptions: {} };
  const handler = makeReceiveHandler({ self: { organId: US }, limits: withDefaults(), sinks: [binding], retry: { maxAttempts: 2, initialDelayMs: 5, maxDelayMs: 5 }, producer: backbone, log: silentLog, trail });
  return { sink, handler, breaker };
}

const record = (value: Buffer): IncomingRecord => ({ topic: docsTopic(US), partition: 1, offset: 9, key: 'k', value, headers: { [HEADERS.kind]: 'edoc' }, timestamp: Date.now() });

describe('trail hooks: the pipeline lets go only after the trail holds the records', () => {
  it('receive: delivered, but the record is not settled until the trail acknowledged received, verified, delivered and status 01', async () => {
    const held = heldTrail();
    const { sink, handler, breaker } = receiveSetup(held.trail);
    const done = handler(record(makeEdoc({ from: SENDER, to: [US], number: 1 })), new AbortController().signal);
    assert.equal(await settledWithin(done, 200), 'pending');
    assert.equal(sink.delivered.length, 1, 'the delivery itself did not wait for the trail');
    held.release();
    await done;
    breaker.shutdown();
    assert.deepEqual(held.written.map((s) => s.step + ('statusCode' in s && s.statusCode ? `:${s.statusCode}` : '')), ['received', 'verified', 'delivered', 'status-sent:01']);
  });

  it('receive: a trail that cannot be written fails the handler, so the offset is not committed', async () => {
    const held = heldTrail();
    const { handler, breaker } = receiveSetup(held.trail);
    held.fail(new Error('trail writer stopped'));
    await assert.rejects(handler(record(makeEdoc({ from: SENDER, to: [US], number: 2 })), new AbortController().signal), /trail writer stopped/);
    breaker.shutdown();
  });

  it('receive: a dead letter has its record, with the reason, before the record is settled', async () => {
    const held = heldTrail();
    const { handler, breaker } = receiveSetup(held.trail);
    held.release();
    await handler(record(Buffer.from('<edXML><unclosed>')), new AbortController().signal);
    breaker.shutdown();
    assert.deepEqual(held.written.map((s) => [s.step, 'reason' in s ? s.reason : undefined]), [['dead-lettered', 'malformed-xml']]);
  });

  it('send: the item is accepted only after taken and written are in the trail; a failed trail leaves it with the source', async () => {
    const spool = await Spool.open();
    try {
      for (const outcome of ['ok', 'fail'] as const) {
        const held = heldTrail();
        const memory = new MemoryBackbone(new Set([docsTopic(US)]));
        const settled: string[] = [];
        const handler = makeSendHandler({
          organId: SENDER,
          limits: withDefaults(),
          profile: profileByName('edxml'),
          profileOptions: {},
          producer: { send: (r) => memory.send(r).then(() => ({ partition: 2, offset: 41 })), sendFile: async () => undefined, topicExists: (t) => memory.topicExists(t) },
          spool,
          log: silentLog,
          trail: held.trail,
          sourceName: 'outbox',
        });
        const settle = { accepted: async () => void settled.push('accepted'), rejected: async () => void settled.push('rejected'), retryLater: async () => void settled.push('retry-later') };
        const done = handler({ body: makeEdoc({ from: SENDER, to: [US], number: 3 }), fileName: 'cv.edxml', contentType: 'application/xml', sideFiles: [] }, settle);
        assert.equal(await settledWithin(done, 200), 'pending');
        assert.equal(memory.records.length, 1, 'Kafka already holds the package');
        assert.deepEqual(settled, [], 'but the source is not told yet');
        if (outcome === 'ok') held.release();
        else held.fail(new Error('trail writer stopped'));
        await done;
        if (outcome === 'ok') {
          assert.deepEqual(settled, ['accepted']);
          const written = held.written.find((s) => s.step === 'written');
          assert.deepEqual(written && 'placement' in written ? written.placement : undefined, { topic: docsTopic(US), partition: 2, offset: 41 });
          assert.deepEqual(held.written.map((s) => s.step), ['taken', 'written']);
        } else assert.deepEqual(settled, ['retry-later'], 'the item is offered again, and its records written then');
      }
    } finally {
      await spool.close();
    }
  });
});
