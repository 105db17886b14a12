/**
 * Receiving side (DESIGN.md §3, agency B): a record from this agency's topic is checked (limits,
 * structure, addressee, signature), converted to each sink's vendor format and delivered through
 * that sink's circuit breaker, with retries. Only then does the consumer commit. A package that
 * can never be delivered goes to the dead-letter topic with its reason and failure history, and
 * the sender gets status 02.
 */
import * as fsp from 'node:fs/promises';
import { Rejection, isRejection } from '../errors';
import type { Limits } from '../limits';
import type { DeliveryContext, VendorMessage } from '../connectors/types';
import type { FormatProfile } from '../transform/profile';
import type { IncomingRecord } from '../broker/consumer';
import type { IncomingPackage, PackageHandler } from '../broker/chunks';
import { docsTopic, statusTopic, HEADERS } from '../broker/topics';
import type { Logger } from '../observability/log';
import type { Metrics } from '../observability/metrics';
import { readPackageFacts, readSpooledPackageFacts, type PackageFacts } from './package-facts';
import { idempotencyKey, sha256Hex } from './identity';
import { checkInboundStatus, statusTime, targetFromHeaders, targetOf, type Self } from './statuses';
import type { SinkBreaker } from './delivery/breakers';
import type { Quarantine, RetryPolicy } from './delivery/retry-policy';
import { deliverWithRetries, Quarantined } from './delivery/deliver';
import { deadLetter, sendStatus, withoutBody, type BackboneWriter, type LetterSource } from './delivery/dead-letter';
import type { TrailRecorder } from '../trail';
import type { OutboundRoute } from './outbound-routes';
import type { TrailStep } from '../trail/record';
import { deadLetteredStep, deliveredStep, receivedStep, statusSentStep, verifiedStep, type VerificationEvidence } from './trail-steps';

export interface SinkBinding {
  /** The sink behind its circuit breaker. */
  breaker: SinkBreaker;
  profile: FormatProfile;
  profileOptions: Record<string, unknown>;
}

export interface ReceiveDependencies {
  self: Self;
  limits: Limits;
  sinks: SinkBinding[];
  retry: RetryPolicy;
  producer: BackboneWriter;
  /** Signature check per partner policy; throws Rejection. Absent only when no trust is configured. */
  verify?: (edxml: Buffer, facts: PackageFacts) => Promise<VerificationEvidence | void> | VerificationEvidence | void;
  log: Logger;
  metrics?: Metrics;
  now?: () => Date;
  /** Each step goes to the agency's trail before the offset may be committed (src/trail). */
  trail?: TrailRecorder;
  /** Outbound routes: statuses 01 and 02 for a sender behind a VXP endpoint go through them. */
  routes?: readonly OutboundRoute[];
}

export function makeReceiveHandler(deps: ReceiveDependencies): PackageHandler {
  const now = () => deps.now?.() ?? new Date();
  return async (record, signal) => {
    const startedAt = record.timestamp ?? Date.now();
    let facts: PackageFacts | undefined;
    // What happened, in order, for the trail: written once the record is settled, before the commit.
    const steps: Array<{ step: TrailStep; at: Date }> = [];
    try {
      // A large package arrives reassembled in a file (src/broker/chunks.ts) and is read from there.
      facts = record.bodyFile ? await readSpooledPackageFacts(record.bodyFile.path, deps.limits) : readPackageFacts(record.value, deps.limits);
      steps.push({ step: receivedStep(record, facts, facts.spooled?.sha256 ?? sha256Hex(record.value)), at: now() });
      if (facts.kind === 'edoc') deps.metrics?.pendingStarted(facts.documentId, facts.fromOrganId, new Date(startedAt));
      checkTopic(record, facts, deps.self);
      if (facts.kind === 'edoc' && !facts.recipients.includes(deps.self.organId)) {
        throw new Rejection('not-addressed-to-us', `the package is addressed to ${facts.recipients.join(', ')}, not ${deps.self.organId}`);
      }
      const outboundRefusal = record.topic === statusTopic(deps.self.organId) && record.headers[HEADERS.outboundRefusal] !== undefined;
      checkInboundStatus(facts, deps.self, deps.limits.maxStatusAgeSeconds, now(), { outboundRefusal });
      // What is verified is what is delivered: the package's one reading (src/edxml/xml-encoding.ts).
      const evidence = await deps.verify?.(facts.bytes ?? record.value, facts);
      steps.push({ step: verifiedStep(facts, evidence ?? undefined), at: now() });
      await deliverToSinks(deps, record, facts, signal);
      steps.push({ step: deliveredStep(facts, deps.sinks.map((s) => s.breaker.sinkName)), at: now() });
    } catch (err) {
      const quarantine = err instanceof Quarantined ? err.quarantine : isRejection(err) ? checkFailed(err, now()) : undefined;
      if (!quarantine) throw err; // aborted or the backbone is unreachable: the consumer tries the record again, uncommitted
      const letter = await deadLetter(deps, asDeadLetterRecord(record), quarantine, facts);
      steps.push({ step: deadLetteredStep(record, quarantine, facts), at: now() });
      if (facts && letter.statusSent) steps.push({ step: statusSentStep(facts, '02', letter.statusSent), at: now() });
      await deps.trail?.recordAll(steps);
      if (facts) deps.metrics?.pendingSettled(facts.documentId);
      return;
    }
    if (facts.kind === 'edoc') {
      // Status 01 (arrived) goes to the sender only after the legacy system holds the document. Its
      // time is the record's, so a redelivery sends the same status again, byte for byte.
      const arrived = 'Đã đến - văn bản đã được chuyển vào hệ thống quản lý văn bản';
      if (await sendStatus(deps, targetOf(facts), '01', arrived, statusTime(record, now))) steps.push({ step: statusSentStep(facts, '01', arrived), at: now() });
    }
    // A crash before the trail holds these leaves the record uncommitted: it is delivered again
    // (harmlessly, by its idempotency key) and these records are written again.
    await deps.trail?.recordAll(steps);
    if (facts.kind === 'edoc') deps.metrics?.pendingSettled(facts.documentId);
    deps.metrics?.documentProcessed('inbound', facts.fromOrganId, 'delivered');
    deps.metrics?.observeDeliveryLatency('kafka_to_sink', Math.max(0, Date.now() - startedAt) / 1000);
    deps.log.info({ step: 'deliver', documentId: facts.documentId, fromOrganId: facts.fromOrganId, toOrganId: deps.self.organId, kind: facts.kind }, 'delivered to the legacy system');
  };
}

