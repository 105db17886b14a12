/**
 * Stable identities of a package (DESIGN.md §4 rule 2): the same bytes with the same DocumentId
 * always give the same idempotency key and the same delivered file name, so a redelivery
 * overwrites instead of duplicating.
 */
import { createHash } from 'node:crypto';

export function sha256Hex(bytes: Buffer | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** ASCII-only (HTTP headers, AMQP messageId), stable, and distinct per DocumentId and content. */
export function idempotencyKey(documentId: string, contentSha256: string): string {
  return `${sha256Hex(documentId).slice(0, 24)}-${contentSha256.slice(0, 40)}`;
}

/**
 * A readable, file-system-safe stem from a DocumentId such as
 * `000.00.00.G22,2015/09/30,7816/VPCP-TTĐT`, with a hash suffix so that different ids never
 * collide after sanitising.
 */
export function fileStem(documentId: string): string {
  const readable = documentId
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[đĐ]/g, (c) => (c === 'đ' ? 'd' : 'D'))
    .replace(/[^A-Za-z0-9._-]+/g, '_')
    .replace(/^[._]+/, '')
    .slice(0, 80);
  return `${readable || 'document'}.${sha256Hex(documentId).slice(0, 8)}`;
}
