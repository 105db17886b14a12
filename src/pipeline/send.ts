/**
 * Sending side (DESIGN.md §3, agency A): a source hands over a vendor message; it is converted to
 * edXML, validated, signed if configured, and written to every recipient's topic. Only when Kafka
 * acknowledged every copy is the source item settled as accepted.
 */
import * as fsp from 'node:fs/promises';
import { Rejection, isRejection } from '../errors';
import { isTokenError } from '../signature/pkcs11/token-failure';
import type { Limits } from '../limits';
import type { BodyFile, SourceHandler, VendorMessage } from '../connectors/types';
import type { FormatProfile } from '../transform/profile';
import { sideFilesNotTaken } from '../transform/side-files';
import { docsTopic, outboxTopic, statusTopic, HEADERS } from '../broker/topics';
import type { OutgoingRecord } from '../broker/producer';
import { needsChunking } from '../broker/chunks';
import type { ParsedXml } from '../edxml/safe-xml';
import { renderedBytes, type RenderedPiece } from '../signature/canonical';
import type { Logger } from '../observability/log';
import type { Metrics } from '../observability/metrics';
import { readPackageFacts, readSpooledPackageFacts, type PackageFacts } from './package-facts';
import { unacceptable, validateReadDeep } from '../edxml/validate';
import { sha256Hex } from './identity';
import type { Spool, SpooledFile } from './spool';
import type { TrailRecorder } from '../trail';
import type { CertificateEvidence, TrailStep } from '../trail/record';
import { placementOf, refusedStep, signedStep, takenStep, writtenStep } from './trail-steps';
import { routeRecipient, type OutboundRoute } from './outbound-routes';

export interface BackboneSender {
  send(record: OutgoingRecord): Promise<unknown>;
  /** A package too large for one record, sent in chunks on one partition (src/broker/chunks.ts); resolves with the first chunk's place when known. */
  sendFile(record: Omit<OutgoingRecord, 'value'>, file: BodyFile): Promise<unknown>;
  topicExists(topic: string): Promise<boolean>;
}

export interface SendDependencies {
  organId: string;
  limits: Limits;
  profile: FormatProfile;
  profileOptions: Record<string, unknown>;
  producer: BackboneSender;
  /** Signs for a legacy system that cannot (DESIGN.md §5); absent when the agency signs itself. */
  sign?: (parsed: ParsedXml) => RenderedPiece[];
  /** Where large packages are written while they are signed and sent. */
  spool: Spool;
  log: Logger;
  metrics?: Metrics;
  /** Each step goes to the agency's trail before the source item is settled (src/trail). */
  trail?: TrailRecorder;
  /** The source connector's name, for the trail's `taken` step. */
  sourceName?: string;
  /** The certificate the connector signs with, for the trail's `signed` step. */
  signingCertificate?: CertificateEvidence;
  /**
   * The source also hands over packages *for* this agency from another (the VXP bridge: what an
   * endpoint holds for this agency's systemId). Such a package must name this agency among its
   * recipients; it is written to this agency's own topic only, unsigned by this connector, and the
   * receive pipeline then checks it like anything from the backbone. See isInbound.
   */
  acceptsInbound?: boolean;
  /**
   * Recipients that leave through a VXP endpoint (src/pipeline/outbound-routes.ts): their copy goes
   * to this agency's outbox topic, one record per route, and the outbox consumer sends it there.
   */
  routes?: readonly OutboundRoute[];
}

/** One record to write, and the recipients it carries the package to (for the trail). */
interface Target {
  record: Omit<OutgoingRecord, 'value'>;
  counterparts: string[];
}

/** A package from another agency for this one, taken by a source that accepts such (acceptsInbound). */
function isInbound(deps: SendDependencies, facts: PackageFacts): boolean {
  return deps.acceptsInbound === true && facts.fromOrganId !== deps.organId;
}

/** What goes on the backbone: the bytes of one record, or a file sent in chunks. */
type Outgoing = { bytes: Buffer; sha256: string } | { file: SpooledFile };

