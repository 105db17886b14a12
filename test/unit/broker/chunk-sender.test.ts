import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CHUNK_BYTES, needsChunking, sendChunked } from '../../../src/broker/chunks';
import type { OutgoingRecord } from '../../../src/broker/producer';
import { HEADERS } from '../../../src/broker/topics';
import { sha256Hex } from '../../../src/pipeline/identity';
import { tempDir, removeTempDirs, TOPIC } from './chunk-fixtures';

/** A producer whose acknowledgements arrive a little later, in order, failing where `fail` says. */
function slowProducer(fail: (index: number) => boolean = () => false) {
  const sent: OutgoingRecord[] = [];
  let unacked = 0;
  let maxUnacked = 0;
  return {
    sent,
    maxUnacked: () => maxUnacked,
    async send(record: OutgoingRecord): Promise<void> {
      const index = sent.push(record) - 1;
      maxUnacked = Math.max(maxUnacked, ++unacked);
      await new Promise((r) => setTimeout(r, 10));
      unacked -= 1;
      if (fail(index)) throw new Error(`broker refused chunk ${index}`);
    },
  };
}

function packageFile(bytes: Buffer): { path: string; length: number } {
  const file = path.join(tempDir('vdxp-chunk-send-'), 'package.edxml');
  fs.writeFileSync(file, bytes);
  return { path: file, length: bytes.length };
}

const headersFor = (bytes: Buffer) => ({ [HEADERS.kind]: 'edoc', [HEADERS.documentId]: 'doc-1', [HEADERS.contentSha256]: sha256Hex(bytes), [HEADERS.trace]: 't' });

describe('sendChunked: a file as ordered chunk records with a bounded window', () => {
  after(removeTempDirs);

  it('chunks only what is larger than CHUNK_BYTES', () => {
    assert.equal(needsChunking(CHUNK_BYTES), false);
    assert.equal(needsChunking(CHUNK_BYTES + 1), true);
  });

  it('sends the file as numbered chunks with the same key and every caller header', async () => {
    const bytes = randomBytes(10_000);
    const producer = slowProducer();
    await sendChunked(producer, { topic: TOPIC, key: 'doc-1', headers: headersFor(bytes) }, packageFile(bytes), { chunkBytes: 3000, window: 3 });
    assert.deepEqual(producer.sent.map((r) => r.headers[HEADERS.chunk]), ['0/4', '1/4', '2/4', '3/4']);
    assert.deepEqual(producer.sent.map((r) => r.value.length), [3000, 3000, 3000, 1000]);
    for (const r of producer.sent) {
      assert.equal(r.key, 'doc-1');
      assert.equal(r.topic, TOPIC);
      assert.equal(r.headers[HEADERS.packageBytes], '10000');
      assert.deepEqual({ ...r.headers, [HEADERS.chunk]: undefined, [HEADERS.packageBytes]: undefined }, { ...headersFor(bytes), [HEADERS.chunk]: undefined, [HEADERS.packageBytes]: undefined });
    }
    // Checked after every send settled: a reused read buffer would have overwritten earlier chunks.
    assert.ok(Buffer.concat(producer.sent.map((r) => r.value)).equals(bytes));
  });

  it('keeps at most `window` chunks unacknowledged', async () => {
    const bytes = randomBytes(20_000);
    const producer = slowProducer();
    await sendChunked(producer, { topic: TOPIC, key: 'k', headers: headersFor(bytes) }, packageFile(bytes), { chunkBytes: 1000, window: 3 });
    assert.equal(producer.sent.length, 20);
    assert.equal(producer.maxUnacked(), 3);
  });

  it('rejects with the first failure and sends nothing past the window behind it', async () => {
    const bytes = randomBytes(20_000);
    const producer = slowProducer((index) => index === 2);
    await assert.rejects(
      sendChunked(producer, { topic: TOPIC, key: 'k', headers: headersFor(bytes) }, packageFile(bytes), { chunkBytes: 1000, window: 2 }),
      /broker refused chunk 2/,
    );
    assert.ok(producer.sent.length <= 4, `sent ${producer.sent.length} chunks; at most chunk 2 and the one beside it in the window`);
  });

  it('rejects a file shorter than its stated length, and a package without its SHA-256 header', async () => {
    const bytes = randomBytes(5_000);
    const file = packageFile(bytes);
    await assert.rejects(
      sendChunked(slowProducer(), { topic: TOPIC, key: 'k', headers: headersFor(bytes) }, { ...file, length: 6_000 }, { chunkBytes: 1000 }),
      /ended at 5000 bytes/,
    );
    await assert.rejects(sendChunked(slowProducer(), { topic: TOPIC, key: 'k', headers: { [HEADERS.kind]: 'edoc' } }, file), /vdxp-content-sha256/);
  });
});
