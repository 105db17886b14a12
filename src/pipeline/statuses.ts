/**
 * Statuses the connector itself reports to a sender (01 arrived, 02 rejected with the reason), and
 * the checks an inbound status passes before it reaches the legacy system (issue 14).
 *
 * A status the connector sends is a function of the record it answers, never of the clock: its
 * Timestamp is the record's Kafka timestamp, so a redelivered document yields the very same
 * status 01, byte for byte, and the sender's legacy system sees it once (same idempotency key).
 * Writing one never fails for a package the reader accepted (a property test holds the pair to
 * that: test/unit/pipeline/status-reply.test.ts), so no package is retried forever for it.
 */
import { toXmlText, writeStatus } from '../edxml/writer';
import { timestampFromDate } from '../edxml/dates';
import type { EdDate, EdTimestamp } from '../edxml/model';
import { Rejection } from '../errors';
import { HEADERS } from '../broker/topics';
import type { IncomingRecord } from '../broker/consumer';
import type { PackageFacts } from './package-facts';

export interface Self {
  organId: string;
  organName?: string;
  /** Signs what this connector emits when the agency signs for its legacy system (DESIGN.md §5). */
  sign?: (edxml: Buffer) => Buffer;
}

/** Which document a status answers, and which agency hears it (the document's sender). */
export interface StatusTarget {
  organId: string;
  documentId: string;
  codeNumber?: string;
  codeNotation?: string;
  promulgationDate?: EdDate;
}

export function targetOf(facts: PackageFacts): StatusTarget {
  const header = facts.package.kind === 'edoc' ? facts.package.header : undefined;
  return {
    organId: facts.fromOrganId,
    documentId: facts.documentId,
    codeNumber: header?.code?.codeNumber,
    codeNotation: header?.code?.codeNotation,
    promulgationDate: header?.promulgationInfo?.promulgationDate,
  };
}

/**
 * A refused record that could not be read as a package (a chunked package that never became
 * whole, a record that spent its budget) still names its sender and DocumentId in its headers.
 * Those are claims, not verified: see docs/SECURITY.md "A partner on the backbone".
 */
export function targetFromHeaders(record: IncomingRecord, self: Self): StatusTarget | undefined {
  const organId = record.headers[HEADERS.fromOrganId];
  const documentId = record.headers[HEADERS.documentId];
  if (!organId || !documentId || organId === self.organId || record.headers[HEADERS.kind] === 'status') return undefined;
  return { organId, documentId };
}

/** When the record reached the backbone: what a status about it says, stable across redeliveries. */
export function statusTime(record: { timestamp?: number }, now: () => Date): Date {
  const t = record.timestamp;
  // A producer sets the timestamp; an absurd one (before 2000, after 2100) is not used.
  return t !== undefined && t > 946_684_800_000 && t < 4_102_444_800_000 ? new Date(t) : now();
}

export function statusReply(target: StatusTarget, self: Self, statusCode: '01' | '02', description: string, at: Date): Buffer {
  const { codeNumber, codeNotation } = target;
  const status = writeStatus({
    from: { organId: self.organId, organName: self.organName },
    responseFor: {
      organId: target.organId,
      code: codeNumber || codeNotation ? `${codeNumber ?? ''}/${codeNotation ?? ''}` : undefined,
      promulgationDate: target.promulgationDate,
      documentId: target.documentId,
    },
    staffInfo: { department: 'VDXP connector', staff: 'VDXP connector' },
    statusCode,
    // The description quotes rejection details and sink errors: never a reason for the status to fail.
    description: toXmlText(description),
    timestamp: timestampFromDate(at),
  });
  return self.sign ? self.sign(status) : status;
}

/** Statuses from further in the future than this are refused (clocks of agencies differ a little). */
const MAX_STATUS_CLOCK_SKEW_MS = 24 * 3600 * 1000;

/**
 * An inbound status reaches the legacy system only if it answers something of this agency's
 * (ResponseFor/OrganId is this agency: the sender of the document for 01–06, 15 and 16, its
 * recipient for 13, SPEC §10.1), is not this agency's own status come back, and is not older
 * than limits.maxStatusAgeSeconds (a replay). A replay inside the window is harmless: the same
 * bytes carry the same idempotency key, so the legacy system sees the status once.
 *
 * One status of this agency's own passes: the 02 its outbox writes when a VXP endpoint refused one
 * of this agency's packages for good (src/pipeline/outbox-delivery.ts), so that the legacy system
 * that sent it hears of it. It must be a 02, answer this agency's own document, and come marked
 * (`outboundRefusal`: its record carries the outbound-refusal header on this agency's own status
 * topic). The mark is a claim like any header; what keeps another agency from forging such a
 * status is the signature check that follows, under this agency's own policy, as for any sender.
 */
export function checkInboundStatus(facts: PackageFacts, self: Self, maxAgeSeconds: number, now: Date, options: { outboundRefusal?: boolean } = {}): void {
  if (facts.package.kind !== 'status') return;
  const counterpart = facts.package.responseFor.organId;
  const ownRefusal = options.outboundRefusal === true && facts.statusCode === '02' && counterpart === self.organId;
  if (facts.fromOrganId === self.organId && !ownRefusal) {
    throw new Rejection('own-status', `the status is from ${self.organId} itself (about ${facts.documentId}): a status this connector sent, written back to its own topic`);
  }
  if (counterpart !== self.organId) {
    throw new Rejection('not-addressed-to-us', `the status from ${facts.fromOrganId} answers ${counterpart}'s document ${facts.documentId}, not one of ${self.organId}'s`);
  }
  const timestamp = facts.package.timestamp;
  if (timestamp === undefined) return;
  const at = vietnamTime(timestamp);
  const age = now.getTime() - at;
  if (age > maxAgeSeconds * 1000) {
    throw new Rejection('status-outside-window', `the status was made at ${timestamp} (Vietnam time), more than ${maxAgeSeconds} s ago`, 'limits.maxStatusAgeSeconds');
  }
  if (-age > MAX_STATUS_CLOCK_SKEW_MS) throw new Rejection('status-outside-window', `the status was made at ${timestamp} (Vietnam time), more than a day from now`);
}

/** `YYYY-MM-DDTHH:mm:ss` in Vietnam local time (UTC+7) → milliseconds since the epoch. */
function vietnamTime(timestamp: EdTimestamp): number {
  const [date, time] = timestamp.split('T') as [string, string];
  const [y, mo, d] = date.split('-').map(Number) as [number, number, number];
  const [h, mi, s] = time.split(':').map(Number) as [number, number, number];
  return Date.UTC(y, mo - 1, d, h, mi, s) - 7 * 3600 * 1000;
}