export function makeSendHandler(deps: SendDependencies): SourceHandler {
  return async (message, settle) => {
    const startedAt = process.hrtime.bigint();
    const takenAt = new Date();
    const source = deps.sourceName ?? 'source';
    let facts: PackageFacts | undefined;
    let targets: Target[];
    let outgoing: Outgoing;
    const scratch: string[] = [];
    const refuse = async (rejection: Rejection, step: 'parse' | 'produce') => {
      deps.log.warn({ step, documentId: facts?.documentId, reason: rejection.reason, detail: rejection.detail, file: message.fileName }, 'rejected at source');
      if (!(await recorded(deps, settle, [{ step: refusedStep(facts, source, message.fileName, rejection) }]))) return;
      deps.metrics?.rejected('outbound', rejection.reason);
      return settle.rejected(rejection);
    };
    let written: Array<{ step: ReturnType<typeof writtenStep>; at: Date }> = [];
    try {
      try {
        ({ facts, outgoing } = await prepare(deps, message, scratch));
        targets = await recipientRecords(deps, facts, 'file' in outgoing ? outgoing.file.sha256 : outgoing.sha256);
      } catch (err) {
        if (!isRejection(err)) {
          const why = isTokenError(err) ? `the signing token cannot sign (${err.failure})` : 'backbone unavailable';
          deps.log.warn({ step: 'produce', err, file: message.fileName }, `${why}; the item stays with the source`);
          return await settle.retryLater(err as Error);
        }
        return await refuse(err, 'parse');
      }
      try {
        const sent = outgoing;
        const chunked = 'file' in sent;
        const known = facts;
        const steps = await Promise.all(
          targets.map(async ({ record, counterparts }) => {
            const placement = await ('file' in sent ? deps.producer.sendFile(record, sent.file) : deps.producer.send({ ...record, value: sent.bytes }));
            const at = new Date();
            return counterparts.map((c) => ({ step: writtenStep(known, c, placementOf(record.topic, placement), chunked), at }));
          }),
        );
        written = steps.flat();
      } catch (err) {
        // e.g. larger than a Kafka message: retrying the same bytes cannot help
        if (isRejection(err)) return await refuse(err, 'produce');
        deps.log.warn({ step: 'produce', documentId: facts.documentId, err }, 'Kafka did not acknowledge; the item stays with the source');
        return await settle.retryLater(err as Error);
      }
    } finally {
      await Promise.all(scratch.map((file) => deps.spool.remove(file)));
    }
    // The trail holds every step before the source lets go of the item: a crash before this point
    // leaves the item with the source, and sending it again writes these records again.
    const contentSha256 = 'file' in outgoing ? outgoing.file.sha256 : outgoing.sha256;
    const steps = [{ step: takenStep(facts, source, message.fileName, contentSha256), at: takenAt }];
    if (deps.sign && deps.signingCertificate) steps.push({ step: signedStep(facts, deps.signingCertificate), at: takenAt });
    if (!(await recorded(deps, settle, [...steps, ...written]))) return;
    await settle.accepted();
    const seconds = Number(process.hrtime.bigint() - startedAt) / 1e9;
    for (const recipient of facts.recipients) deps.metrics?.documentProcessed('outbound', recipient, 'delivered');
    deps.metrics?.observeDeliveryLatency('source_to_kafka', seconds);
    deps.log.info(
      { step: 'produce', documentId: facts.documentId, fromOrganId: facts.fromOrganId, toOrganId: facts.recipients.join(','), kind: facts.kind, ...('file' in outgoing ? { bytes: outgoing.file.length, chunked: true } : {}) },
      'sent to the backbone',
    );
  };
}

/** Writes the steps to the trail; false (the item is left to the source for later) if that could not be done. */
async function recorded(deps: SendDependencies, settle: Parameters<SourceHandler>[1], steps: Array<{ step: TrailStep; at?: Date }>): Promise<boolean> {
  if (!deps.trail) return true;
  try {
    await deps.trail.recordAll(steps);
    return true;
  } catch (err) {
    deps.log.warn({ step: 'trail', err }, 'trail not written; the item stays with the source');
    await settle.retryLater(err as Error);
    return false;
  }
}

/** Vendor message → checked (and signed) package, in memory or, when large, as a file. */
async function prepare(deps: SendDependencies, message: VendorMessage, scratch: string[]): Promise<{ facts: PackageFacts; outgoing: Outgoing }> {
  const input = await packageInput(deps, message, scratch);
  if (Buffer.isBuffer(input)) {
    const facts = readPackageFacts(input, deps.limits);
    await assertOwnPackage(deps, facts, message);
    // Signing reuses the parse the facts came from: one parse per package.
    // Unsigned here, the package still leaves as its one reading (UTF-16 becomes UTF-8).
    const bytes = deps.sign && !isInbound(deps, facts) ? renderedBytes(deps.sign(facts.parsed!)) : (facts.bytes ?? input);
    return { facts, outgoing: { bytes, sha256: sha256Hex(bytes) } };
  }
  const facts = await readSpooledPackageFacts(input.path, deps.limits);
  await assertOwnPackage(deps, facts, message);
  if (!deps.sign || isInbound(deps, facts)) return { facts, outgoing: { file: { path: input.path, length: facts.spooled.length, sha256: facts.spooled.sha256 } } };
  const signed = await deps.spool.writePieces(deps.sign(facts.parsed!), 'signed');
  scratch.push(signed.path);
  return { facts, outgoing: { file: signed } };
}

/**
 * The edXML package: bytes in memory, or a file. A large body passes through as its file when the
 * profile keeps packages byte for byte; other profiles convert in memory, and a large result is
 * written to the spool.
 */
