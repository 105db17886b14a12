/**
 * Quarantine (DESIGN.md §4 rules 1 and 3): the original bytes go to this agency's dead-letter
 * topic with the reason and the failure history in headers, the sender hears status 02 when we
 * know who and what it was, and a metric and a log line record it. Only after that may the
 * consumer commit past the record.
 */
import type { IncomingRecord } from '../../broker/consumer';
import type { OutgoingRecord } from '../../broker/producer';
import { deadLetterTopic, statusTopic, HEADERS } from '../../broker/topics';
import type { Logger } from '../../observability/log';
import type { Metrics } from '../../observability/metrics';
import { isRejection } from '../../errors';
import { isRejectionReason } from './reasons';
import type { PackageFacts } from '../package-facts';
import { sha256Hex } from '../identity';
import { statusReply, type Self } from '../statuses';
import type { Quarantine } from './retry-policy';

export interface BackboneWriter {
  send(record: OutgoingRecord): Promise<unknown>;
  topicExists(topic: string): Promise<boolean>;
}

export interface DeadLetterDependencies {
  self: Self;
  producer: BackboneWriter;
  log: Logger;
  metrics?: Metrics;
  now?: () => Date;
}

const MAX_DETAIL_CHARS = 2000;

/** The dead-letter headers: the record's own headers plus reason, detail, history and origin. */
export function deadLetterHeaders(record: IncomingRecord, quarantine: Quarantine, at: Date): Record<string, string> {
  const { history } = quarantine;
  return {
    ...record.headers,
    [HEADERS.reason]: quarantine.reason,
    [HEADERS.detail]: quarantine.detail.slice(0, MAX_DETAIL_CHARS),
    [HEADERS.attempts]: String(Math.max(1, history.attempts)),
    [HEADERS.firstFailure]: (history.firstFailure ?? at).toISOString(),
    [HEADERS.lastFailure]: (history.lastFailure ?? at).toISOString(),
    [HEADERS.sourceTopic]: record.topic,
    [HEADERS.sourcePartition]: String(record.partition),
    [HEADERS.sourceOffset]: String(record.offset),
  };
}

/** The record without its bytes, saying how many there were (`vdxp-body-omitted`): what a dead letter holds when they do not fit. */
export function withoutBody<T extends { value: Buffer; headers: Record<string, string> }>(record: T, length: number | string): T {
  return { ...record, value: Buffer.alloc(0), headers: { ...record.headers, [HEADERS.bodyOmitted]: String(length) } };
}

/** Resolves with the description of the status 02 sent to the sender, if one was. */
export async function deadLetter(deps: DeadLetterDependencies, record: IncomingRecord, quarantine: Quarantine, facts: PackageFacts | undefined): Promise<{ statusSent?: string }> {
  const at = deps.now?.() ?? new Date();
  const letter = {
    topic: deadLetterTopic(deps.self.organId),
    key: facts?.documentId ?? record.key ?? `${record.topic}/${record.partition}/${record.offset}`,
    value: record.value,
    headers: deadLetterHeaders(record, quarantine, at),
  };
  try {
    await deps.producer.send(letter);
  } catch (err) {
    if (!isRejection(err)) throw err;
    // The bytes plus our headers exceed a Kafka message: record the verdict without them rather than
    // block the partition; the original stays at its source topic/partition/offset until retention.
    await deps.producer.send(withoutBody(letter, record.value.length));
  }
  if (isRejectionReason(quarantine.reason)) deps.metrics?.rejected('inbound', quarantine.reason);
  deps.metrics?.deadLettered(quarantine.reason);
  deps.log.warn(
    {
      step: 'dead-letter',
      documentId: facts?.documentId,
      fromOrganId: facts?.fromOrganId ?? record.headers[HEADERS.fromOrganId],
      reason: quarantine.reason,
      detail: quarantine.detail,
      attempts: quarantine.history.attempts,
      topic: record.topic,
      offset: record.offset,
      partition: record.partition,
    },
    'package rejected and dead-lettered',
  );
  // The sender hears about a rejected document (status 02) when we know who and what it was.
  if (facts && facts.kind === 'edoc' && quarantine.reason !== 'not-addressed-to-us') {
    const description = `Từ chối tiếp nhận: ${quarantine.reason}: ${quarantine.detail}`.slice(0, 500);
    if (await sendStatus(deps, facts, '02', description)) return { statusSent: description };
  }
  return {};
}

/** Resolves true once Kafka holds the status, false when the sender has no status topic to tell. */
export async function sendStatus(deps: DeadLetterDependencies, facts: PackageFacts, code: '01' | '02', description: string): Promise<boolean> {
  const topic = statusTopic(facts.fromOrganId);
  // A sender unknown to the backbone cannot be told; waiting for its topic would block the partition.
  if (!(await deps.producer.topicExists(topic))) {
    deps.log.warn({ step: 'status', documentId: facts.documentId, fromOrganId: facts.fromOrganId, statusCode: code }, `no status topic ${topic}; status not sent`);
    return false;
  }
  const value = statusReply(facts, deps.self, code, description, deps.now?.() ?? new Date());
  await deps.producer.send({
    topic,
    key: facts.documentId,
    value,
    headers: {
      [HEADERS.kind]: 'status',
      [HEADERS.documentId]: facts.documentId,
      [HEADERS.fromOrganId]: deps.self.organId,
      [HEADERS.contentSha256]: sha256Hex(value),
    },
  });
  return true;
}
