/** The sending half of chunked packages: a file read sequentially, a few chunks unacknowledged at a time. */
import { open, type FileHandle } from 'node:fs/promises';
import { CHUNK_BYTES, formatChunkHeader } from './chunk-format';
import type { OutgoingRecord } from './producer';
import { HEADERS } from './topics';

export interface ChunkSendOptions {
  /** Package bytes per chunk (default CHUNK_BYTES). */
  chunkBytes?: number;
  /** Chunks sent and not yet acknowledged, at most (default 4): what bounds the sender's memory. */
  window?: number;
}

/**
 * Sends the package in `file` as consecutive chunk records with the same key, so they land on one
 * partition, and resolves once Kafka acknowledged every chunk. Order within the partition holds
 * because the backbone producer is idempotent: librdkafka then keeps at most 5 requests in flight
 * per connection with sequence numbers and retries them in their original produce order (its
 * CONFIGURATION.md, enable.idempotence: "exactly once and in the original produce order"), where a
 * non-idempotent producer with retries and several requests in flight may reorder. A failure
 * rejects with the first error, after the chunks already in flight settle: the caller re-sends the
 * whole package later, and its new chunk 0 supersedes the partial assembly at the receiver.
 *
 * `record.headers` must hold the whole package's `vdxp-content-sha256`: the receiver checks the
 * reassembled bytes against it.
 */
export async function sendChunked(
  producer: { send(record: OutgoingRecord): Promise<unknown> },
  record: { topic: string; key: string; headers: Record<string, string> },
  file: { path: string; length: number },
  options: ChunkSendOptions = {},
): Promise<void> {
  const chunkBytes = options.chunkBytes ?? CHUNK_BYTES;
  const window = options.window ?? 4;
  if (!Number.isSafeInteger(chunkBytes) || chunkBytes < 1) throw new RangeError(`chunkBytes must be a positive integer, not ${chunkBytes}`);
  if (!Number.isSafeInteger(window) || window < 1) throw new RangeError(`window must be a positive integer, not ${window}`);
  if (!/^[0-9a-f]{64}$/.test(record.headers[HEADERS.contentSha256] ?? '')) {
    throw new Error(`a chunked package needs the whole package's SHA-256 (hex) in header ${HEADERS.contentSha256}`);
  }
  const count = Math.max(1, Math.ceil(file.length / chunkBytes));
  const unacked = new Set<Promise<void>>();
  let failure: { error: unknown } | undefined;
  const handle = await open(file.path, 'r');
  try {
    for (let index = 0; index < count && !failure; index++) {
      while (unacked.size >= window && !failure) await Promise.race(unacked);
      if (failure) break;
      const position = index * chunkBytes;
      const value = await readExactly(handle, position, Math.min(chunkBytes, file.length - position), file.path);
      const headers = { ...record.headers, [HEADERS.chunk]: formatChunkHeader({ index, count }), [HEADERS.packageBytes]: String(file.length) };
      const ack: Promise<void> = producer.send({ topic: record.topic, key: record.key, value, headers }).then(
        () => void unacked.delete(ack),
        (error: unknown) => {
          failure ??= { error };
          unacked.delete(ack);
        },
      );
      unacked.add(ack);
    }
  } catch (error) {
    failure ??= { error };
  } finally {
    await Promise.all(unacked);
    await handle.close();
  }
  if (failure) throw failure.error;
}

/** A fresh Buffer per chunk: the producer may still hold the previous one until its delivery report. */
async function readExactly(handle: FileHandle, position: number, length: number, path: string): Promise<Buffer> {
  const buffer = Buffer.allocUnsafe(length);
  let filled = 0;
  while (filled < length) {
    const { bytesRead } = await handle.read(buffer, filled, length - filled, position + filled);
    if (bytesRead === 0) throw new Error(`${path} ended at ${position + filled} bytes, expected ${position + length} or more`);
    filled += bytesRead;
  }
  return buffer;
}
