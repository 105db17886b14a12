/**
 * AMQP 0-9-1 transport (amqplib, RabbitMQ).
 *
 * Source: consumes the vendor's queue with manual acks and a prefetch window. A message is acked
 * only after Kafka acknowledged every copy; rejected without requeue (so to the queue's
 * dead-letter exchange, if it has one) when it can never be accepted; requeued after
 * `retryDelayMs` when it should be tried again. Unacked messages return to the queue if the
 * connection drops, so nothing is lost.
 *
 * Sink: publishes to the vendor's exchange on a confirm channel — persistent, `mandatory`,
 * `messageId` = DocumentId, the idempotency key in the `Idempotency-Key` header — and resolves
 * only on the broker's confirm. A nack, a return (no queue bound) or a lost connection is a
 * transient DeliveryError.
 *
 * AMQP messages are whole in memory on both ends, so a message with `bodyFile` is read into memory
 * only when the message would be at most `maxMessageBytes` (default 128 MiB, RabbitMQ 3.x's
 * max_message_size; RabbitMQ 4 lowered its default to 16 MiB). A larger one is a permanent
 * DeliveryError: the broker would refuse it every time. Set the option to the broker's limit.
 *
 * Credentials never sit in the config: `url` has none, `username` + `passwordFile` supply them.
 */
import * as fs from 'node:fs';
import { randomUUID } from 'node:crypto';
import * as amqp from 'amqplib';
import type { Rejection } from '../errors';
import { DeliveryError, type DeliveryContext, type Sink, type Source, type SourceHandler, type VendorMessage } from './types';
import { buildMultipart, multipartFrame, parseMultipart } from './http/multipart';
import { bodyFileChunks } from './body-file';

export interface AmqpConnectionOptions {
  /** `amqp://host:5672/vhost` (no credentials here). */
  url: string;
  username?: string;
  passwordFile?: string;
  heartbeatSeconds?: number;
}

export interface AmqpSourceOptions extends AmqpConnectionOptions {
  queue: string;
  prefetch?: number;
  retryDelayMs?: number;
}

export interface AmqpSinkOptions extends AmqpConnectionOptions {
  exchange: string;
  routingKey?: string;
  /** Statuses are published with this routing key when set. */
  statusRoutingKey?: string;
  confirmTimeoutMs?: number;
  /** The largest message this sink publishes; match the broker's max_message_size. */
  maxMessageBytes?: number;
}

export const DEFAULT_MAX_MESSAGE_BYTES = 128 * 1024 * 1024;

export function connectionUrl(options: AmqpConnectionOptions): string {
  const url = new URL(options.url);
  if (options.username) {
    url.username = encodeURIComponent(options.username);
    url.password = options.passwordFile ? encodeURIComponent(fs.readFileSync(options.passwordFile, 'utf8').trim()) : '';
  }
  if (options.heartbeatSeconds !== undefined) url.searchParams.set('heartbeat', String(options.heartbeatSeconds));
  return url.toString();
}

function headerText(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (Buffer.isBuffer(v)) return v.toString('utf8');
  return undefined;
}

export function vendorMessageOf(msg: amqp.ConsumeMessage): VendorMessage {
  const contentType = msg.properties.contentType ?? 'application/octet-stream';
  const fileName = headerText(msg.properties.headers?.['x-file-name']) ?? msg.properties.messageId ?? 'message';
  if (/^multipart\/form-data/i.test(contentType)) {
    const parsed = parseMultipart(msg.content, contentType);
    return { body: parsed.body, contentType: parsed.bodyContentType, fileName: parsed.fileName ?? fileName, sideFiles: parsed.sideFiles };
  }
  return { body: msg.content, contentType, fileName, sideFiles: [] };
}

export class AmqpSource implements Source {
  private model: amqp.RecoveringChannelModel | undefined;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private consumers: Array<{ channel: amqp.Channel; tag: string }> = [];
  private stopped = false;

  constructor(
    readonly name: string,
    private readonly options: AmqpSourceOptions,
  ) {}

