/**
 * Label values for vdxp_* metrics. Every label has a closed or capped set of values, so a
 * misbehaving partner cannot blow up the series count (and no DocumentId ever becomes a label).
 */
import { REJECTION_REASONS } from '../errors';

export const DIRECTIONS = ['outbound', 'inbound'] as const;
/** outbound: our legacy system → Kafka; inbound: Kafka → our legacy system. */
export type Direction = (typeof DIRECTIONS)[number];

export const OUTCOMES = ['delivered', 'rejected', 'dead_lettered', 'duplicate'] as const;
export type Outcome = (typeof OUTCOMES)[number];

export const SIGNATURE_RESULTS = ['valid', 'accepted_unsigned', 'rejected'] as const;
export type SignatureResult = (typeof SIGNATURE_RESULTS)[number];

export { REVOCATION_GAP_REASONS, type RevocationGapReason } from '../signature/revocation';
export { OCSP_OUTCOMES, type OcspOutcome } from '../signature/ocsp';

export const TRUST_OPT_OUTS = ['skip_verification', 'revocation_best_effort'] as const;
export type TrustOptOut = (typeof TRUST_OPT_OUTS)[number];

export const BREAKER_STATES = ['closed', 'half_open', 'open'] as const;
export type BreakerState = (typeof BREAKER_STATES)[number];

export const LATENCY_STAGES = ['source_to_kafka', 'kafka_to_sink'] as const;
export type LatencyStage = (typeof LATENCY_STAGES)[number];

/**
 * Reasons a message goes to the dead-letter topic: every rejection, delivery gave up
 * (`retries-exhausted`), or work on the record failed until its budget was spent (`budget-exhausted`).
 */
export const DEAD_LETTER_REASONS = [...REJECTION_REASONS, 'retries-exhausted', 'budget-exhausted'] as const;

/** Deadlines of the trail's overdue rules (src/trail/overdue.ts). */
export const OVERDUE_STAGES = ['arrival', 'acceptance', 'completion'] as const;

/** backbone_ca: the CA in config.kafka.tls.caFile that the brokers' certificates chain to. */
export const CERTIFICATE_KINDS = ['signing', 'kafka_client', 'trust_anchor', 'backbone_ca'] as const;
export type CertificateKind = (typeof CERTIFICATE_KINDS)[number];

/** Label value used when a value is not in the allowed set. */
export const OTHER = 'other';
/** Label value used for a value that does not look like a name at all. */
export const INVALID = 'invalid';

/**
 * OrganIds are opaque (SPEC §11) but short and made of these characters; connector names and
 * Kafka topic names fit the same shape.
 */
const LABEL_VALUE_SHAPE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,119}$/;

/** Returns `value` if it is one of `allowed`, otherwise `other`. */
export function oneOf(allowed: readonly string[], value: string): string {
  return allowed.includes(value) ? value : OTHER;
}

/**
 * Admits at most `capacity` distinct values of a free-form label (counterpart OrganIds, sink
 * and topic names); later newcomers share the label `other`, malformed values the label
 * `invalid`. Values already admitted keep their own label for the life of the process.
 */
export class CappedLabelSet {
  private readonly admitted = new Set<string>();

  constructor(
    private readonly capacity: number,
    private readonly shape: RegExp = LABEL_VALUE_SHAPE,
  ) {}

  label(value: string): string {
    if (!this.shape.test(value)) return INVALID;
    if (this.admitted.has(value)) return value;
    if (this.admitted.size >= this.capacity) return OTHER;
    this.admitted.add(value);
    return value;
  }
}
