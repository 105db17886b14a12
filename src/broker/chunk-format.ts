/**
 * How a package larger than a Kafka message travels (DESIGN.md §4 rule 6, docs/DELIVERY.md
 * "Large documents"): as consecutive records on one partition, each carrying `vdxp-chunk:
 * <index>/<count>` and `vdxp-package-bytes`, beside the package's usual headers.
 */

/** Bytes of package per chunk: 921,600, leaving ~78 kB under MAX_MESSAGE_BYTES (src/broker/producer.ts) for headers. */
export const CHUNK_BYTES = 900 * 1024;

/** Whether a package of this length must travel as chunks. */
export function needsChunking(length: number): boolean {
  return length > CHUNK_BYTES;
}

export interface ChunkPosition {
  index: number;
  count: number;
}

export function formatChunkHeader(position: ChunkPosition): string {
  return `${position.index}/${position.count}`;
}

/** The `vdxp-chunk` header's position, or undefined if it is not `<index>/<count>` with 0 <= index < count. */
export function parseChunkHeader(value: string): ChunkPosition | undefined {
  const match = /^(\d{1,9})\/(\d{1,9})$/.exec(value);
  if (!match) return undefined;
  const index = Number(match[1]);
  const count = Number(match[2]);
  return index < count ? { index, count } : undefined;
}

