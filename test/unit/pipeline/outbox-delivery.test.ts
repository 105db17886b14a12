/**
 * This agency's packages for recipients behind a VXP endpoint: the send pipeline writes their copy
 * to the outbox topic (one record per route, the route in a header), and the outbox handler sends
 * it through the route's breaker; a refusal for good is a dead letter and a status 02 that this
 * agency's own receive pipeline lets through to its legacy system.
 */
import { strict as assert } from 'node:assert';
import { makeSendHandler } from '../../../src/pipeline/send';
import { makeOutboxHandler } from '../../../src/pipeline/outbox-delivery';
import { makeReceiveHandler } from '../../../src/pipeline/receive';
import { createSinkBreaker } from '../../../src/pipeline/delivery/breakers';
import { deadLetterTopic, docsTopic, outboxTopic, statusTopic, HEADERS } from '../../../src/broker/topics';
import { DeliveryError, type VendorMessage } from '../../../src/connectors/types';
import type { IncomingRecord } from '../../../src/broker/consumer';
import type { OutgoingRecord } from '../../../src/broker/producer';
import { profileByName } from '../../../src/transform';
import { withDefaults } from '../../../src/limits';
import { Spool } from '../../../src/pipeline/spool';
import { writeStatus } from '../../../src/edxml/writer';
import { timestampFromDate } from '../../../src/edxml/dates';
import { makeEdoc } from '../../support/packages';
import { edxmlSendDependencies, MemoryBackbone, ScriptedSink, sendBody, silentLog } from '../delivery/fakes';

const US = '000.00.00.H41';
const PARTNER = '000.00.00.G22';
const AXIS_ONLY = '000.00.00.C01';
const NOWHERE = '000.00.00.X99';
const routes = [{ connector: 'axis', recipients: [AXIS_ONLY], notOnBackbone: false }];
const retry = { maxAttempts: 3, initialDelayMs: 5, maxDelayMs: 20 };
const breakerSettings = { timeoutMs: 1_000, errorThresholdPercentage: 100, resetTimeoutMs: 100, volumeThreshold: 1_000 };
const never = new AbortController().signal;

function asIncoming(r: OutgoingRecord, offset = 3): IncomingRecord {
  return { topic: r.topic, partition: 0, offset, key: r.key, value: r.value, headers: r.headers ?? {}, timestamp: Date.now() };
}

describe('outbound route: the send pipeline writes to the outbox', () => {
  let spool: Spool;
  before(async () => (spool = await Spool.open()));
  after(() => spool.close());

  async function send(body: Buffer) {
    const memory = new MemoryBackbone(new Set([docsTopic(US), docsTopic(PARTNER), statusTopic(PARTNER), outboxTopic(US)]));
    const handler = makeSendHandler({ ...edxmlSendDependencies(US, memory, spool), routes });
    return { memory, outcome: await sendBody(handler, body) };
  }

  it('a recipient behind the route: one outbox record with the route and recipient in headers, beside the backbone copy', async () => {
    const pkg = makeEdoc({ from: US, to: [PARTNER, AXIS_ONLY], number: 11 });
    const { memory, outcome } = await send(pkg);
    assert.equal(outcome.accepted, true);
    assert.deepEqual(memory.records.map((r) => r.topic).sort(), [docsTopic(PARTNER), outboxTopic(US)].sort());
    const [out] = memory.on(outboxTopic(US));
    assert.ok(out!.value.equals(pkg), 'byte for byte');
    assert.equal(out!.headers![HEADERS.outboundRoute], 'axis');
    assert.equal(out!.headers![HEADERS.outboundRecipients], AXIS_ONLY);
    assert.equal(out!.headers![HEADERS.kind], 'edoc');
  });

  it('a status for an agency behind the route goes to the outbox too', async () => {
    const status = writeStatus({ from: { organId: US }, responseFor: { organId: AXIS_ONLY, documentId: `${AXIS_ONLY},2026/11/23,1/UBND-VP` }, statusCode: '03', description: 'Đã tiếp nhận', timestamp: timestampFromDate(new Date()) });
    const { memory, outcome } = await send(status);
    assert.equal(outcome.accepted, true);
    assert.deepEqual(memory.records.map((r) => [r.topic, r.headers![HEADERS.kind]]), [[outboxTopic(US), 'status']]);
  });

  it('a recipient neither on the backbone nor routed: refused as unknown-recipient, nothing written', async () => {
    const { memory, outcome } = await send(makeEdoc({ from: US, to: [AXIS_ONLY, NOWHERE], number: 12 }));
    assert.equal(outcome.rejected?.reason, 'unknown-recipient');
    assert.match(outcome.rejected!.detail, /000\.00\.00\.X99.*no outbound route/);
    assert.equal(memory.records.length, 0);
  });
});

