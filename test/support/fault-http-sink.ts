/**
 * A minimal HTTP sink for the fault suite (the project's own `http` transport is being built
 * separately): POSTs the vendor body with the idempotency key, and reports failures the way the
 * pipeline expects — 2xx ok, 408/429/5xx and connection errors transient, other 4xx permanent.
 */
import { DeliveryError, type DeliveryContext, type Sink, type VendorMessage } from '../../src/connectors/types';
import { classifyHttpStatus } from '../../src/pipeline/delivery/retry-policy';

export class FaultHttpSink implements Sink {
  constructor(
    readonly name: string,
    private readonly url: string,
  ) {}

  async start(): Promise<void> {}
  async stop(): Promise<void> {}

  async deliver(message: VendorMessage, context: DeliveryContext): Promise<void> {
    let response: Response;
    try {
      response = await fetch(this.url, {
        method: 'POST',
        body: message.body,
        headers: { 'Content-Type': message.contentType, 'Idempotency-Key': context.idempotencyKey, 'X-Document-Id': encodeURIComponent(context.documentId) },
      });
      await response.arrayBuffer();
    } catch (err) {
      throw new DeliveryError(`POST ${this.url}: ${(err as Error & { cause?: Error }).cause?.message ?? (err as Error).message}`, true);
    }
    const verdict = classifyHttpStatus(response.status);
    if (verdict !== 'ok') throw new DeliveryError(`HTTP ${response.status} from ${this.url}`, verdict === 'transient');
  }
}
