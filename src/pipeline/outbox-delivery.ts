/**
 * Delivery of one outbox record (src/broker/topics.ts `vdxp.outbox.<OrganId>`): this agency's own
 * package for recipients behind a VXP endpoint, sent there with sendEdoc (`from` = this agency)
 * through the route's circuit breaker and the one retry loop (./delivery/deliver.ts). It resolves,
 * so the offset may be committed, only once the endpoint answered OK or the package is
 * dead-lettered. A refusal for good (FAIL with an ErrorCode that is not transient, HTTP 4xx) is
 * dead-lettered as `delivery-rejected`, and a document's sender, this agency, hears status 02 on
 * its own status topic, marked as an outbound refusal (./statuses.ts checkInboundStatus lets such
 * a 02 through to the agency's own legacy system). A redelivery sends the same bytes again: the
 * endpoint sees the same package (a vdxp connector answers it with the same DocId).
 */
import { isRejection, Rejection } from '../errors';
import type { Limits } from '../limits';
import type { DeliveryContext, VendorMessage } from '../connectors/types';
import type { PackageHandler } from '../broker/chunks';
import { HEADERS } from '../broker/topics';
import { readPackageFacts, readSpooledPackageFacts, type PackageFacts } from './package-facts';
import { idempotencyKey, sha256Hex } from './identity';
import type { SinkBreaker } from './delivery/breakers';
import { deliverWithRetries, Quarantined, type RetryDependencies } from './delivery/deliver';
import { deadLetter, withoutBody, type DeadLetterDependencies } from './delivery/dead-letter';
import { checkFailed } from './receive';
import { deadLetteredStep, statusSentStep } from './trail-steps';
import type { TrailStep } from '../trail/record';

export interface OutboxDependencies extends RetryDependencies, DeadLetterDependencies {
  limits: Limits;
  /** The endpoint of each route, by the vxp-bridge connector's name, behind its breaker. */
  endpoints: ReadonlyMap<string, SinkBreaker>;
}

export function makeOutboxHandler(deps: OutboxDependencies): PackageHandler {
  const now = () => deps.now?.() ?? new Date();
  return async (record, signal) => {
    const route = record.headers[HEADERS.outboundRoute] ?? '';
    let recipients = record.headers[HEADERS.outboundRecipients] ?? '';
    let facts: PackageFacts | undefined;
    try {
      facts = record.bodyFile ? await readSpooledPackageFacts(record.bodyFile.path, deps.limits) : readPackageFacts(record.value, deps.limits);
      recipients ||= facts.recipients.join(',');
      if (facts.fromOrganId !== deps.self.organId) {
        throw new Rejection('invalid-edxml', `From/OrganId is ${facts.fromOrganId}: the outbox of ${deps.self.organId} holds its own packages only`);
      }
      const breaker = deps.endpoints.get(route);
      if (!breaker) throw new Rejection('unknown-recipient', `outbound route ${JSON.stringify(route)} is not configured (any more): no endpoint to send it to`);
      // The bytes as Kafka holds them: the endpoint gets what every backbone recipient got.
      const message: VendorMessage = record.bodyFile
        ? { body: Buffer.alloc(0), bodyFile: record.bodyFile, fileName: 'document.edxml', contentType: 'application/xml', sideFiles: [] }
        : { body: record.value, fileName: 'document.edxml', contentType: 'application/xml', sideFiles: [] };
      const context: DeliveryContext = {
        documentId: facts.documentId,
        idempotencyKey: idempotencyKey(facts.documentId, facts.spooled?.sha256 ?? sha256Hex(record.value)),
        kind: facts.kind,
        statusCode: facts.statusCode,
        fromOrganId: deps.self.organId,
      };
      await deliverWithRetries(deps, breaker, message, context, signal);
    } catch (err) {
      const quarantine = err instanceof Quarantined ? err.quarantine : isRejection(err) ? checkFailed(err, now()) : undefined;
      if (!quarantine) throw err; // aborted, or the backbone is unreachable: tried again, uncommitted
      const refused = { ...quarantine, detail: `to ${recipients || '?'} through ${route || '?'}: ${quarantine.detail}` };
      const letter = await deadLetter(deps, record.bodyFile ? withoutBody(record, record.bodyFile.length) : record, refused, facts, { statusHeaders: { [HEADERS.outboundRefusal]: route } });
      const steps: Array<{ step: TrailStep; at: Date }> = [{ step: deadLetteredStep(record, refused, facts), at: now() }];
      if (facts && letter.statusSent) steps.push({ step: statusSentStep(facts, '02', letter.statusSent), at: now() });
      await deps.trail?.recordAll(steps);
      return;
    }
    deps.log.info({ step: 'deliver', documentId: facts.documentId, fromOrganId: facts.fromOrganId, toOrganId: recipients, kind: facts.kind, route }, `sent through outbound route ${route}`);
  };
}