async function packageInput(deps: SendDependencies, message: VendorMessage, scratch: string[]): Promise<Buffer | BodyFile> {
  if (message.bodyFile && deps.profile.passesThrough) {
    refuseUnlisted(message);
    return message.bodyFile;
  }
  const vendor = message.bodyFile ? { ...message, body: await fsp.readFile(message.bodyFile.path), bodyFile: undefined } : message;
  const edxml = toEdxml(deps, vendor);
  refuseUnlisted(vendor);
  if (!needsChunking(edxml.length)) return edxml;
  const file = await deps.spool.writeBuffer(edxml, 'package');
  scratch.push(file.path);
  return file;
}

/** A file the document does not list would be dropped without a word: the whole message is refused instead. */
function refuseUnlisted(message: VendorMessage): void {
  const unlisted = sideFilesNotTaken(message);
  if (unlisted.length === 0) return;
  const names = unlisted.map((s) => JSON.stringify(s.name)).join(', ');
  throw new Rejection('unlisted-attachment', `${unlisted.length} file(s) came with the document but it does not list them: ${names}; list each among the document's attachments, or do not send it`);
}

/** Ours to send (From/OrganId one the authenticated client may send as, by default the agency's own, and the agency's own), and acceptable by the one rule set that `vdxp validate` reports (src/edxml/validate.ts). */
async function assertOwnPackage(deps: SendDependencies, facts: PackageFacts, message: VendorMessage): Promise<void> {
  const sender = message.sender;
  const mayActAs = sender?.mayActAs ?? [deps.organId];
  if (sender && !mayActAs.includes(facts.fromOrganId)) {
    throw new Rejection('sender-not-allowed', `system ${JSON.stringify(sender.id)} may send as ${mayActAs.join(', ')} only, and this package's From/OrganId is ${facts.fromOrganId}`);
  }
  if (isInbound(deps, facts)) {
    if (!facts.recipients.includes(deps.organId)) {
      throw new Rejection('not-addressed-to-us', `the package is from ${facts.fromOrganId} to ${facts.recipients.join(', ')}: neither from nor for ${deps.organId}`);
    }
  } else if (facts.fromOrganId !== deps.organId) {
    throw new Rejection('invalid-edxml', `From/OrganId is ${facts.fromOrganId}, but this connector sends for ${deps.organId}`);
  }
  const verdict = await validateReadDeep(facts.package);
  if (!verdict.ok) throw unacceptable(verdict);
}

function toEdxml(deps: SendDependencies, message: VendorMessage): Buffer {
  try {
    return deps.profile.toEdxml(message, { ownOrganId: deps.organId, options: deps.profileOptions });
  } catch (err) {
    if (isRejection(err)) throw err;
    throw new Rejection('mapping-failed', `profile ${deps.profile.name}: ${(err as Error).message}`);
  }
}

async function recipientRecords(deps: SendDependencies, facts: PackageFacts, contentSha256: string): Promise<Target[]> {
  const topicOf = facts.kind === 'edoc' ? docsTopic : statusTopic;
  const headers = {
    [HEADERS.kind]: facts.kind,
    [HEADERS.documentId]: facts.documentId,
    [HEADERS.fromOrganId]: facts.fromOrganId,
    [HEADERS.contentSha256]: contentSha256,
    [HEADERS.trace]: JSON.stringify([{ organId: deps.organId, at: new Date().toISOString(), step: 'sent' }]),
  };
  // For this agency: its own topic only (the endpoint delivers the other recipients' copies itself).
  if (isInbound(deps, facts)) return [{ record: { topic: topicOf(deps.organId), key: facts.documentId, headers }, counterparts: [deps.organId] }];
  const targets: Target[] = [];
  // One outbox record per route: the endpoint gets the package once and delivers it to each of them.
  const outbound = new Map<string, string[]>();
  for (const recipient of facts.recipients) {
    const topic = topicOf(recipient);
    const decision = routeRecipient(deps.routes ?? [], deps.organId, recipient, await deps.producer.topicExists(topic));
    if (decision.via === 'route') outbound.set(decision.route.connector, [...(outbound.get(decision.route.connector) ?? []), recipient]);
    else if (decision.via === 'backbone') targets.push({ record: { topic, key: facts.documentId, headers }, counterparts: [recipient] });
    else throw new Rejection('unknown-recipient', `no agency ${recipient} on the backbone (topic ${topic} does not exist) and no outbound route for it`);
  }
  for (const [route, recipients] of outbound) {
    const routed = { ...headers, [HEADERS.outboundRoute]: route, [HEADERS.outboundRecipients]: recipients.join(',') };
    targets.push({ record: { topic: outboxTopic(deps.organId), key: facts.documentId, headers: routed }, counterparts: recipients });
  }
  if (targets.length === 0) throw new Rejection('invalid-edxml', 'the package names no recipient');
  return targets;
}
