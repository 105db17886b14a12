/**
 * Least privilege on the backbone (docs/SECURITY.md): the Kafka ACLs one agency's principal
 * needs, and nothing more. This list is the one source: `vdxp backbone acl` prints and applies
 * it, docs/OPERATIONS.md shows it, and the authorizer test (test/integration/backbone-acl.test.ts)
 * sets its broker up with it.
 *
 * Every name of the agency's own is LITERAL: OrganIds of the Decision 20/2020 form nest
 * (`H37.02` and `H37.02.02`), so a prefixed `vdxp.docs.H37.02` would also grant the other's topic.
 * Only the partner topics an agency writes to may be one prefix for all agencies, when the
 * backbone lets every agency send to every other (no `--partners`).
 */
import { vxpConfirmationsTopic, vxpInboxTopic } from './vxp-mailbox';
import { AGENCY_DIRECTORY_TOPIC } from './agency-directory';
import { agencyGroupId, deadLetterTopic, docsTopic, outboxGroupId, outboxTopic, requestLedgerTopic, statusTopic, trailTopic } from './topics';

export type AclOperation = 'Read' | 'Write' | 'Create' | 'Describe';

export interface AclBinding {
  /** `User:<SCRAM user name>`. */
  principal: string;
  resourceType: 'Topic' | 'Group';
  patternType: 'Literal' | 'Prefixed';
  name: string;
  operation: AclOperation;
  /** What the connector does with it (shown by `vdxp backbone acl`). */
  why: string;
}

export interface AgencyAclOptions {
  /** The SCRAM user of the agency's connector (`kafka.sasl.username` of its config). */
  username: string;
  /** The agencies it exchanges documents with. Without: every agency (`vdxp.docs.` and `vdxp.status.` as prefixes). */
  partners?: string[];
  /** `kafka.consumerGroup` of its config; default `vdxp.<OrganId>`. */
  consumerGroup?: string;
  /** The connector creates its own topics at start; false when the backbone operator creates them beforehand. */
  createTopics?: boolean;
  /** The agency runs an HTTP ingest with HMAC signing, whose replay ledger is `vdxp.requests.<OrganId>`. */
  requestLedger?: boolean;
  /** The agency runs a vxp connector (the VXP SDK's API): its mailbox topics and the agency directory. */
  vxp?: boolean;
  /** The agency has an outbound route (a vxp-bridge source with `outbound`): its outbox topic and the outbox consumer's group. */
  outbox?: boolean;
  /** The agency keeps its trail (`trail.enabled`, the default) on `vdxp.trail.<OrganId>`. */
  trail?: boolean;
}

