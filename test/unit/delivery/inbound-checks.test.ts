import { strict as assert } from 'node:assert';
import type { Message } from 'node-rdkafka';
import { Rejection } from '../../../src/errors';
import { makeReceiveHandler } from '../../../src/pipeline/receive';
import { createSinkBreaker } from '../../../src/pipeline/delivery/breakers';
import { guardRecords } from '../../../src/pipeline/delivery/record-guard';
import { prepareReplay } from '../../../src/pipeline/delivery/replay';
import { docsTopic, deadLetterTopic, statusTopic, HEADERS } from '../../../src/broker/topics';
import { toRecord, type IncomingRecord } from '../../../src/broker/consumer';
import { decodeHeaders } from '../../../src/broker/record-metadata';
import type { OutgoingRecord } from '../../../src/broker/producer';
import { writeStatus } from '../../../src/edxml/writer';
import { timestampFromDate } from '../../../src/edxml/dates';
import { profileByName } from '../../../src/transform';
import { withDefaults } from '../../../src/limits';
import { createMetrics } from '../../../src/observability/metrics';
import { makeEdoc } from '../../support/packages';
import { MemoryBackbone, ScriptedSink, silentLog } from './fakes';

const SENDER = '000.00.00.H41';
const US = '000.00.00.G22';
const OTHER = '000.00.00.A01';
const retry = { maxAttempts: 2, initialDelayMs: 5, maxDelayMs: 10 };
const breakerSettings = { timeoutMs: 1_000, errorThresholdPercentage: 100, resetTimeoutMs: 100, volumeThreshold: 1_000 };
const never = new AbortController().signal;
const control = { park: () => undefined, unpark: () => undefined };

/** A backbone that refuses, like Kafka, a record over 1 MB (value, key and headers). */
class LimitedBackbone extends MemoryBackbone {
  override async send(record: OutgoingRecord): Promise<void> {
    const headerBytes = Object.entries(record.headers).reduce((n, [k, v]) => n + Buffer.byteLength(k) + Buffer.byteLength(v), 0);
    if (record.value.length + headerBytes + Buffer.byteLength(record.key) > 1_000_000) throw new Rejection('limit-exceeded', 'over the Kafka message limit', 'kafka.message.max.bytes');
    await super.send(record);
  }
}

function setup(options: { now?: () => Date } = {}) {
  const sink = new ScriptedSink('legacy', () => 'ok');
  const backbone = new LimitedBackbone(new Set([statusTopic(SENDER), statusTopic(OTHER), deadLetterTopic(US)]));
  const metrics = createMetrics({ defaultMetrics: false });
  const breaker = createSinkBreaker(sink, breakerSettings, silentLog, metrics);
  const deps = { self: { organId: US }, limits: withDefaults(), sinks: [{ breaker, profile: profileByName('edxml'), profileOptions: {} }], retry, producer: backbone, log: silentLog, metrics, now: options.now };
  const handler = makeReceiveHandler(deps);
  return { sink, backbone, metrics, breaker, handler, deps };
}

function recordOn(topic: string, value: Buffer, extra: Partial<IncomingRecord> = {}): IncomingRecord {
  return { topic, partition: 0, offset: 5, key: 'k', value, headers: { [HEADERS.kind]: 'edoc' }, timestamp: Date.parse('2026-11-23T03:00:00Z'), ...extra };
}

function status(from: string, responseForOrgan: string, at = new Date()): Buffer {
  return writeStatus({
    from: { organId: from },
    responseFor: { organId: responseForOrgan, documentId: `${responseForOrgan},2026/11/23,1/UBND-VP` },
    statusCode: '03',
    description: 'Đã tiếp nhận',
    timestamp: timestampFromDate(at),
  });
}

const reasons = (b: MemoryBackbone) => b.on(deadLetterTopic(US)).map((r) => r.headers[HEADERS.reason]);

