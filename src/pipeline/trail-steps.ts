/**
 * The trail records of each pipeline step, built from what the pipeline already knows (the
 * package's facts, the Kafka placement, the verification outcome). The pipeline hands them to a
 * TrailRecorder (src/trail) before it acknowledges a source item or lets an offset be committed.
 */
import type { Rejection } from '../errors';
import type { IncomingRecord } from '../broker/consumer';
import { HEADERS } from '../broker/topics';
import type { CertificateEvidence, DocumentMeta, Placement, TrailStep } from '../trail/record';
import type { PackageFacts } from './package-facts';
import type { Quarantine } from './delivery/retry-policy';

/** What the signature check found, for the `verified` step. */
export interface VerificationEvidence {
  result: 'valid' | 'accepted-unsigned';
  policy: string;
  signer?: CertificateEvidence & { organId?: string };
  flagged?: string;
}

export function metaOf(facts: PackageFacts): DocumentMeta | undefined {
  const pkg = facts.package;
  if (pkg.kind !== 'edoc') return undefined;
  const h = pkg.header;
  const code = h.code?.codeNumber || h.code?.codeNotation ? `${h.code?.codeNumber ?? ''}/${h.code?.codeNotation ?? ''}` : undefined;
  const names: Record<string, string> = {};
  for (const o of [h.from, ...h.to]) if (o.organName) names[o.organId] = o.organName;
  return { subject: h.subject, code, dueDate: h.dueDate, promulgationDate: h.promulgationInfo?.promulgationDate, names };
}

export function takenStep(facts: PackageFacts, source: string, item: string, contentSha256: string): TrailStep {
  return { step: 'taken', documentId: facts.documentId, kind: facts.kind, statusCode: facts.statusCode, counterparts: facts.recipients, source, item, contentSha256, meta: metaOf(facts) };
}

export function refusedStep(facts: PackageFacts | undefined, source: string, item: string, rejection: Rejection): TrailStep {
  return { step: 'refused', documentId: facts?.documentId, kind: facts?.kind, counterparts: facts?.recipients, source, item, reason: rejection.reason, detail: rejection.detail };
}

export function signedStep(facts: PackageFacts, certificate: CertificateEvidence): TrailStep {
  return { step: 'signed', documentId: facts.documentId, kind: facts.kind, certificate };
}

export function writtenStep(facts: PackageFacts, counterpart: string, placement: Placement, chunked: boolean): TrailStep {
  return { step: 'written', documentId: facts.documentId, kind: facts.kind, statusCode: facts.statusCode, counterpart, placement, chunked };
}

export function receivedStep(record: IncomingRecord, facts: PackageFacts, contentSha256: string): TrailStep {
  const description = facts.package.kind === 'status' ? facts.package.description : undefined;
  return {
    step: 'received',
    documentId: facts.documentId,
    kind: facts.kind,
    statusCode: facts.statusCode,
    counterpart: facts.fromOrganId,
    placement: { topic: record.topic, partition: record.partition, offset: record.offset },
    contentSha256,
    meta: metaOf(facts),
    ...(description ? { description } : {}),
  };
}

export function verifiedStep(facts: PackageFacts, evidence: VerificationEvidence | undefined): TrailStep {
  return { step: 'verified', documentId: facts.documentId, kind: facts.kind, counterpart: facts.fromOrganId, result: evidence?.result ?? 'not-checked', policy: evidence?.policy, signer: evidence?.signer, flagged: evidence?.flagged };
}

export function deliveredStep(facts: PackageFacts, sinks: string[]): TrailStep {
  return { step: 'delivered', documentId: facts.documentId, kind: facts.kind, statusCode: facts.statusCode, counterpart: facts.fromOrganId, sinks };
}

export function statusSentStep(facts: PackageFacts, statusCode: '01' | '02', description: string): TrailStep {
  return { step: 'status-sent', documentId: facts.documentId, counterpart: facts.fromOrganId, statusCode, description };
}

export function deadLetteredStep(record: IncomingRecord, quarantine: Quarantine, facts: PackageFacts | undefined): TrailStep {
  return {
    step: 'dead-lettered',
    documentId: facts?.documentId ?? record.headers[HEADERS.documentId] ?? record.key,
    kind: facts?.kind,
    counterpart: facts?.fromOrganId ?? record.headers[HEADERS.fromOrganId],
    reason: quarantine.reason,
    detail: quarantine.detail,
    source: { topic: record.topic, partition: record.partition, offset: record.offset },
    attempts: Math.max(1, quarantine.history.attempts),
  };
}

/** `{ partition, offset }` from what a producer's send resolved with, when it says. */
export function placementOf(topic: string, sent: unknown): Placement {
  const s = sent as { partition?: unknown; offset?: unknown } | undefined;
  return { topic, partition: typeof s?.partition === 'number' ? s.partition : -1, offset: typeof s?.offset === 'number' ? s.offset : -1 };
}