/**
 * Chunks that never became a whole package (src/broker/chunks.ts): a dead letter naming the first
 * chunk's place, without bytes, and status 02 to the sender the headers name (a claim: the
 * package's signature could not be checked).
 */
export async function deadLetterUnassembled(deps: Pick<ReceiveDependencies, 'self' | 'producer' | 'log' | 'metrics' | 'now' | 'trail'>, first: IncomingRecord, rejection: Rejection): Promise<void> {
  const at = deps.now?.() ?? new Date();
  const letter = withoutBody(first, first.headers[HEADERS.packageBytes] ?? first.value.length);
  const quarantine = checkFailed(rejection, at);
  await deadLetter(deps, letter, quarantine, undefined, { statusTarget: targetFromHeaders(first, deps.self) });
  await deps.trail?.record(deadLetteredStep(first, quarantine, undefined), at);
}

/** A check (limits, structure, addressee, signature) failed: final on the first try. */
export function checkFailed(rejection: Rejection, at: Date): Quarantine {
  return { reason: rejection.reason, detail: rejection.detail, limit: rejection.limit, history: { attempts: 1, firstFailure: at, lastFailure: at } };
}

/** Documents travel on `vdxp.docs.<OrganId>`, statuses on `vdxp.status.<OrganId>`, never the other way round. */
function checkTopic(record: IncomingRecord, facts: PackageFacts, self: Self): void {
  const expected = facts.kind === 'edoc' ? docsTopic(self.organId) : statusTopic(self.organId);
  if (record.topic !== expected && (record.topic === docsTopic(self.organId) || record.topic === statusTopic(self.organId))) {
    throw new Rejection('wrong-topic', `a ${facts.kind === 'edoc' ? 'document' : 'status'} on ${record.topic}; it belongs on ${expected}`);
  }
}

/**
 * A reassembled large package does not fit one dead-letter record: the letter carries the verdict
 * and the chunks' place (its first chunk's topic, partition and offset) instead of the bytes.
 */
function asDeadLetterRecord(record: IncomingPackage): LetterSource {
  return record.bodyFile ? withoutBody(record, record.bodyFile.length) : record;
}

async function deliverToSinks(deps: ReceiveDependencies, record: IncomingPackage, facts: PackageFacts, signal: AbortSignal): Promise<void> {
  const context: DeliveryContext = {
    documentId: facts.documentId,
    idempotencyKey: idempotencyKey(facts.documentId, facts.spooled?.sha256 ?? sha256Hex(record.value)),
    kind: facts.kind,
    statusCode: facts.statusCode,
    fromOrganId: facts.fromOrganId,
  };
  let inMemory: Buffer | undefined = record.bodyFile ? undefined : (facts.bytes ?? record.value);
  for (const binding of deps.sinks) {
    let vendorMessage: VendorMessage;
    const streams = record.bodyFile !== undefined && binding.profile.passesThrough === true;
    // A converting profile needs the package in memory, however large (DELIVERY.md, large documents).
    if (!streams) inMemory ??= await fsp.readFile(record.bodyFile!.path);
    try {
      const profileContext = { ownOrganId: deps.self.organId, options: binding.profileOptions, delivery: context };
      vendorMessage = streams
        ? // Byte for byte: the sink streams the file; only the name and type come from the profile.
          { ...binding.profile.fromEdxml(Buffer.alloc(0), profileContext), body: Buffer.alloc(0), bodyFile: record.bodyFile }
        : binding.profile.fromEdxml(inMemory!, profileContext);
    } catch (err) {
      if (isRejection(err)) throw err;
      throw new Rejection('mapping-failed', `profile ${binding.profile.name}: ${(err as Error).message}`);
    }
    await deliverWithRetries(deps, binding.breaker, vendorMessage, context, signal);
  }
}

export type { IncomingRecord, IncomingPackage };
