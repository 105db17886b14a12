/**
 * AMQP round trip against the real RabbitMQ: A's vendor publishes a JSON document to A's queue →
 * A's connector (acks only after Kafka) → Kafka → B's connector publishes it to B's exchange
 * (persistent, confirmed, messageId = DocumentId) → B's vendor queue. B's vendor answers with
 * status 05 on B's queue, which reaches A's vendor exchange. A message that can never be
 * accepted is rejected to the queue's dead-letter exchange.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type * as amqp from 'amqplib';
import { AgencyProcess, prepareAgency, uniqueOrganId, waitFor } from '../support/agency';
import { amqpConnectionOptions, nextMessage, openVendorChannel } from '../support/vendor-amqp';

const PDF = Buffer.concat([Buffer.from('%PDF-1.4\n'), Buffer.from('nội dung văn bản')]);

describe('vendor AMQP round trip (real RabbitMQ, real Kafka)', function () {
  this.timeout(60_000);
  let base: string;
  const running: AgencyProcess[] = [];
  let vendor: { connection: amqp.ChannelModel; channel: amqp.ConfirmChannel };
  const tag = `vdxp-test-${process.pid}-${Date.now()}`;
  const names = {
    aIn: `${tag}.a.in`,
    aDead: `${tag}.a.dead`,
    aDlx: `${tag}.a.dlx`,
    aOutExchange: `${tag}.a.out`,
    aOut: `${tag}.a.out.q`,
    bIn: `${tag}.b.in`,
    bOutExchange: `${tag}.b.out`,
    bOut: `${tag}.b.out.q`,
  };

  before(async () => {
    base = fs.mkdtempSync(path.join(os.tmpdir(), 'vdxp-vendor-amqp-'));
    vendor = await openVendorChannel();
    const ch = vendor.channel;
    await ch.assertExchange(names.aDlx, 'fanout', { durable: false, autoDelete: false });
    await ch.assertQueue(names.aDead, { durable: false });
    await ch.bindQueue(names.aDead, names.aDlx, '');
    await ch.assertQueue(names.aIn, { durable: true, deadLetterExchange: names.aDlx });
    await ch.assertQueue(names.bIn, { durable: true });
    for (const [exchange, queue] of [[names.aOutExchange, names.aOut], [names.bOutExchange, names.bOut]] as const) {
      await ch.assertExchange(exchange, 'direct', { durable: true });
      await ch.assertQueue(queue, { durable: true });
      await ch.bindQueue(queue, exchange, 'van-ban');
      await ch.bindQueue(queue, exchange, 'trang-thai');
    }
  });

  after(async () => {
    await Promise.allSettled(running.map((a) => a.stop()));
    for (const q of [names.aIn, names.aDead, names.aOut, names.bIn, names.bOut]) await vendor.channel.deleteQueue(q).catch(() => undefined);
    for (const x of [names.aDlx, names.aOutExchange, names.bOutExchange]) await vendor.channel.deleteExchange(x).catch(() => undefined);
    await vendor.connection.close().catch(() => undefined);
  });

  it('carries a document A → B and B status back to A, with confirms, messageId and dead-lettering', async () => {
    const a = uniqueOrganId('H41');
    const b = uniqueOrganId('G22');
    const conn = amqpConnectionOptions(base);
    const agency = (organId: string, queue: string, exchange: string) =>
      prepareAgency(base, organId, {
        connectors: [
          { name: 'vendor-queue', type: 'amqp', direction: 'source', profile: 'json', options: { ...conn, queue, prefetch: 4, retryDelayMs: 500 } },
          { name: 'vendor-exchange', type: 'amqp', direction: 'sink', profile: 'json', options: { ...conn, exchange, routingKey: 'van-ban', statusRoutingKey: 'trang-thai' } },
        ],
      });
    const bDirs = agency(b, names.bIn, names.bOutExchange);
    const aDirs = agency(a, names.aIn, names.aOutExchange);
    running.push(await AgencyProcess.start(bDirs));
    running.push(await AgencyProcess.start(aDirs));

    const document = {
      to: [b],
      number: '118',
      notation: 'SNV-TCBC',
      promulgationDate: '2026-11-20',
      documentType: 1,
      documentTypeName: 'Công văn',
      subject: 'Về việc thử nghiệm kết nối qua hàng đợi',
      priority: 0,
      steeringType: 0,
      attachments: [{ name: 'cong-van-118.pdf', contentType: 'application/pdf', base64: PDF.toString('base64') }],
    };
    const publish = (queue: string, body: unknown, messageId: string) =>
      new Promise<void>((resolve, reject) =>
        vendor.channel.sendToQueue(queue, Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)), { persistent: true, contentType: 'application/json', messageId }, (err: unknown) =>
          err ? reject(err as Error) : resolve(),
        ),
      );
    await publish(names.aIn, 'this is not JSON', 'broken-1');
    await publish(names.aIn, document, 'doc-118');

    // The unreadable message goes to the dead-letter exchange, not back to the queue.
    const dead = await nextMessage(vendor.channel, names.aDead, 20_000);
    assert.equal(dead.properties.messageId, 'broken-1');
    vendor.channel.ack(dead);

    const delivered = await nextMessage(vendor.channel, names.bOut, 30_000);
    vendor.channel.ack(delivered);
    const json = JSON.parse(delivered.content.toString('utf8')) as Record<string, any>;
    assert.equal(delivered.properties.messageId, json.documentId, 'messageId is the DocumentId');
    assert.equal(delivered.properties.deliveryMode, 2, 'persistent');
    assert.match(String(delivered.properties.headers?.['Idempotency-Key']), /^[0-9a-f]{24}-[0-9a-f]{40}$/);
    assert.equal(delivered.fields.routingKey, 'van-ban');
    assert.equal(json.from.organId, a);
    assert.equal(json.subject, document.subject);
    assert.deepEqual(Buffer.from(json.attachments[0].base64, 'base64'), PDF);
    // A's queue is empty: the document was acked once Kafka held it.
    await waitFor(async () => (await vendor.channel.checkQueue(names.aIn)).messageCount === 0, 5_000, 'A queue to be drained');

    await publish(names.bIn, { status: '05', description: 'Đang xử lý', timestamp: '2026-11-23T14:00:00', responseFor: { organId: a, documentId: json.documentId } }, 'status-05');
    // A's vendor receives the 01 from B's connector, then B's vendor 05.
    const seen: Array<Record<string, any>> = [];
    await waitFor(
      async () => {
        const m = await vendor.channel.get(names.aOut, { noAck: true });
        if (m) seen.push({ ...JSON.parse(m.content.toString('utf8')), routingKey: m.fields.routingKey, messageId: m.properties.messageId });
        return seen.some((s) => s.status === '05');
      },
      30_000,
      'status 05 on A vendor queue',
    );
    const processing = seen.find((s) => s.status === '05')!;
    assert.equal(processing.routingKey, 'trang-thai');
    assert.equal(processing.description, 'Đang xử lý');
    assert.equal(processing.from.organId, b);
    assert.equal(processing.responseFor.documentId, json.documentId);
  });
});