export function agencyAcls(organId: string, options: AgencyAclOptions): AclBinding[] {
  const principal = `User:${options.username}`;
  const group = agencyGroupId(organId, options.consumerGroup);
  const trail = options.trail ?? true;
  const create = options.createTopics ?? true;
  const acls: AclBinding[] = [];
  const grant = (resourceType: AclBinding['resourceType'], patternType: AclBinding['patternType'], name: string, operation: AclOperation, why: string) =>
    acls.push({ principal, resourceType, patternType, name, operation, why });

  // Its own topics: consumed by its connector, written where it must be.
  grant('Topic', 'Literal', docsTopic(organId), 'Read', 'consume the packages sent to it');
  grant('Topic', 'Literal', docsTopic(organId), 'Write', '`vdxp dlq replay` puts a checked dead letter back here');
  grant('Topic', 'Literal', statusTopic(organId), 'Read', 'consume the statuses sent to it');
  grant('Topic', 'Literal', deadLetterTopic(organId), 'Write', 'dead-letter what it can never deliver');
  grant('Topic', 'Literal', deadLetterTopic(organId), 'Read', '`vdxp dlq list`, `show` and `replay` read the dead letters');
  if (options.requestLedger) {
    grant('Topic', 'Literal', requestLedgerTopic(organId), 'Write', 'claim each signed HTTP request (replay refusal)');
    grant('Topic', 'Literal', requestLedgerTopic(organId), 'Read', 'read the claims of every replica (replay refusal)');
  }
  if (trail) {
    grant('Topic', 'Literal', trailTopic(organId), 'Write', 'record every step of its documents (docs/TRAIL.md)');
    grant('Topic', 'Literal', trailTopic(organId), 'Read', 'rebuild the trail read model; `vdxp track`, `vdxp trail verify`');
  }
  if (options.outbox) {
    grant('Topic', 'Literal', outboxTopic(organId), 'Write', 'hold its own packages for recipients behind a VXP endpoint (outbound route)');
    grant('Topic', 'Literal', outboxTopic(organId), 'Read', 'the outbox consumer sends them to the endpoint');
  }
  if (create) {
    const own = [docsTopic(organId), statusTopic(organId), deadLetterTopic(organId), ...(options.requestLedger ? [requestLedgerTopic(organId)] : []), ...(options.outbox ? [outboxTopic(organId)] : [])];
    for (const topic of own) grant('Topic', 'Literal', topic, 'Create', 'created at start if missing');
  }
  if (options.vxp) {
    for (const topic of [vxpInboxTopic(organId), vxpConfirmationsTopic(organId)]) {
      grant('Topic', 'Literal', topic, 'Write', 'the VXP mailbox: packages waiting for the legacy system, and its confirmations');
      grant('Topic', 'Literal', topic, 'Read', 'every replica follows the VXP mailbox (getReceivedEdocList, getEdoc)');
      grant('Topic', 'Literal', topic, 'Create', 'created at start with its retention or compaction');
    }
    grant('Topic', 'Literal', AGENCY_DIRECTORY_TOPIC, 'Write', 'register the agency in the backbone directory at start');
    grant('Topic', 'Literal', AGENCY_DIRECTORY_TOPIC, 'Read', 'getAgenciesList, getAgenciesListQD20, getSynchronizeUnit');
    grant('Topic', 'Literal', AGENCY_DIRECTORY_TOPIC, 'Create', 'created (compacted) by the first connector that needs it');
  }
  // The trail topic's retention comes from the agency config, so the connector creates it, even with createTopics false.
  if (trail) grant('Topic', 'Literal', trailTopic(organId), 'Create', 'created at start with the configured retention');
  // Its consumer group: join, fetch and commit offsets. Its tools (dlq, trail, the request ledger) read
  // by assignment under the same group id and never join it.
  grant('Group', 'Literal', group, 'Read', 'consumer group of its replicas: join and commit');
  if (options.outbox) grant('Group', 'Literal', outboxGroupId(group), 'Read', 'the outbox consumer of its replicas: join and commit');

  // What it sends: packages to the recipients, statuses (01 arrived, 02 rejected, 03…) to the senders.
  const partners = options.partners?.filter((p) => p !== organId);
  if (partners === undefined) {
    grant('Topic', 'Prefixed', 'vdxp.docs.', 'Write', 'send packages to any agency');
    grant('Topic', 'Prefixed', 'vdxp.status.', 'Write', 'send statuses to any agency');
  } else {
    for (const p of partners) grant('Topic', 'Literal', docsTopic(p), 'Write', `send packages to ${p}`);
    for (const p of partners) grant('Topic', 'Literal', statusTopic(p), 'Write', `send statuses to ${p}`);
  }
  return acls;
}

/** One `kafka-acls.sh` command per resource and its operations (Kafka's own tool: `--add` is idempotent). */
export function kafkaAclsCommands(acls: AclBinding[], connection = '--bootstrap-server "$BOOTSTRAP" --command-config admin.properties'): string[] {
  const byResource = new Map<string, { acl: AclBinding; operations: AclOperation[] }>();
  for (const acl of acls) {
    const key = `${acl.principal}\u0000${acl.resourceType}\u0000${acl.patternType}\u0000${acl.name}`;
    const entry = byResource.get(key);
    if (entry) entry.operations.push(acl.operation);
    else byResource.set(key, { acl, operations: [acl.operation] });
  }
  return [...byResource.values()].map(({ acl, operations }) =>
    [
      'kafka-acls.sh',
      connection,
      '--add',
      `--allow-principal ${acl.principal}`,
      ...operations.map((o) => `--operation ${o}`),
      `--${acl.resourceType.toLowerCase()} ${acl.name}`,
      `--resource-pattern-type ${acl.patternType.toLowerCase()}`,
    ].join(' '),
  );
}
