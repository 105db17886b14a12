/**
 * Sending side (DESIGN.md §3, agency A): a source hands over a vendor message; it is converted to
 * edXML, validated, signed if configured, and written to every recipient's topic. Only when Kafka
 * acknowledged every copy is the source item settled as accepted.
 */
import { Rejection, isRejection } from '../errors';
import type { Limits } from '../limits';
import type { SourceHandler, VendorMessage } from '../connectors/types';
import type { FormatProfile } from '../transform/profile';
import { docsTopic, statusTopic, HEADERS } from '../broker/topics';
import type { OutgoingRecord } from '../broker/producer';
import type { Logger } from '../observability/log';
import type { Metrics } from '../observability/metrics';
import { readPackageFacts, type PackageFacts } from './package-facts';
import { sha256Hex } from './identity';

export interface SendDependencies {
  organId: string;
  limits: Limits;
  profile: FormatProfile;
  profileOptions: Record<string, unknown>;
  producer: { send(record: OutgoingRecord): Promise<unknown>; topicExists(topic: string): Promise<boolean> };
  /** Signs for a legacy system that cannot (DESIGN.md §5); absent when the agency signs itself. */
  sign?: (edxml: Buffer) => Buffer;
  log: Logger;
  metrics?: Metrics;
}

export function makeSendHandler(deps: SendDependencies): SourceHandler {
  return async (message, settle) => {
    const startedAt = process.hrtime.bigint();
    let facts: PackageFacts | undefined;
    let records: OutgoingRecord[];
    const refuse = (rejection: Rejection, step: 'parse' | 'produce') => {
      deps.log.warn({ step, documentId: facts?.documentId, reason: rejection.reason, detail: rejection.detail, file: message.fileName }, 'rejected at source');
      deps.metrics?.rejected('outbound', rejection.reason);
      return settle.rejected(rejection);
    };
    try {
      const edxml = toEdxml(deps, message);
      facts = readPackageFacts(edxml, deps.limits);
      if (facts.fromOrganId !== deps.organId) {
        throw new Rejection('invalid-edxml', `From/OrganId is ${facts.fromOrganId}, but this connector sends for ${deps.organId}`);
      }
      const signed = deps.sign ? deps.sign(edxml) : edxml;
      records = await recordsFor(deps, facts, signed);
    } catch (err) {
      if (!isRejection(err)) {
        deps.log.warn({ step: 'produce', err, file: message.fileName }, 'backbone unavailable; the item stays with the source');
        return settle.retryLater(err as Error);
      }
      return refuse(err, 'parse');
    }
    try {
      await Promise.all(records.map((r) => deps.producer.send(r)));
    } catch (err) {
      // e.g. larger than a Kafka message: retrying the same bytes cannot help
      if (isRejection(err)) return refuse(err, 'produce');
      deps.log.warn({ step: 'produce', documentId: facts.documentId, err }, 'Kafka did not acknowledge; the item stays with the source');
      return settle.retryLater(err as Error);
    }
    await settle.accepted();
    const seconds = Number(process.hrtime.bigint() - startedAt) / 1e9;
    for (const recipient of facts.recipients) deps.metrics?.documentProcessed('outbound', recipient, 'delivered');
    deps.metrics?.observeDeliveryLatency('source_to_kafka', seconds);
    deps.log.info({ step: 'produce', documentId: facts.documentId, fromOrganId: facts.fromOrganId, toOrganId: facts.recipients.join(','), kind: facts.kind }, 'sent to the backbone');
  };
}

function toEdxml(deps: SendDependencies, message: VendorMessage): Buffer {
  try {
    return deps.profile.toEdxml(message, { ownOrganId: deps.organId, options: deps.profileOptions });
  } catch (err) {
    if (isRejection(err)) throw err;
    throw new Rejection('mapping-failed', `profile ${deps.profile.name}: ${(err as Error).message}`);
  }
}

async function recordsFor(deps: SendDependencies, facts: PackageFacts, value: Buffer): Promise<OutgoingRecord[]> {
  const topicOf = facts.kind === 'edoc' ? docsTopic : statusTopic;
  const headers = {
    [HEADERS.kind]: facts.kind,
    [HEADERS.documentId]: facts.documentId,
    [HEADERS.fromOrganId]: facts.fromOrganId,
    [HEADERS.contentSha256]: sha256Hex(value),
    [HEADERS.trace]: JSON.stringify([{ organId: deps.organId, at: new Date().toISOString(), step: 'sent' }]),
  };
  const records: OutgoingRecord[] = [];
  for (const recipient of facts.recipients) {
    const topic = topicOf(recipient);
    if (!(await deps.producer.topicExists(topic))) {
      throw new Rejection('unknown-recipient', `no agency ${recipient} on the backbone (topic ${topic} does not exist)`);
    }
    records.push({ topic, key: facts.documentId, value, headers });
  }
  if (records.length === 0) throw new Rejection('invalid-edxml', 'the package names no recipient');
  return records;
}
