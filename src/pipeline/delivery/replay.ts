/**
 * Replaying a dead letter (issue 6, `vdxp dlq replay`): the package is checked again from
 * scratch — limits, structure, addressee, signature and revocation with today's trust material,
 * since a certificate may have been revoked since — and only if it passes is it put back on the
 * topic it came from, where the receiving pipeline checks and delivers it like any record. A dead
 * letter of the outbox (this agency's own package that an endpoint refused) must be from this
 * agency and name a route still configured; it goes back to the outbox, to be sent again.
 */
import { Rejection, isRejection } from '../../errors';
import type { Limits } from '../../limits';
import type { IncomingRecord } from '../../broker/consumer';
import type { OutgoingRecord } from '../../broker/producer';
import { docsTopic, outboxTopic, statusTopic, HEADERS } from '../../broker/topics';
import { decodeHeaders, type RecordHeader } from '../../broker/record-metadata';
import { readPackageFacts, type PackageFacts } from '../package-facts';

export interface DeadLetterSummary {
  address: string;
  partition: number;
  offset: number;
  reason: string;
  detail: string;
  attempts: number;
  firstFailure: string | undefined;
  lastFailure: string | undefined;
  source: string | undefined;
  documentId: string | undefined;
  bytes: number;
}

export function summarize(record: IncomingRecord): DeadLetterSummary {
  const h = record.headers;
  const source = h[HEADERS.sourceTopic] ? `${h[HEADERS.sourceTopic]}:${h[HEADERS.sourcePartition]}:${h[HEADERS.sourceOffset]}` : undefined;
  return {
    address: `${record.partition}:${record.offset}`,
    partition: record.partition,
    offset: record.offset,
    reason: h[HEADERS.reason] ?? 'unknown',
    detail: h[HEADERS.detail] ?? '',
    attempts: Number(h[HEADERS.attempts] ?? 0),
    firstFailure: h[HEADERS.firstFailure],
    lastFailure: h[HEADERS.lastFailure],
    source,
    documentId: h[HEADERS.documentId] ?? record.key,
    bytes: h[HEADERS.bodyOmitted] !== undefined ? Number(h[HEADERS.bodyOmitted]) : record.value.length,
  };
}

/** `2:17` → partition 2, offset 17. */
export function parseAddress(text: string): { partition: number; offset: number } | undefined {
  const m = /^(\d+):(\d+)$/.exec(text.trim());
  return m ? { partition: Number(m[1]), offset: Number(m[2]) } : undefined;
}

export interface ReplayChecks {
  organId: string;
  limits: Limits;
  verify?: (edxml: Buffer, facts: PackageFacts) => Promise<unknown> | unknown;
  /** The outbound routes configured now, by connector name: where a dead letter of the outbox may go again. */
  outboundRoutes?: readonly string[];
}

/** What dead letters written before the lossless encoding added to the original headers. */
const DEAD_LETTER_ONLY = new Set<string>([
  HEADERS.reason,
  HEADERS.detail,
  HEADERS.attempts,
  HEADERS.firstFailure,
  HEADERS.lastFailure,
  HEADERS.sourceTopic,
  HEADERS.sourcePartition,
  HEADERS.sourceOffset,
]);

export type ReplayVerdict = { ok: true; record: OutgoingRecord } | { ok: false; rejection: Rejection };

/** Runs every check again; on success returns the record to put back on the agency's own topic. */
export async function prepareReplay(deadLetter: IncomingRecord, checks: ReplayChecks): Promise<ReplayVerdict> {
  // What the outbox consumer could not send to an endpoint goes back to the outbox, the rest to the inbound topics.
  const outbound = deadLetter.headers[HEADERS.sourceTopic] === outboxTopic(checks.organId);
  let facts: PackageFacts;
  try {
    const omitted = deadLetter.headers[HEADERS.bodyOmitted];
    if (deadLetter.headers[HEADERS.metadataOmitted] !== undefined) {
      const source = summarize(deadLetter).source ?? 'its source topic';
      throw new Rejection('limit-exceeded', `this dead letter does not carry the original key and headers (${deadLetter.headers[HEADERS.metadataOmitted]} bytes); its original stays at ${source} until retention`, 'limits.maxRecordMetadataBytes');
    }
    if (omitted !== undefined) {
      const source = summarize(deadLetter).source ?? 'its source topic';
      throw new Rejection(
        'limit-exceeded',
        `this dead letter carries no bytes: the package had ${omitted} bytes, more than one Kafka message holds; its original stays at ${source} until retention; ask the sender to send it again`,
        'kafka.message.max.bytes',
      );
    }
    facts = readPackageFacts(deadLetter.value, checks.limits);
    if (outbound) checkOutbound(deadLetter, facts, checks);
    else if (facts.kind === 'edoc' && !facts.recipients.includes(checks.organId)) {
      throw new Rejection('not-addressed-to-us', `the package is addressed to ${facts.recipients.join(', ')}, not ${checks.organId}`);
    }
    await checks.verify?.(facts.bytes ?? deadLetter.value, facts);
  } catch (err) {
    if (isRejection(err)) return { ok: false, rejection: err };
    throw err;
  }
  // Only this agency's own topics (inbound, or its outbox): a forged source header cannot send the package elsewhere.
  const topic = outbound ? outboxTopic(checks.organId) : facts.kind === 'edoc' ? docsTopic(checks.organId) : statusTopic(checks.organId);
  const replayedFrom = { name: HEADERS.replayedFrom, value: Buffer.from(`${deadLetter.partition}:${deadLetter.offset}`) };
  const original = originalHeaders(deadLetter);
  const rawHeaders = [...original.filter((h) => h.name !== HEADERS.replayedFrom), replayedFrom];
  const headers = Object.fromEntries(rawHeaders.map((h) => [h.name, h.value.toString('utf8')]));
  return { ok: true, record: { topic, key: facts.documentId, value: deadLetter.value, headers, rawHeaders } };
}

/** An outbox dead letter: this agency's own package, for a route that is still configured. */
function checkOutbound(deadLetter: IncomingRecord, facts: PackageFacts, checks: ReplayChecks): void {
  if (facts.fromOrganId !== checks.organId) {
    throw new Rejection('invalid-edxml', `From/OrganId is ${facts.fromOrganId}: the outbox of ${checks.organId} holds its own packages only`);
  }
  const route = originalHeaders(deadLetter)
    .find((h) => h.name === HEADERS.outboundRoute)
    ?.value.toString('utf8');
  if (route === undefined || !(checks.outboundRoutes ?? []).includes(route)) {
    throw new Rejection('unknown-recipient', `outbound route ${JSON.stringify(route ?? '')} is not configured (any more): no endpoint to send it to`);
  }
}

/** The headers the record had when it arrived: decoded from the dead letter, or (older letters) its headers minus the dead-letter ones. */
export function originalHeaders(deadLetter: IncomingRecord): RecordHeader[] {
  const encoded = deadLetter.headers[HEADERS.originalHeaders];
  if (encoded !== undefined) return decodeHeaders(encoded);
  return Object.entries(deadLetter.headers)
    .filter(([k]) => !DEAD_LETTER_ONLY.has(k))
    .map(([name, value]) => ({ name, value: Buffer.from(value, 'utf8') }));
}
