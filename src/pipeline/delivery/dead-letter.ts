/**
 * Quarantine (DESIGN.md §4 rules 1 and 3): the original bytes go to this agency's dead-letter
 * topic with the reason and the failure history in headers, and the original key and headers
 * byte for byte in a lossless encoding (src/broker/record-metadata.ts); the sender hears status 02
 * when we know who and what it was, and a metric and a log line record it. Only after that may
 * the consumer commit past the record.
 */
import type { IncomingRecord, RecordFailure } from '../../broker/consumer';
import { isBackboneUnavailable, type OutgoingRecord } from '../../broker/producer';
import { encodeHeaders, keyBytesOf, metadataBytes, rawHeadersOf } from '../../broker/record-metadata';
import { deadLetterTopic, outboxTopic, statusTopic, HEADERS } from '../../broker/topics';
import type { Logger } from '../../observability/log';
import type { Metrics } from '../../observability/metrics';
import { isRejection } from '../../errors';
import { isRejectionReason } from './reasons';
import type { PackageFacts } from '../package-facts';
import { sha256Hex } from '../identity';
import { statusReply, statusTime, targetFromHeaders, targetOf, type Self, type StatusTarget } from '../statuses';
import type { Quarantine } from './retry-policy';
import type { TrailRecorder } from '../../trail';
import { deadLetteredStep } from '../trail-steps';
import { routeRecipient, type OutboundRoute } from '../outbound-routes';

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
  /** Where deadLetterExhausted records its step (src/trail); the other callers record their own. */
  trail?: TrailRecorder;
  /** Outbound routes: a status for an agency behind one goes to the outbox (src/pipeline/outbound-routes.ts). */
  routes?: readonly OutboundRoute[];
}

/** A record as its dead letter describes it; `bodyOmitted` when the bytes cannot travel (a reassembled package's length). */
export type LetterSource = IncomingRecord & { bodyOmitted?: string };

const MAX_DETAIL_CHARS = 2000;

/** The dead-letter headers: reason, detail, history, origin, and the original key and headers, losslessly. */
export function deadLetterHeaders(record: LetterSource, quarantine: Quarantine, at: Date, options: { omitMetadata?: boolean } = {}): Record<string, string> {
  const { history } = quarantine;
  const headers: Record<string, string> = {
    [HEADERS.reason]: quarantine.reason,
    [HEADERS.detail]: quarantine.detail.slice(0, MAX_DETAIL_CHARS),
    [HEADERS.attempts]: String(Math.max(1, history.attempts)),
    [HEADERS.firstFailure]: (history.firstFailure ?? at).toISOString(),
    [HEADERS.lastFailure]: (history.lastFailure ?? at).toISOString(),
    [HEADERS.sourceTopic]: record.topic,
    [HEADERS.sourcePartition]: String(record.partition),
    [HEADERS.sourceOffset]: String(record.offset),
  };
  if (quarantine.limit) headers[HEADERS.limit] = quarantine.limit;
  if (record.bodyOmitted !== undefined) headers[HEADERS.bodyOmitted] = record.bodyOmitted;
  const fromOrganId = record.headers[HEADERS.fromOrganId];
  if (fromOrganId !== undefined) headers[HEADERS.fromOrganId] = fromOrganId.slice(0, 200);
  const documentId = record.headers[HEADERS.documentId];
  if (documentId !== undefined) headers[HEADERS.documentId] = documentId.slice(0, 1000);
  if (options.omitMetadata) {
    // Too large to carry: its size and digest say what it was; the original stays at its source offset.
    headers[HEADERS.metadataOmitted] = String(metadataBytes(record));
    return headers;
  }
  const key = keyBytesOf(record);
  if (key !== undefined) headers[HEADERS.originalKey] = key.toString('base64');
  headers[HEADERS.originalHeaders] = encodeHeaders(rawHeadersOf(record));
  return headers;
}

/** The record without its bytes, saying how many there were (`vdxp-body-omitted`): what a dead letter holds when they do not fit. */
export function withoutBody(record: IncomingRecord, length: number | string): LetterSource {
  return { ...record, value: Buffer.alloc(0), bodyOmitted: String(length) };
}

export interface DeadLetterOptions {
  /** Leave the original key and headers out from the start (they are over limits.maxRecordMetadataBytes). */
  omitMetadata?: boolean;
  /** Who to tell with status 02 when the package could not be read (facts undefined). */
  statusTarget?: StatusTarget;
  /** Headers of the status 02's record besides the usual ones (the outbox marks its refusals). */
  statusHeaders?: Record<string, string>;
}