  async start(handler: SourceHandler): Promise<void> {
    this.model = await amqp.connect(connectionUrl(this.options), {
      recovery: {
        initialDelay: 200,
        maxDelay: 5_000,
        maxRetries: Infinity,
        initialMaxRetries: 5,
        // Runs after every (re)connect: a fresh channel and consumer.
        setup: async (model: amqp.ChannelModel) => {
          if (this.stopped) return;
          const channel = await model.createChannel();
          channel.on('error', () => undefined);
          await channel.prefetch(this.options.prefetch ?? 16);
          await channel.checkQueue(this.options.queue);
          const { consumerTag } = await channel.consume(this.options.queue, (msg) => msg && this.take(channel, msg, handler), { noAck: false });
          this.consumers = [{ channel, tag: consumerTag }];
        },
      },
    });
    this.model.on('error', () => undefined);
  }

  private take(channel: amqp.Channel, msg: amqp.ConsumeMessage, handler: SourceHandler): void {
    let settled = false;
    const once = (action: () => void) => async () => {
      if (settled) throw new Error(`message ${msg.fields.deliveryTag} settled twice`);
      settled = true;
      action();
    };
    let message: VendorMessage;
    try {
      message = vendorMessageOf(msg);
    } catch {
      channel.nack(msg, false, false); // An unreadable multipart body never becomes readable.
      return;
    }
    const work = handler(message, {
      accepted: once(() => channel.ack(msg)),
      rejected: (_rejection: Rejection) => once(() => channel.nack(msg, false, false))(),
      retryLater: () =>
        once(() => {
          const timer = setTimeout(() => {
            this.timers.delete(timer);
            try {
              channel.nack(msg, false, true);
            } catch {
              // The channel closed meanwhile: the broker has requeued the message already.
            }
          }, this.options.retryDelayMs ?? 5_000);
          this.timers.add(timer);
        })(),
    }).catch(() => {
      if (!settled) channel.nack(msg, false, true);
    });
    this.inFlight.add(work);
    void work.finally(() => this.inFlight.delete(work));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const { channel, tag } of this.consumers) await channel.cancel(tag).catch(() => undefined);
    await Promise.allSettled([...this.inFlight]);
    // Messages waiting for their retry delay go back to the queue now.
    for (const timer of this.timers) clearTimeout(timer);
    for (const { channel } of this.consumers) await channel.close().catch(() => undefined);
    await this.model?.close().catch(() => undefined);
  }
}

export class AmqpSink implements Sink {
  private connecting: Promise<amqp.RecoveringChannelModel> | undefined;
  private channel: Promise<amqp.ConfirmChannel> | undefined;
  private readonly returned = new Set<string>();

  constructor(
    readonly name: string,
    private readonly options: AmqpSinkOptions,
  ) {}

  /**
   * Connects if the broker is there. A broker that is down does not stop the connector from
   * starting: deliveries fail as transient errors behind the sink's breaker and the connection is
   * tried again with the next one (a connector crash-looping on a sink outage would hold up every
   * other sink and the sending side too).
   */
  async start(): Promise<void> {
    await this.connect().catch(() => undefined);
  }

  private connect(): Promise<amqp.RecoveringChannelModel> {
    this.connecting ??= amqp
      .connect(connectionUrl(this.options), {
        recovery: { initialDelay: 200, maxDelay: 5_000, maxRetries: Infinity, initialMaxRetries: 5 },
      })
      .then(
        (model) => {
          model.on('error', () => undefined);
          return model;
        },
        (err: Error) => {
          this.connecting = undefined;
          throw err;
        },
      );
    return this.connecting;
  }

  private confirmChannel(): Promise<amqp.ConfirmChannel> {
    if (!this.channel) {
      const opening = this.connect().then((model) => model.createConfirmChannel()).then((ch) => {
        ch.on('error', () => undefined);
        ch.on('close', () => {
          if (this.channel === opening) this.channel = undefined;
        });
        // The broker returns a mandatory message it could not route before confirming it.
        ch.on('return', (m: amqp.Message) => {
          const id = headerText(m.properties.headers?.['x-vdxp-publish-id']);
          if (id) this.returned.add(id);
        });
        return ch;
      });
      opening.catch(() => {
        if (this.channel === opening) this.channel = undefined;
      });
      this.channel = opening;
    }
    return this.channel;
  }

