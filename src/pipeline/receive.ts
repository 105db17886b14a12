/**
 * Receiving side (DESIGN.md §3, agency B): a record from this agency's topic is checked (limits,
 * structure, addressee, signature), converted to each sink's vendor format and delivered. Only
 * then does the consumer commit; a package that can never be delivered goes to the dead-letter
 * topic with its reason, and the sender gets status 02.
 */
import { Rejection, isRejection } from '../errors';
import type { Limits } from '../limits';
import { DeliveryError, type DeliveryContext, type Sink } from '../connectors/types';
import type { FormatProfile } from '../transform/profile';
import type { IncomingRecord, RecordHandler } from '../broker/consumer';
import type { OutgoingRecord } from '../broker/producer';
import { deadLetterTopic, statusTopic, HEADERS } from '../broker/topics';
import type { Logger } from '../observability/log';
import type { Metrics } from '../observability/metrics';
import { readPackageFacts, type PackageFacts } from './package-facts';
import { idempotencyKey, sha256Hex } from './identity';
import { statusReply, type Self } from './statuses';

export interface SinkBinding {
  sink: Sink;
  profile: FormatProfile;
  profileOptions: Record<string, unknown>;
}

export interface ReceiveDependencies {
  self: Self;
  limits: Limits;
  sinks: SinkBinding[];
  producer: { send(record: OutgoingRecord): Promise<unknown>; topicExists(topic: string): Promise<boolean> };
  /** Signature check per partner policy; throws Rejection. Absent only when no trust is configured. */
  verify?: (edxml: Buffer, facts: PackageFacts) => Promise<void> | void;
  log: Logger;
  metrics?: Metrics;
  now?: () => Date;
}

export function makeReceiveHandler(deps: ReceiveDependencies): RecordHandler {
  return async (record) => {
    const startedAt = record.timestamp ?? Date.now();
    let facts: PackageFacts | undefined;
    try {
      facts = readPackageFacts(record.value, deps.limits);
      if (facts.kind === 'edoc' && !facts.recipients.includes(deps.self.organId)) {
        throw new Rejection('not-addressed-to-us', `the package is addressed to ${facts.recipients.join(', ')}, not ${deps.self.organId}`);
      }
      await deps.verify?.(record.value, facts);
      await deliverToSinks(deps, record.value, facts);
    } catch (err) {
      if (!isRejection(err)) throw err; // transient: the consumer retries this record, uncommitted
      await deadLetter(deps, record, err, facts);
      return;
    }
    if (facts.kind === 'edoc') {
      // Status 01 (arrived) goes to the sender only after the legacy system holds the document.
      await sendStatus(deps, facts, '01', 'Đã đến - văn bản đã được chuyển vào hệ thống quản lý văn bản');
    }
    deps.metrics?.documentProcessed('inbound', facts.fromOrganId, 'delivered');
    deps.metrics?.observeDeliveryLatency('kafka_to_sink', Math.max(0, Date.now() - startedAt) / 1000);
    deps.log.info({ step: 'deliver', documentId: facts.documentId, fromOrganId: facts.fromOrganId, toOrganId: deps.self.organId, kind: facts.kind }, 'delivered to the legacy system');
  };
}

async function deliverToSinks(deps: ReceiveDependencies, edxml: Buffer, facts: PackageFacts): Promise<void> {
  const context: DeliveryContext = {
    documentId: facts.documentId,
    idempotencyKey: idempotencyKey(facts.documentId, sha256Hex(edxml)),
    kind: facts.kind,
    statusCode: facts.statusCode,
    fromOrganId: facts.fromOrganId,
  };
  for (const binding of deps.sinks) {
    let vendorMessage;
    try {
      vendorMessage = binding.profile.fromEdxml(edxml, { ownOrganId: deps.self.organId, options: binding.profileOptions, delivery: context });
    } catch (err) {
      if (isRejection(err)) throw err;
      throw new Rejection('mapping-failed', `profile ${binding.profile.name}: ${(err as Error).message}`);
    }
    try {
      await binding.sink.deliver(vendorMessage, context);
    } catch (err) {
      if (err instanceof DeliveryError && !err.transient) {
        throw new Rejection('delivery-rejected', `sink ${binding.sink.name} refused it: ${err.message}`);
      }
      deps.log.warn({ step: 'deliver', documentId: facts.documentId, sink: binding.sink.name, err }, 'delivery failed; will retry');
      throw err;
    }
  }
}

async function deadLetter(deps: ReceiveDependencies, record: IncomingRecord, rejection: Rejection, facts: PackageFacts | undefined): Promise<void> {
  const now = (deps.now?.() ?? new Date()).toISOString();
  const fromOrganId = facts?.fromOrganId ?? record.headers[HEADERS.fromOrganId];
  await deps.producer.send({
    topic: deadLetterTopic(deps.self.organId),
    key: facts?.documentId ?? record.key ?? `${record.topic}/${record.partition}/${record.offset}`,
    value: record.value,
    headers: {
      ...record.headers,
      [HEADERS.reason]: rejection.reason,
      [HEADERS.detail]: rejection.detail.slice(0, 2000),
      [HEADERS.attempts]: '1',
      [HEADERS.firstFailure]: now,
      [HEADERS.lastFailure]: now,
      [HEADERS.sourceTopic]: record.topic,
      [HEADERS.sourcePartition]: String(record.partition),
      [HEADERS.sourceOffset]: String(record.offset),
    },
  });
  deps.metrics?.rejected('inbound', rejection.reason);
  deps.metrics?.deadLettered(rejection.reason);
  deps.log.warn(
    { step: 'dead-letter', documentId: facts?.documentId, fromOrganId, reason: rejection.reason, detail: rejection.detail, offset: record.offset, partition: record.partition },
    'package rejected and dead-lettered',
  );
  // The sender hears about a rejected document (status 02) when we know who and what it was.
  if (facts && facts.kind === 'edoc' && rejection.reason !== 'not-addressed-to-us') {
    await sendStatus(deps, facts, '02', `Từ chối tiếp nhận: ${rejection.reason}: ${rejection.detail}`.slice(0, 500));
  }
}

async function sendStatus(deps: ReceiveDependencies, facts: PackageFacts, code: '01' | '02', description: string): Promise<void> {
  const topic = statusTopic(facts.fromOrganId);
  // A sender unknown to the backbone cannot be told; waiting for its topic would block the partition.
  if (!(await deps.producer.topicExists(topic))) {
    deps.log.warn({ step: 'status', documentId: facts.documentId, fromOrganId: facts.fromOrganId, statusCode: code }, `no status topic ${topic}; status not sent`);
    return;
  }
  await deps.producer.send(statusRecord(deps, facts, topic, code, description));
}

function statusRecord(deps: ReceiveDependencies, facts: PackageFacts, topic: string, code: '01' | '02', description: string): OutgoingRecord {
  const value = statusReply(facts, deps.self, code, description, deps.now?.() ?? new Date());
  return {
    topic,
    key: facts.documentId,
    value,
    headers: {
      [HEADERS.kind]: 'status',
      [HEADERS.documentId]: facts.documentId,
      [HEADERS.fromOrganId]: deps.self.organId,
      [HEADERS.contentSha256]: sha256Hex(value),
    },
  };
}