describe('outbound route: the outbox handler', () => {
  function setup(behaviour: ConstructorParameters<typeof ScriptedSink>[1]) {
    const sink = new ScriptedSink('axis/outbound', behaviour);
    const seen: Buffer[] = [];
    const original = sink.deliver.bind(sink);
    sink.deliver = async (message: VendorMessage, context) => {
      seen.push(message.body);
      return original(message, context);
    };
    const breaker = createSinkBreaker(sink, breakerSettings, silentLog);
    const backbone = new MemoryBackbone(new Set([statusTopic(US), deadLetterTopic(US)]));
    const handler = makeOutboxHandler({ self: { organId: US }, limits: withDefaults(), retry, producer: backbone, log: silentLog, endpoints: new Map([['axis', breaker]]) });
    return { sink, seen, breaker, backbone, handler };
  }
  const outboxRecord = (pkg: Buffer, route = 'axis') =>
    asIncoming({ topic: outboxTopic(US), key: 'd', value: pkg, headers: { [HEADERS.kind]: 'edoc', [HEADERS.outboundRoute]: route, [HEADERS.outboundRecipients]: AXIS_ONLY } });

  it('sends the bytes as this agency, after transient failures, and writes nothing else', async () => {
    const { sink, seen, breaker, backbone, handler } = setup((call) => (call < 3 ? new DeliveryError('HTTP 503', true) : 'ok'));
    const pkg = makeEdoc({ from: US, to: [AXIS_ONLY], number: 21 });
    await handler(outboxRecord(pkg), never);
    breaker.shutdown();
    assert.equal(sink.calls.length, 3);
    assert.equal(sink.delivered[0]!.fromOrganId, US);
    assert.ok(seen[2]!.equals(pkg));
    assert.equal(backbone.records.length, 0);
  });

  it('a refusal for good: dead letter delivery-rejected, and a marked status 02 that reaches this agency\'s own legacy system', async () => {
    const { breaker, backbone, handler } = setup(() => new DeliveryError('vxp axis/outbound: sendEdoc answered FAIL, ErrorCode "sender-not-allowed"', false));
    const pkg = makeEdoc({ from: US, to: [AXIS_ONLY], number: 22 });
    await handler(outboxRecord(pkg), never);
    breaker.shutdown();
    const [dead] = backbone.on(deadLetterTopic(US));
    assert.equal(dead!.headers![HEADERS.reason], 'delivery-rejected');
    assert.match(dead!.headers![HEADERS.detail]!, new RegExp(`to ${AXIS_ONLY.replace(/\./g, '\\.')} through axis: .*sender-not-allowed`));
    assert.ok(dead!.value.equals(pkg));
    const [status] = backbone.on(statusTopic(US));
    assert.match(status!.value.toString(), /<edXML:StatusCode>02</);
    assert.equal(status!.headers![HEADERS.outboundRefusal], 'axis');

    // This agency's receive pipeline: the marked 02 is delivered; the same status without the mark is its own status come back.
    const legacy = new ScriptedSink('inbox', () => 'ok');
    const inboxBreaker = createSinkBreaker(legacy, breakerSettings, silentLog);
    const receiving = new MemoryBackbone(new Set([deadLetterTopic(US)]));
    const receive = makeReceiveHandler({ self: { organId: US }, limits: withDefaults(), sinks: [{ breaker: inboxBreaker, profile: profileByName('edxml'), profileOptions: {} }], retry, producer: receiving, log: silentLog });
    await receive(asIncoming(status!, 1), never);
    const unmarked = { ...status!, headers: Object.fromEntries(Object.entries(status!.headers!).filter(([name]) => name !== HEADERS.outboundRefusal)) };
    await receive(asIncoming(unmarked, 2), never);
    inboxBreaker.shutdown();
    assert.equal(legacy.delivered.length, 1);
    assert.equal(legacy.delivered[0]!.statusCode, '02');
    assert.deepEqual(receiving.on(deadLetterTopic(US)).map((r) => r.headers![HEADERS.reason]), ['own-status']);
  });

  it('a route no longer configured, or a package not from this agency: dead-lettered without sending', async () => {
    const { sink, breaker, backbone, handler } = setup(() => 'ok');
    await handler(outboxRecord(makeEdoc({ from: US, to: [AXIS_ONLY], number: 23 }), 'gone'), never);
    await handler(outboxRecord(makeEdoc({ from: PARTNER, to: [AXIS_ONLY], number: 24 })), never);
    breaker.shutdown();
    assert.equal(sink.calls.length, 0);
    assert.deepEqual(backbone.on(deadLetterTopic(US)).map((r) => r.headers![HEADERS.reason]), ['unknown-recipient', 'invalid-edxml']);
  });
});

describe('outbound route: statuses the connector sends to a sender behind it', () => {
  it('01 for a document from an agency behind a route goes to the outbox; with no route it is not sent', async () => {
    for (const withRoute of [true, false]) {
      const legacy = new ScriptedSink('inbox', () => 'ok');
      const breaker = createSinkBreaker(legacy, breakerSettings, silentLog);
      const backbone = new MemoryBackbone(new Set([deadLetterTopic(US), outboxTopic(US)]));
      const receive = makeReceiveHandler({
        self: { organId: US },
        limits: withDefaults(),
        sinks: [{ breaker, profile: profileByName('edxml'), profileOptions: {} }],
        retry,
        producer: backbone,
        log: silentLog,
        routes: withRoute ? routes : [],
      });
      const pkg = makeEdoc({ from: AXIS_ONLY, to: [US], number: 31 });
      await receive(asIncoming({ topic: docsTopic(US), key: 'd', value: pkg, headers: { [HEADERS.kind]: 'edoc' } }), never);
      breaker.shutdown();
      assert.equal(legacy.delivered.length, 1);
      const out = backbone.on(outboxTopic(US));
      if (!withRoute) {
        assert.equal(out.length, 0);
        continue;
      }
      assert.equal(out.length, 1);
      assert.match(out[0]!.value.toString(), /<edXML:StatusCode>01</);
      assert.equal(out[0]!.headers![HEADERS.kind], 'status');
      assert.equal(out[0]!.headers![HEADERS.outboundRoute], 'axis');
      assert.equal(out[0]!.headers![HEADERS.outboundRecipients], AXIS_ONLY);
    }
  });
});
