/**
 * Typed rejections (DESIGN.md §4 rule 3). Every way a package can be refused has a stable
 * kebab-case reason code: it travels in dead-letter headers, status 02 descriptions, metric
 * labels and CLI output, so codes are never renamed, only added.
 */
export const REJECTION_REASONS = [
  // Reading and limits (src/edxml)
  'malformed-xml',
  /** Not UTF-8, nor UTF-16 with a byte-order mark: a package must have one reading (src/edxml/xml-encoding.ts). */
  'unsupported-encoding',
  'dtd-forbidden',
  'limit-exceeded',
  'invalid-edxml',
  // Signatures (src/signature)
  'unsigned',
  'placeholder-signature',
  'multiple-signatures',
  'reference-not-whole-document',
  'weak-algorithm',
  'digest-mismatch',
  'bad-signature',
  'untrusted-chain',
  'cert-expired',
  'cert-revoked',
  'signer-not-sender',
  'signed-by-another-agency',
  /** No current CRL (or other revocation source) vouches for a certificate of the signer's path. */
  'revocation-unknown',
  // Routing and delivery (src/pipeline)
  'unknown-recipient',
  'not-addressed-to-us',
  'mapping-failed',
  'delivery-rejected',
  /** The chunks of a large package stopped arriving before the last one (src/broker/chunks.ts). */
  'incomplete-package',
  // What arrives from the backbone (issue 14, docs/SECURITY.md "A partner on the backbone")
  /** Chunks that cannot be one package: a count that does not match the declared length, a chunk of the wrong length (a 0-byte one). */
  'invalid-chunks',
  /** The scratch disk had no room for a package being reassembled (ENOSPC, or less free space than it needs). */
  'scratch-full',
  /** A write to the scratch disk failed otherwise (I/O error, permissions, too many open files). */
  'scratch-unavailable',
  /** A document on the status topic, or a status on the documents topic. */
  'wrong-topic',
  /** A status this agency's connector sent itself, come back on its own status topic. */
  'own-status',
  /** A status whose Timestamp lies outside the accepted window (limits.maxStatusAgeSeconds, or in the future). */
  'status-outside-window',
  // Sources (src/connectors, src/pipeline/send.ts)
  /** The authenticated client (an HTTP ingest systemId) may not send as the package's From/OrganId. */
  'sender-not-allowed',
  /** A file came with the document (a multipart part, a side file) that the document does not list. */
  'unlisted-attachment',
] as const;

export type RejectionReason = (typeof REJECTION_REASONS)[number];

export class Rejection extends Error {
  constructor(
    readonly reason: RejectionReason,
    readonly detail: string,
    /** For `limit-exceeded`: the config key of the limit, e.g. `limits.maxXmlDepth`. */
    readonly limit?: string,
  ) {
    super(`${reason}: ${detail}`);
    this.name = 'Rejection';
  }
}

export function isRejection(err: unknown): err is Rejection {
  return err instanceof Rejection;
}
