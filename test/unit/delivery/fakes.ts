/** In-memory stand-ins for a sink and the backbone, for unit tests of the delivery path. */
import pino from 'pino';
import { strict as assert } from 'node:assert';
import type { DeliveryContext, Sink, SourceHandler, VendorMessage } from '../../../src/connectors/types';
import type { OutgoingRecord } from '../../../src/broker/producer';
import type { BackboneSender, SendDependencies } from '../../../src/pipeline/send';
import type { Spool } from '../../../src/pipeline/spool';
import { profileByName } from '../../../src/transform';
import { withDefaults } from '../../../src/limits';
import type { Rejection } from '../../../src/errors';

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

/** The send pipeline's view of a MemoryBackbone (packages in memory only). */
export function memorySender(memory: MemoryBackbone): BackboneSender {
  return { send: (r) => memory.send(r), sendFile: async () => undefined, topicExists: (t) => memory.topicExists(t) };
}

/** A send pipeline of `organId` for native edXML with default limits, writing to `memory`. */
export function edxmlSendDependencies(organId: string, memory: MemoryBackbone, spool: Spool): SendDependencies {
  return { organId, limits: withDefaults(), profile: profileByName('edxml'), profileOptions: {}, producer: memorySender(memory), spool, log: silentLog };
}

/** Hands one edXML body to a send handler, as a file from a drop folder; resolves with how it was settled. */
export async function sendBody(handler: SourceHandler, body: Buffer): Promise<{ accepted?: true; rejected?: Rejection }> {
  const outcome: { accepted?: true; rejected?: Rejection } = {};
  await handler({ body, fileName: 'p.edxml', contentType: 'application/xml', sideFiles: [] }, {
    accepted: async () => void (outcome.accepted = true),
    rejected: async (r) => void (outcome.rejected = r),
    retryLater: async (e) => assert.fail(e),
  });
  return outcome;
}
