import { strict as assert } from 'node:assert';
import { DeliveryError } from '../../../src/connectors/types';
import { Rejection } from '../../../src/errors';
import { makeReceiveHandler, type SinkBinding } from '../../../src/pipeline/receive';
import { createSinkBreaker } from '../../../src/pipeline/delivery/breakers';
import { deadLetterTopic, statusTopic, HEADERS } from '../../../src/broker/topics';
import { profileByName } from '../../../src/transform';
import { withDefaults } from '../../../src/limits';
import { createMetrics } from '../../../src/observability/metrics';
import type { IncomingRecord } from '../../../src/broker/consumer';
import { makeEdoc } from '../../support/packages';
import { MemoryBackbone, ScriptedSink, silentLog } from './fakes';

const SENDER = '000.00.00.H41';
const US = '000.00.00.G22';
const retry = { maxAttempts: 4, initialDelayMs: 5, maxDelayMs: 20 };
const breakerSettings = { timeoutMs: 1_000, errorThresholdPercentage: 100, resetTimeoutMs: 100, volumeThreshold: 1_000 };

function record(value: Buffer, offset = 7): IncomingRecord {
  return { topic: `vdxp.docs.${US}`, partition: 2, offset, key: 'k', value, headers: { [HEADERS.kind]: 'edoc' }, timestamp: Date.now() };
}

function setup(behaviour: ConstructorParameters<typeof ScriptedSink>[1], settings = breakerSettings) {
  const sink = new ScriptedSink('legacy', behaviour);
  const backbone = new MemoryBackbone(new Set([statusTopic(SENDER), deadLetterTopic(US)]));
  const metrics = createMetrics({ defaultMetrics: false });
  const breaker = createSinkBreaker(sink, settings, silentLog, metrics);
  const binding: SinkBinding = { breaker, profile: profileByName('edxml'), profileOptions: {} };
  const handler = makeReceiveHandler({ self: { organId: US }, limits: withDefaults(), sinks: [binding], retry, producer: backbone, log: silentLog, metrics });
  return { sink, backbone, metrics, breaker, handler };
}

const never = new AbortController().signal;
const edoc = () => makeEdoc({ from: SENDER, to: [US], number: 1 });
const statusCodes = (b: MemoryBackbone) => b.on(statusTopic(SENDER)).map((r) => /<edXML:StatusCode>(\d+)</.exec(r.value.toString())?.[1]);