describe('receive: what a partner may write to this agency’s topics', () => {
  it('delivers a status addressed to one of this agency’s documents', async () => {
    const { sink, backbone, handler, breaker } = setup();
    await handler(recordOn(statusTopic(US), status(SENDER, US)), never);
    breaker.shutdown();
    assert.equal(sink.delivered.length, 1);
    assert.deepEqual(reasons(backbone), []);
  });

  it('refuses a status about another agency’s document, its own status come back, and a document on the status topic', async () => {
    const { sink, backbone, handler, breaker } = setup();
    await handler(recordOn(statusTopic(US), status(SENDER, OTHER), { offset: 1 }), never);
    await handler(recordOn(statusTopic(US), status(US, SENDER), { offset: 2 }), never);
    await handler(recordOn(statusTopic(US), makeEdoc({ from: SENDER, to: [US], number: 1 }), { offset: 3 }), never);
    await handler(recordOn(docsTopic(US), status(SENDER, US), { offset: 4 }), never);
    breaker.shutdown();
    assert.equal(sink.calls.length, 0, 'none reaches the legacy system');
    assert.deepEqual(reasons(backbone), ['not-addressed-to-us', 'own-status', 'wrong-topic', 'wrong-topic']);
  });

  it('refuses a status older than limits.maxStatusAgeSeconds (a replay), and one from the future', async () => {
    const { sink, backbone, handler, breaker } = setup();
    const fortyDaysAgo = new Date(Date.now() - 40 * 24 * 3600 * 1000);
    await handler(recordOn(statusTopic(US), status(SENDER, US, fortyDaysAgo)), never);
    await handler(recordOn(statusTopic(US), status(SENDER, US, new Date(Date.now() + 3 * 24 * 3600 * 1000))), never);
    breaker.shutdown();
    assert.equal(sink.calls.length, 0);
    assert.deepEqual(reasons(backbone), ['status-outside-window', 'status-outside-window']);
    assert.equal(backbone.on(deadLetterTopic(US))[0]!.headers[HEADERS.limit], 'limits.maxStatusAgeSeconds');
  });

  it('sends the same status 01, byte for byte, when a document is delivered again later', async () => {
    let clock = Date.parse('2026-11-23T05:00:00Z');
    const { backbone, handler, breaker } = setup({ now: () => new Date(clock) });
    const doc = recordOn(docsTopic(US), makeEdoc({ from: SENDER, to: [US], number: 7 }));
    await handler(doc, never);
    clock += 3_600_000;
    await handler(doc, never);
    breaker.shutdown();
    const statuses = backbone.on(statusTopic(SENDER));
    assert.equal(statuses.length, 2);
    assert.ok(statuses[0]!.value.equals(statuses[1]!.value), 'a redelivery does not make a second, different status 01');
    assert.match(statuses[0]!.value.toString(), /<edXML:Timestamp>2026\/11\/23 10:00:00</, 'the record’s time (Vietnam time), not the clock');
  });

  // The reader refuses what XML forbids (&#x1; in a DocumentId is malformed-xml), so a status can
  // no longer fail for its text; it still fails when it cannot be signed (a token removed, a key
  // file gone). Such a failure is counted, never retried, and never delivers the document again.
  const signerGone = (): Buffer => {
    throw new Error('the signing key is unavailable');
  };

  it('does not throw, nor deliver again, when status 01 cannot be written for a document it delivered (the signer fails)', async () => {
    const { sink, backbone, breaker, metrics, deps } = setup();
    const handler = makeReceiveHandler({ ...deps, self: { organId: US, sign: signerGone } });
    await handler(recordOn(docsTopic(US), makeEdoc({ from: SENDER, to: [US], number: 8 })), never);
    breaker.shutdown();
    assert.equal(sink.delivered.length, 1, 'delivered once, settled');
    assert.deepEqual(backbone.on(statusTopic(SENDER)), []);
    assert.match(await metrics.exposition(), /vdxp_statuses_not_sent_total\{code="01",cause="unwritable"\} 1/);
  });

  it('writes one dead letter, and does not throw, when status 02 cannot be written for a refused document (the signer fails)', async () => {
    const strict = setup();
    strict.deps.sinks = [];
    const refusing = makeReceiveHandler({ ...strict.deps, self: { organId: US, sign: signerGone }, verify: () => Promise.reject(new Rejection('unsigned', 'no signature')) });
    await refusing(recordOn(docsTopic(US), makeEdoc({ from: SENDER, to: [US], number: 10 })), never);
    strict.breaker.shutdown();
    assert.deepEqual(reasons(strict.backbone), ['unsigned']);
    assert.deepEqual(strict.backbone.on(statusTopic(SENDER)), []);
    assert.match(await strict.metrics.exposition(), /vdxp_statuses_not_sent_total\{code="02",cause="unwritable"\} 1/);
  });

  it('refuses a document with a character XML forbids in its DocumentId once, as malformed-xml, delivering nothing', async () => {
    const { sink, backbone, handler, breaker } = setup();
    const doc = makeEdoc({ from: SENDER, to: [US], number: 9 }).toString().replace(/<edXML:DocumentId>[^<]*</, '<edXML:DocumentId>bad&#x1;id<');
    await handler(recordOn(docsTopic(US), Buffer.from(doc)), never);
    breaker.shutdown();
    assert.equal(sink.delivered.length, 0);
    assert.deepEqual(reasons(backbone), ['malformed-xml']);
  });
});

