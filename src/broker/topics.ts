/** Topic names on the backbone (DESIGN.md §3). OrganIds such as 000.00.00.G22 are valid topic characters. */
export const docsTopic = (organId: string) => `vdxp.docs.${organId}`;
export const statusTopic = (organId: string) => `vdxp.status.${organId}`;
export const deadLetterTopic = (organId: string) => `vdxp.dlq.${organId}`;
/** The agency's own trail of every step of its documents (src/trail): one partition, long retention. */
export const trailTopic = (organId: string) => `vdxp.trail.${organId}`;
/**
 * This agency's own packages for recipients that an outbound route sends through a VXP endpoint
 * (src/pipeline/outbound-routes.ts): Kafka holds them before the source is answered, and the
 * agency's outbox consumer delivers them with sendEdoc (src/pipeline/outbox.ts).
 */
export const outboxTopic = (organId: string) => `vdxp.outbox.${organId}`;
/** The signed requests the agency's HTTP ingest took, for replay refusal across its replicas (src/broker/request-ledger.ts). */
export const requestLedgerTopic = (organId: string) => `vdxp.requests.${organId}`;

/**
 * The agency's consumer group. Under the backbone's ACLs it is the only group id its principal
 * may use, so every reader of the agency's topics (dlq, trail, request ledger) takes it too; they
 * assign partitions themselves and never join the group or commit.
 */
export const agencyGroupId = (organId: string, configured?: string) => configured ?? `vdxp.${organId}`;

/** The group of the outbox consumer: apart from the agency's, so an endpoint that is down never holds up its receiving. */
export const outboxGroupId = (agencyGroup: string) => `${agencyGroup}.outbox`;

/** The topics one agency's connector owns and creates at start. */
export const ownTopics = (organId: string) => [docsTopic(organId), statusTopic(organId), deadLetterTopic(organId)];

/** Kafka header names the connector writes. Hop traces travel here, never as edits to a signed package. */
export const HEADERS = {
  kind: 'vdxp-kind',
  documentId: 'vdxp-document-id',
  fromOrganId: 'vdxp-from',
  contentSha256: 'vdxp-content-sha256',
  trace: 'vdxp-trace',
  reason: 'vdxp-reject-reason',
  detail: 'vdxp-reject-detail',
  attempts: 'vdxp-attempts',
  firstFailure: 'vdxp-first-failure',
  lastFailure: 'vdxp-last-failure',
  sourceTopic: 'vdxp-source-topic',
  sourcePartition: 'vdxp-source-partition',
  sourceOffset: 'vdxp-source-offset',
  /** On a dead letter whose original bytes did not fit a Kafka message with the dead-letter headers: their length. */
  bodyOmitted: 'vdxp-body-omitted',
  /** On a record an operator replayed from the dead-letter topic: `<partition>:<offset>` there. */
  replayedFrom: 'vdxp-replayed-from',
  /** On one chunk of a package larger than a Kafka message: `<index>/<count>`, index from 0 (src/broker/chunks.ts). */
  chunk: 'vdxp-chunk',
  /** On every chunk: the length in bytes of the whole package. */
  packageBytes: 'vdxp-package-bytes',
  /** On a dead letter refused by a limit: its config key, e.g. `limits.maxOpenPackages`. */
  limit: 'vdxp-reject-limit',
  /** On a dead letter: the original record's key, base64 (absent when it had none). */
  originalKey: 'vdxp-original-key',
  /** On a dead letter: the original record's headers, in order, as JSON `[["name","<base64 value>"],…]`. */
  originalHeaders: 'vdxp-original-headers',
  /** On a dead letter whose original key and headers were too large to carry: their size in bytes. */
  metadataOmitted: 'vdxp-original-metadata-omitted',
  /** On an outbox record: the vxp-bridge connector whose endpoint it goes to. */
  outboundRoute: 'vdxp-outbound-route',
  /** On an outbox record: the recipients it goes to there, comma-separated. */
  outboundRecipients: 'vdxp-outbound-to',
  /** On the status 02 the outbox writes to this agency's own status topic when an endpoint refused its package: the route. */
  outboundRefusal: 'vdxp-outbound-refusal',
} as const;
