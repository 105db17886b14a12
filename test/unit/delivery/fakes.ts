/** In-memory stand-ins for a sink and the backbone, for unit tests of the delivery path. */
import pino from 'pino';
import type { DeliveryContext, Sink, VendorMessage } from '../../../src/connectors/types';
import type { OutgoingRecord } from '../../../src/broker/producer';

export const silentLog = pino({ level: 'silent' });

/** A sink whose behaviour per call is scripted: 'ok', an Error to throw, or a delay in ms before 'ok'. */
export class ScriptedSink implements Sink {
  readonly calls: DeliveryContext[] = [];
  readonly delivered: DeliveryContext[] = [];
  constructor(
    readonly name: string,
    private readonly behaviour: (call: number, context: DeliveryContext) => 'ok' | Error | number,
  ) {}
  async start(): Promise<void> {}
  async stop(): Promise<void> {}
  async deliver(_message: VendorMessage, context: DeliveryContext): Promise<void> {
    this.calls.push(context);
    const b = this.behaviour(this.calls.length, context);
    if (b instanceof Error) throw b;
    if (typeof b === 'number') await new Promise((r) => setTimeout(r, b));
    this.delivered.push(context);
  }
}

export class MemoryBackbone {
  readonly records: OutgoingRecord[] = [];
  constructor(private readonly topics: Set<string> = new Set()) {}
  async send(record: OutgoingRecord): Promise<void> {
    this.records.push(record);
  }
  async topicExists(topic: string): Promise<boolean> {
    return this.topics.has(topic);
  }
  on(topic: string): OutgoingRecord[] {
    return this.records.filter((r) => r.topic === topic);
  }
}