describe('receive: retries, quarantine and dead-letter headers', () => {
  it('quarantines a poison package at once with the full header set and the original bytes', async () => {
    const { sink, backbone, handler, breaker } = setup(() => 'ok');
    const poison = Buffer.from('<edXML><unclosed>');
    await handler(record(poison, 41), never);
    breaker.shutdown();
    assert.equal(sink.calls.length, 0);
    const [dead] = backbone.on(deadLetterTopic(US));
    assert.ok(dead && dead.value.equals(poison), 'the original bytes');
    assert.equal(dead.headers[HEADERS.reason], 'malformed-xml');
    assert.equal(dead.headers[HEADERS.attempts], '1');
    assert.equal(dead.headers[HEADERS.sourceTopic], `vdxp.docs.${US}`);
    assert.equal(dead.headers[HEADERS.sourcePartition], '2');
    assert.equal(dead.headers[HEADERS.sourceOffset], '41');
    assert.ok(!Number.isNaN(Date.parse(dead.headers[HEADERS.firstFailure]!)) && dead.headers[HEADERS.firstFailure] === dead.headers[HEADERS.lastFailure]);
    assert.deepEqual(JSON.parse(dead.headers[HEADERS.originalHeaders]!), [[HEADERS.kind, Buffer.from('edoc').toString('base64')]], 'the record’s own headers are kept, encoded');
    assert.equal(dead.headers[HEADERS.originalKey], Buffer.from('k').toString('base64'));
  });

  it('retries transient failures and delivers once, with status 01 and no dead letter', async () => {
    const { sink, backbone, handler, metrics, breaker } = setup((call) => (call <= 2 ? new DeliveryError('HTTP 503', true) : 'ok'));
    await handler(record(edoc()), never);
    breaker.shutdown();
    assert.equal(sink.calls.length, 3);
    assert.equal(sink.delivered.length, 1);
    assert.equal(new Set(sink.calls.map((c) => c.idempotencyKey)).size, 1, 'every attempt carries the same idempotency key');
    assert.deepEqual(backbone.on(deadLetterTopic(US)), []);
    assert.deepEqual(statusCodes(backbone), ['01']);
    assert.match(await metrics.exposition(), /vdxp_\w*retr\w*\{sink="legacy"\} 2/);
  });

  it('quarantines a permanent refusal at once and tells the sender with status 02', async () => {
    const { sink, backbone, handler, breaker } = setup(() => new DeliveryError('HTTP 422 unknown department', false));
    await handler(record(edoc()), never);
    breaker.shutdown();
    assert.equal(sink.calls.length, 1, 'no retry of a permanent refusal');
    const [dead] = backbone.on(deadLetterTopic(US));
    assert.equal(dead!.headers[HEADERS.reason], 'delivery-rejected');
    assert.match(dead!.headers[HEADERS.detail]!, /422 unknown department/);
    assert.equal(dead!.headers[HEADERS.attempts], '1');
    assert.deepEqual(statusCodes(backbone), ['02']);
  });

  it('gives up after maxAttempts with retries-exhausted and the failure history', async () => {
    const { sink, backbone, handler, breaker } = setup(() => new DeliveryError('HTTP 500', true));
    await handler(record(edoc()), never);
    breaker.shutdown();
    assert.equal(sink.calls.length, retry.maxAttempts);
    const [dead] = backbone.on(deadLetterTopic(US));
    assert.equal(dead!.headers[HEADERS.reason], 'retries-exhausted');
    assert.equal(dead!.headers[HEADERS.attempts], String(retry.maxAttempts));
    assert.ok(Date.parse(dead!.headers[HEADERS.lastFailure]!) > Date.parse(dead!.headers[HEADERS.firstFailure]!), 'first and last failure differ');
    assert.deepEqual(statusCodes(backbone), ['02']);
  });

  it('spends no attempts while the sink is down (breaker open, probes failing) and delivers when it is back', async () => {
    let down = true;
    const settings = { timeoutMs: 1_000, errorThresholdPercentage: 50, resetTimeoutMs: 150, volumeThreshold: 1 };
    const { sink, backbone, handler, breaker } = setup(() => (down ? new DeliveryError('ECONNREFUSED', true) : 'ok'), settings);
    const done = handler(record(edoc()), never);
    await new Promise((r) => setTimeout(r, 1_000)); // several reset periods: a failed probe each, none an attempt
    down = false;
    await done;
    breaker.shutdown();
    assert.ok(sink.calls.length > retry.maxAttempts, `probes went on past maxAttempts: ${sink.calls.length} calls`);
    assert.equal(sink.delivered.length, 1, 'delivered once the sink came back');
    assert.deepEqual(backbone.on(deadLetterTopic(US)), []);
  });

  it('abandons a record on shutdown without settling it (it stays uncommitted)', async () => {
    const { backbone, handler, breaker } = setup(() => new DeliveryError('HTTP 503', true));
    const abort = new AbortController();
    const pending = handler(record(edoc()), abort.signal);
    setTimeout(() => abort.abort(), 10);
    await assert.rejects(pending, /abandoned/);
    breaker.shutdown();
    assert.deepEqual(backbone.on(deadLetterTopic(US)), [], 'not dead-lettered: it is redelivered after restart');
  });
});

describe('receive: a dead letter too large for a Kafka message', () => {
  it('is written without its bytes (their length in a header) rather than blocking the partition', async () => {
    const backbone = new MemoryBackbone(new Set([deadLetterTopic(US)]));
    const limited = {
      send: async (r: Parameters<MemoryBackbone['send']>[0]) => {
        if (r.value.length > 1000) throw new Rejection('limit-exceeded', 'too large for a Kafka message', 'kafka.message.max.bytes');
        await backbone.send(r);
      },
      topicExists: (t: string) => backbone.topicExists(t),
    };
    const breaker = createSinkBreaker(new ScriptedSink('legacy', () => 'ok'), breakerSettings, silentLog);
    const handler = makeReceiveHandler({ self: { organId: US }, limits: withDefaults(), sinks: [{ breaker, profile: profileByName('edxml'), profileOptions: {} }], retry, producer: limited, log: silentLog });
    const poison = Buffer.concat([Buffer.from('<edXML><unclosed>'), Buffer.alloc(5000, 32)]);
    await handler(record(poison, 12), never);
    breaker.shutdown();
    const [dead] = backbone.on(deadLetterTopic(US));
    assert.equal(dead!.value.length, 0);
    assert.equal(dead!.headers[HEADERS.bodyOmitted], String(poison.length));
    assert.equal(dead!.headers[HEADERS.reason], 'malformed-xml');
    assert.equal(dead!.headers[HEADERS.sourceOffset], '12', 'where the original still is');
  });
});
