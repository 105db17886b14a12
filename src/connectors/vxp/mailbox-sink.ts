/**
 * The receiving half of the vxp connector as a Sink: delivering a package to the legacy system
 * means putting it in the agency's mailbox in Kafka (src/broker/vxp-mailbox.ts), where it waits
 * until the legacy system fetches and confirms it. deliver() resolves once Kafka holds every
 * chunk; then the receive pipeline commits and sends status 01 as for any sink. The mailbox key is
 * the delivery's idempotency key, so a redelivery lands under the same DocId and is listed once.
 */
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { createHash, randomUUID } from 'node:crypto';
import { CHUNK_BYTES, sendChunked } from '../../broker/chunks';
import type { OutgoingRecord } from '../../broker/producer';
import { HEADERS } from '../../broker/topics';
import { VXP_TO_HEADER, vxpInboxTopic } from '../../broker/vxp-mailbox';
import { DeliveryError, type DeliveryContext, type Sink, type VendorMessage } from '../types';

export class VxpMailboxSink implements Sink {
  constructor(
    readonly name: string,
    private readonly organId: string,
    private readonly producer: { send(record: OutgoingRecord): Promise<unknown> },
  ) {}

  async start(): Promise<void> {}
  async stop(): Promise<void> {}

  async deliver(message: VendorMessage, context: DeliveryContext): Promise<void> {
    const topic = vxpInboxTopic(this.organId);
    const headers: Record<string, string> = {
      [HEADERS.kind]: context.kind,
      [HEADERS.documentId]: context.documentId,
      [HEADERS.fromOrganId]: context.fromOrganId,
      [VXP_TO_HEADER]: this.organId,
    };
    try {
      if (message.bodyFile) {
        headers[HEADERS.contentSha256] = await fileSha256(message.bodyFile.path);
        await sendChunked(this.producer, { topic, key: context.idempotencyKey, headers }, message.bodyFile);
      } else if (message.body.length > CHUNK_BYTES) {
        const tmp = path.join(os.tmpdir(), `vdxp-vxp-${randomUUID()}`);
        await fsp.writeFile(tmp, message.body);
        try {
          headers[HEADERS.contentSha256] = createHash('sha256').update(message.body).digest('hex');
          await sendChunked(this.producer, { topic, key: context.idempotencyKey, headers }, { path: tmp, length: message.body.length });
        } finally {
          await fsp.rm(tmp, { force: true });
        }
      } else {
        headers[HEADERS.contentSha256] = createHash('sha256').update(message.body).digest('hex');
        await this.producer.send({ topic, key: context.idempotencyKey, value: message.body, headers });
      }
    } catch (err) {
      throw new DeliveryError(`mailbox ${topic}: ${(err as Error).message}`, true);
    }
  }
}

async function fileSha256(file: string): Promise<string> {
  const h = createHash('sha256');
  const handle = await fsp.open(file, 'r');
  try {
    for await (const chunk of handle.createReadStream()) h.update(chunk as Buffer);
  } finally {
    await handle.close().catch(() => undefined);
  }
  return h.digest('hex');
}