/** Resolves with the description of the status 02 sent to the sender, if one was. */
export async function deadLetter(
  deps: DeadLetterDependencies,
  record: LetterSource,
  quarantine: Quarantine,
  facts: PackageFacts | undefined,
  options: DeadLetterOptions = {},
): Promise<{ statusSent?: string }> {
  const at = deps.now?.() ?? new Date();
  const topic = deadLetterTopic(deps.self.organId);
  const key = facts?.documentId ?? record.key ?? `${record.topic}/${record.partition}/${record.offset}`;
  // Each step leaves out what may not fit one Kafka message: first the bytes, then the original
  // metadata. What is left out stays at its source topic/partition/offset until retention.
  const letters: OutgoingRecord[] = [];
  for (const omitMetadata of options.omitMetadata ? [true] : [false, true]) {
    const letterKey = omitMetadata ? key.slice(0, 1000) : key;
    if (record.bodyOmitted === undefined) letters.push({ topic, key: letterKey, value: record.value, headers: deadLetterHeaders(record, quarantine, at, { omitMetadata }) });
    letters.push({ topic, key: letterKey, value: Buffer.alloc(0), headers: deadLetterHeaders(bodiless(record), quarantine, at, { omitMetadata }) });
  }
  for (let i = 0; ; i++) {
    try {
      await deps.producer.send(letters[i]!);
      break;
    } catch (err) {
      if (!isRejection(err) || i === letters.length - 1) throw err;
    }
  }
  if (isRejectionReason(quarantine.reason)) deps.metrics?.rejected('inbound', quarantine.reason);
  if (quarantine.limit) deps.metrics?.limitExceeded(quarantine.limit);
  deps.metrics?.deadLettered(quarantine.reason);
  deps.log.warn(
    {
      step: 'dead-letter',
      documentId: facts?.documentId,
      fromOrganId: facts?.fromOrganId ?? record.headers[HEADERS.fromOrganId],
      reason: quarantine.reason,
      limit: quarantine.limit,
      detail: quarantine.detail,
      attempts: quarantine.history.attempts,
      topic: record.topic,
      offset: record.offset,
      partition: record.partition,
    },
    'package rejected and dead-lettered',
  );
  // The sender hears about a rejected document (status 02) when we know who and what it was.
  const target = facts ? (facts.kind === 'edoc' && quarantine.reason !== 'not-addressed-to-us' ? targetOf(facts) : undefined) : options.statusTarget;
  if (!target) return {};
  // A target taken from the record's headers is a claim: the package's signature was never checked.
  const refused = facts ? 'Từ chối tiếp nhận' : 'Từ chối tiếp nhận (người gửi và văn bản theo tiêu đề bản ghi, chưa xác thực chữ ký)';
  const description = `${refused}: ${quarantine.reason}: ${quarantine.detail}`.slice(0, 500);
  return (await sendStatus(deps, target, '02', description, statusTime(record, () => at), options.statusHeaders)) ? { statusSent: description } : {};
}

function bodiless(record: LetterSource): LetterSource {
  return record.bodyOmitted !== undefined ? record : withoutBody(record, record.value.length);
}

/**
 * A record that spent its budget (src/broker/record-budget.ts): dead-lettered as it arrived, with
 * status 02 to the sender its headers name.
 */
export async function deadLetterExhausted(deps: DeadLetterDependencies, record: IncomingRecord, failure: RecordFailure): Promise<{ statusSent?: string }> {
  const at = deps.now?.() ?? new Date();
  const what = failure.budget === 'time' ? `worked on for ${failure.activeMs} ms without being settled` : `${failure.attempts} attempts failed`;
  const quarantine: Quarantine = {
    reason: 'budget-exhausted',
    detail: `${what}; the last failure: ${failure.error?.message ?? 'unknown'}`,
    limit: failure.budget === 'time' ? 'limits.maxRecordMs' : 'limits.maxRecordAttempts',
    history: { attempts: Math.max(1, failure.attempts), firstFailure: at, lastFailure: at },
  };
  const letter = await deadLetter(deps, record, quarantine, undefined, { statusTarget: targetFromHeaders(record, deps.self) });
  await deps.trail?.record(deadLetteredStep(record, quarantine, undefined), at);
  return letter;
}

/**
 * Sends status 01 or 02 to the sender's status topic. A status that cannot be written (the
 * writer refuses what the document carries) or that the backbone refuses for good is logged and
 * counted, never retried: the document itself is settled. Only a backbone that is down is
 * waited out (the error goes up, and the record is tried again once it is back). Resolves true once
 * Kafka holds the status. A sender with no status topic that an outbound route reaches (an agency
 * behind a VXP endpoint) is sent the status through the outbox, like this agency's other packages
 * for it.
 */
export async function sendStatus(deps: DeadLetterDependencies, target: StatusTarget, code: '01' | '02', description: string, at: Date, extraHeaders: Record<string, string> = {}): Promise<boolean> {
  let topic = statusTopic(target.organId);
  const fields = { step: 'status', documentId: target.documentId, fromOrganId: target.organId, statusCode: code };
  const onBackbone = await deps.producer.topicExists(topic);
  const decision = routeRecipient(deps.routes ?? [], deps.self.organId, target.organId, onBackbone);
  if (decision.via === 'route') {
    topic = outboxTopic(deps.self.organId);
    extraHeaders = { ...extraHeaders, [HEADERS.outboundRoute]: decision.route.connector, [HEADERS.outboundRecipients]: target.organId };
  } else if (!onBackbone) {
    // A sender unknown to the backbone and to every route cannot be told; waiting for its topic would block the partition.
    deps.log.warn(fields, `no status topic ${topic}; status not sent`);
    deps.metrics?.statusNotSent(code, 'no_topic');
    return false;
  }
  let value: Buffer;
  try {
    value = statusReply(target, deps.self, code, description, at);
  } catch (err) {
    deps.log.error({ ...fields, err: (err as Error).message }, `status ${code} cannot be written for this document; not sent`);
    deps.metrics?.statusNotSent(code, 'unwritable');
    return false;
  }
  try {
    await deps.producer.send({
      topic,
      key: target.documentId,
      value,
      headers: {
        [HEADERS.kind]: 'status',
        [HEADERS.documentId]: target.documentId,
        [HEADERS.fromOrganId]: deps.self.organId,
        [HEADERS.contentSha256]: sha256Hex(value),
        ...extraHeaders,
      },
    });
    return true;
  } catch (err) {
    if (isBackboneUnavailable(err)) throw err;
    deps.log.error({ ...fields, err: (err as Error).message }, `status ${code} refused by the backbone; not sent`);
    deps.metrics?.statusNotSent(code, 'refused');
    return false;
  }
}