describe('dead letters keep the original key and headers byte for byte', () => {
  /** A message as node-rdkafka hands it over: header values as Buffers, each header in its own object, set with [[Set]]. */
  function consumed(): Message {
    const proto = {} as Record<string, Buffer>;
    proto['__proto__'] = Buffer.from('prototype?');
    return {
      topic: docsTopic(US),
      partition: 1,
      offset: 77,
      key: Buffer.from([0xff, 0x00, 0x41]),
      value: Buffer.from('<edXML><unclosed>'),
      size: 17,
      timestamp: 1,
      headers: [{ 'vdxp-kind': Buffer.from('edoc') }, { dup: Buffer.from('first') }, { dup: Buffer.from('second') }, { bin: Buffer.from([0x80, 0xfe, 0x00, 0xc3]) }, proto],
    } as unknown as Message;
  }

  it('reads every header of a consumed message: order, duplicates, non-UTF-8 bytes and a header named __proto__', () => {
    const record = toRecord(consumed());
    assert.deepEqual(
      record.rawHeaders!.map((h) => [h.name, h.value.toString('hex')]),
      [
        ['vdxp-kind', Buffer.from('edoc').toString('hex')],
        ['dup', Buffer.from('first').toString('hex')],
        ['dup', Buffer.from('second').toString('hex')],
        ['bin', '80fe00c3'],
        ['__proto__', Buffer.from('prototype?').toString('hex')],
      ],
    );
    assert.equal(record.headers.dup, 'second', 'the view: the last one wins');
    assert.equal(record.headers['__proto__'], 'prototype?', 'an ordinary entry of the view');
    assert.ok(record.keyBytes!.equals(Buffer.from([0xff, 0x00, 0x41])));
  });

  it('carries them in the dead letter and a replay writes them back in order', async () => {
    const { backbone, handler, breaker } = setup();
    const source = toRecord(consumed());
    await handler(source, never);
    breaker.shutdown();
    const [dead] = backbone.on(deadLetterTopic(US));
    assert.ok(Buffer.from(dead!.headers[HEADERS.originalKey]!, 'base64').equals(source.keyBytes!));
    const decoded = decodeHeaders(dead!.headers[HEADERS.originalHeaders]!);
    assert.deepEqual(decoded.map((h) => [h.name, h.value.toString('hex')]), source.rawHeaders!.map((h) => [h.name, h.value.toString('hex')]));
    assert.ok(/^[\x20-\x7e]*$/.test(dead!.headers[HEADERS.originalHeaders]!), 'ASCII only: survives any UTF-8 handling');

    const asRead: IncomingRecord = { topic: deadLetterTopic(US), partition: 0, offset: 0, key: dead!.key, value: makeEdoc({ from: SENDER, to: [US], number: 1 }), headers: dead!.headers, timestamp: 0 };
    const verdict = await prepareReplay(asRead, { organId: US, limits: withDefaults() });
    assert.ok(verdict.ok);
    assert.deepEqual(
      verdict.record.rawHeaders!.map((h) => h.name),
      ['vdxp-kind', 'dup', 'dup', 'bin', '__proto__', HEADERS.replayedFrom],
    );
    assert.ok(verdict.record.rawHeaders![3]!.value.equals(Buffer.from([0x80, 0xfe, 0x00, 0xc3])));
  });

  it('keeps them when the bytes do not fit beside them (a 950 KB record with 60 KB of non-UTF-8 headers)', async () => {
    const { backbone, handler, breaker } = setup();
    const value = Buffer.concat([Buffer.from('<edXML><unclosed>'), Buffer.alloc(950_000, 32)]);
    const rawHeaders = [{ name: 'junk', value: Buffer.alloc(60_000, 0xff) }];
    await handler({ ...recordOn(docsTopic(US), value), headers: { junk: Buffer.alloc(60_000, 0xff).toString('utf8') }, rawHeaders }, never);
    breaker.shutdown();
    const [dead] = backbone.on(deadLetterTopic(US));
    assert.equal(dead!.headers[HEADERS.bodyOmitted], String(value.length));
    assert.ok(decodeHeaders(dead!.headers[HEADERS.originalHeaders]!)[0]!.value.equals(rawHeaders[0]!.value), 'the 60,000 bytes of 0xff, not 180,000 of U+FFFD');
  });

  it('refuses at once a record whose key and headers exceed limits.maxRecordMetadataBytes, without carrying them', async () => {
    const backbone = new LimitedBackbone(new Set([deadLetterTopic(US)]));
    const metrics = createMetrics({ defaultMetrics: false });
    let called = false;
    const guarded = guardRecords({ self: { organId: US }, producer: backbone, log: silentLog, metrics, limits: withDefaults() }, async () => void (called = true));
    const huge = Buffer.alloc(400_000, 0xc3);
    await guarded({ ...recordOn(docsTopic(US), Buffer.from('x')), headers: { h: huge.toString('utf8') }, rawHeaders: [{ name: 'h', value: huge }] }, never, control);
    assert.equal(called, false, 'nothing reads it');
    const [dead] = backbone.on(deadLetterTopic(US));
    assert.equal(dead!.headers[HEADERS.reason], 'limit-exceeded');
    assert.equal(dead!.headers[HEADERS.limit], 'limits.maxRecordMetadataBytes');
    assert.equal(dead!.headers[HEADERS.metadataOmitted], String(400_001 + 1));
    assert.equal(dead!.headers[HEADERS.originalHeaders], undefined);
    assert.match(await metrics.exposition(), /vdxp_limit_refusals_total\{limit="limits.maxRecordMetadataBytes"\} 1/);
  });
});
