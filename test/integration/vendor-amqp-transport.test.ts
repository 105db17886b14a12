/**
 * The AMQP transport on its own against the real RabbitMQ (no Kafka): how the source settles
 * messages (ack, reject to the dead-letter exchange, requeue after a delay) and when the sink's
 * delivery counts as confirmed, and how it carries a body that lives in a file.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import type * as amqp from 'amqplib';
import { AmqpSink, AmqpSource } from '../../src/connectors/amqp';
import { DeliveryError, type SourceHandler, type VendorMessage } from '../../src/connectors/types';
import { sha256Hex } from '../../src/connectors/http/signing';
import { parseMultipart } from '../../src/connectors/http/multipart';
import { Rejection } from '../../src/errors';
import { waitFor } from '../support/agency';
import { TEST_AMQP_URL, amqpConnectionOptions, nextMessage, openVendorChannel } from '../support/vendor-amqp';
import { freePort } from '../support/vendor-systems';
import { writeLargeFile } from '../support/large-files';

describe('AMQP transport against RabbitMQ', function () {
  this.timeout(30_000);
  const tag = `vdxp-transport-${process.pid}-${Date.now()}`;
  const q = { in: `${tag}.in`, dead: `${tag}.dead`, dlx: `${tag}.dlx`, out: `${tag}.out`, exchange: `${tag}.x` };
  let vendor: { connection: amqp.ChannelModel; channel: amqp.ConfirmChannel };
  let conn: ReturnType<typeof amqpConnectionOptions>;
  let dir: string;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vdxp-amqp-'));
    conn = amqpConnectionOptions(dir);
    vendor = await openVendorChannel();
    const ch = vendor.channel;
    await ch.assertExchange(q.dlx, 'fanout', { durable: false });
    await ch.assertQueue(q.dead, { durable: false });
    await ch.bindQueue(q.dead, q.dlx, '');
    await ch.assertQueue(q.in, { durable: false, deadLetterExchange: q.dlx });
    await ch.assertExchange(q.exchange, 'direct', { durable: false });
    await ch.assertQueue(q.out, { durable: false });
    await ch.bindQueue(q.out, q.exchange, 'docs');
  });

  after(async () => {
    for (const name of [q.in, q.dead, q.out]) await vendor.channel.deleteQueue(name).catch(() => undefined);
    for (const name of [q.dlx, q.exchange]) await vendor.channel.deleteExchange(name).catch(() => undefined);
    await vendor.connection.close().catch(() => undefined);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('source: acks accepted messages, dead-letters rejected ones, requeues retryLater after the delay', async () => {
    const seen: string[] = [];
    const handler: SourceHandler = async (m: VendorMessage, settle) => {
      const body = m.body.toString();
      seen.push(body);
      if (body === 'bad') return settle.rejected(new Rejection('mapping-failed', 'not JSON'));
      if (body === 'later' && seen.filter((s) => s === 'later').length === 1) return settle.retryLater(new Error('Kafka down'));
      return settle.accepted();
    };
    const source = new AmqpSource('vendor-queue', { ...conn, queue: q.in, retryDelayMs: 300 });
    await source.start(handler);
    try {
      for (const body of ['good', 'bad', 'later']) vendor.channel.sendToQueue(q.in, Buffer.from(body), { messageId: body });
      await vendor.channel.waitForConfirms();
      await waitFor(() => seen.filter((s) => s === 'later').length === 2, 10_000, 'the retried message to come back');
      const dead = await nextMessage(vendor.channel, q.dead, 5_000);
      assert.equal(dead.content.toString(), 'bad');
      vendor.channel.ack(dead);
      await waitFor(async () => (await vendor.channel.checkQueue(q.in)).messageCount === 0, 5_000, 'the queue to be empty');
      assert.deepEqual(seen.filter((s) => s === 'good'), ['good'], 'an accepted message is not offered again');
    } finally {
      await source.stop();
    }
    assert.equal((await vendor.channel.checkQueue(q.in)).messageCount, 0, 'nothing left unacked behind');
  });

  it('sink: resolves on the broker confirm with persistent messageId = DocumentId; an unroutable message is a transient failure', async () => {
    const sink = new AmqpSink('vendor-exchange', { ...conn, exchange: q.exchange, routingKey: 'docs', statusRoutingKey: 'nowhere' });
    await sink.start();
    try {
      const context = { documentId: '000.00.00.H41,2026/11/23,5/UBND-VP', idempotencyKey: 'k-1', kind: 'edoc' as const, fromOrganId: '000.00.00.H41' };
      await sink.deliver({ body: Buffer.from('{"a":1}'), fileName: 'a.json', contentType: 'application/json', sideFiles: [] }, context);
      const got = await nextMessage(vendor.channel, q.out, 5_000);
      vendor.channel.ack(got);
      assert.equal(got.properties.messageId, context.documentId);
      assert.equal(got.properties.deliveryMode, 2);
      assert.equal(got.properties.headers?.['Idempotency-Key'], 'k-1');
      await assert.rejects(
        sink.deliver({ body: Buffer.from('{}'), fileName: 's.json', contentType: 'application/json', sideFiles: [] }, { ...context, kind: 'status', statusCode: '03' }),
        (err: unknown) => err instanceof DeliveryError && err.transient && /routed it to no queue/.test(err.message),
      );
    } finally {
      await sink.stop();
    }
  });

  it('sink: starts while the broker is unreachable, fails deliveries as transient, and delivers once the broker is reachable', async () => {
    // A relay to the real broker that is not listening yet: the broker is "down" for the sink.
    const broker = new URL(TEST_AMQP_URL);
    const port = await freePort();
    const sockets = new Set<net.Socket>();
    const relay = net.createServer((client) => {
      const upstream = net.connect(Number(broker.port || 5672), broker.hostname);
      for (const s of [client, upstream]) {
        sockets.add(s);
        s.on('error', () => undefined);
        s.on('close', () => sockets.delete(s));
      }
      client.pipe(upstream).pipe(client);
    });
    const sink = new AmqpSink('vendor-exchange', { ...amqpConnectionOptions(dir, `amqp://${broker.username}:${broker.password}@127.0.0.1:${port}/`), exchange: q.exchange, routingKey: 'docs' });
    const message = { body: Buffer.from('{"late":1}'), fileName: 'late.json', contentType: 'application/json', sideFiles: [] };
    const context = { documentId: 'late-1', idempotencyKey: 'k-late-1', kind: 'edoc' as const, fromOrganId: '000.00.00.H41' };
    try {
      await sink.start(); // must not throw: the connector has to come up and let the breaker deal with it
      await assert.rejects(sink.deliver(message, context), (err: unknown) => err instanceof DeliveryError && err.transient);
      await new Promise<void>((resolve) => relay.listen(port, '127.0.0.1', resolve));
      await sink.deliver(message, context);
      const got = await nextMessage(vendor.channel, q.out, 5_000);
      vendor.channel.ack(got);
      assert.equal(got.content.toString(), '{"late":1}');
    } finally {
      await sink.stop();
      for (const s of sockets) s.destroy();
      relay.close();
    }
  });

  it('sink: publishes a bodyFile up to maxMessageBytes whole (with its side files as multipart); a larger one is a permanent failure naming the option', async () => {
    const MB = 1024 * 1024;
    const sink = new AmqpSink('vendor-exchange', { ...conn, exchange: q.exchange, routingKey: 'docs', maxMessageBytes: 4 * MB });
    await sink.start();
    try {
      const context = { documentId: 'large-1', idempotencyKey: 'k-large-1', kind: 'edoc' as const, fromOrganId: '000.00.00.H41' };
      const over = writeLargeFile(path.join(dir, 'over'), 5 * MB);
      await assert.rejects(
        sink.deliver({ body: Buffer.alloc(0), bodyFile: { path: over.path, length: over.length }, fileName: 'over.pdf', contentType: 'application/pdf', sideFiles: [] }, context),
        (err: unknown) => err instanceof DeliveryError && !err.transient && err.message.includes(String(5 * MB)) && err.message.includes('maxMessageBytes'),
      );
      const under = writeLargeFile(path.join(dir, 'under'), 3 * MB);
      await sink.deliver({ body: Buffer.alloc(0), bodyFile: { path: under.path, length: under.length }, fileName: 'under.pdf', contentType: 'application/pdf', sideFiles: [] }, context);
      const got = await nextMessage(vendor.channel, q.out, 5_000);
      vendor.channel.ack(got);
      assert.equal(got.content.length, under.length);
      assert.equal(sha256Hex(got.content), under.sha256);
      assert.equal(got.properties.headers?.['x-file-name'], 'under.pdf');
      assert.equal((await vendor.channel.checkQueue(q.out)).messageCount, 0, 'the refused message was never published');
      const pdf = Buffer.from('%PDF-1.4 phụ lục');
      await sink.deliver({ body: Buffer.alloc(0), bodyFile: { path: under.path, length: under.length }, fileName: 'under.json', contentType: 'application/json', sideFiles: [{ name: 'phu-luc.pdf', bytes: pdf }] }, context);
      const withFiles = await nextMessage(vendor.channel, q.out, 5_000);
      vendor.channel.ack(withFiles);
      const parsed = parseMultipart(withFiles.content, String(withFiles.properties.contentType));
      assert.equal(sha256Hex(parsed.body), under.sha256);
      assert.deepEqual(parsed.sideFiles, [{ name: 'phu-luc.pdf', bytes: pdf }]);
    } finally {
      await sink.stop();
    }
  });
});