  async deliver(message: VendorMessage, context: DeliveryContext): Promise<void> {
    const { content, contentType } = await this.contentOf(message);
    const publishId = randomUUID();
    const routingKey = context.kind === 'status' && this.options.statusRoutingKey !== undefined ? this.options.statusRoutingKey : (this.options.routingKey ?? '');
    const timeoutMs = this.options.confirmTimeoutMs ?? 30_000;
    let channel: amqp.ConfirmChannel;
    try {
      channel = await this.confirmChannel();
    } catch (err) {
      throw new DeliveryError(`amqp ${this.name}: no channel: ${(err as Error).message}`, true);
    }
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new DeliveryError(`amqp ${this.name}: no broker confirm within ${timeoutMs} ms`, true)), timeoutMs);
      const onClose = () => {
        clearTimeout(timer);
        reject(new DeliveryError(`amqp ${this.name}: channel closed before the broker confirmed`, true));
      };
      channel.once('close', onClose);
      try {
        channel.publish(
          this.options.exchange,
          routingKey,
          content,
          {
            persistent: true,
            mandatory: true,
            messageId: context.documentId,
            contentType,
            timestamp: Math.floor(Date.now() / 1000),
            headers: {
              'Idempotency-Key': context.idempotencyKey,
              'x-vdxp-kind': context.kind,
              'x-vdxp-status-code': context.statusCode,
              'x-vdxp-from-organ-id': context.fromOrganId,
              'x-file-name': message.fileName,
              'x-vdxp-publish-id': publishId,
            },
          },
          (err: unknown) => {
            clearTimeout(timer);
            channel.removeListener('close', onClose);
            const wasReturned = this.returned.delete(publishId);
            if (err) reject(new DeliveryError(`amqp ${this.name}: the broker refused the message (nack)`, true));
            else if (wasReturned) reject(new DeliveryError(`amqp ${this.name}: exchange ${this.options.exchange} routed it to no queue (routing key ${JSON.stringify(routingKey)})`, true));
            else resolve();
          },
        );
      } catch (err) {
        clearTimeout(timer);
        channel.removeListener('close', onClose);
        reject(new DeliveryError(`amqp ${this.name}: ${(err as Error).message}`, !(err instanceof RangeError)));
      }
    });
  }

  private async contentOf(message: VendorMessage): Promise<{ content: Buffer; contentType: string }> {
    const { bodyFile, sideFiles } = message;
    if (!bodyFile) {
      if (sideFiles.length === 0) return { content: message.body, contentType: message.contentType };
      const multipart = buildMultipart(message.body, message.contentType, message.fileName, sideFiles);
      return { content: multipart.bytes, contentType: multipart.contentType };
    }
    const frame = sideFiles.length > 0 ? multipartFrame(message.contentType, message.fileName, sideFiles) : undefined;
    const size = bodyFile.length + (frame ? frame.head.length + frame.tail.length : 0);
    const max = this.options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    if (size > max) throw new DeliveryError(`amqp ${this.name}: a message of ${size} bytes is over maxMessageBytes (${max})`, false);
    const content = Buffer.allocUnsafe(size);
    let filled = frame?.head.copy(content) ?? 0;
    try {
      for await (const chunk of bodyFileChunks(bodyFile)) filled += chunk.copy(content, filled);
    } catch (err) {
      throw new DeliveryError(`amqp ${this.name}: ${(err as Error).message}`, true);
    }
    frame?.tail.copy(content, filled);
    return { content, contentType: frame?.contentType ?? message.contentType };
  }

  async stop(): Promise<void> {
    const channel = await this.channel?.catch(() => undefined);
    await channel?.close().catch(() => undefined);
    const model = await this.connecting?.catch(() => undefined);
    await model?.close().catch(() => undefined);
  }
}
