/**
 * Benchmark packages: the field sample (test/support/signature-fixtures BASE_SAMPLE) from agency
 * A to agency B only, without the SDK placeholder signature, with an attachment grown to a chosen
 * size and a DocumentId that changes per document (so every delivery is a new file in B's inbox).
 */
import * as fs from 'node:fs';
import { once } from 'node:events';
import { BASE_SAMPLE, withAttachmentOf, withoutPlaceholder } from '../test/support/signature-fixtures';

const DOCUMENT_ID = /(<edXML:DocumentId>)[^<]*(<\/edXML:DocumentId>)/;
const ATTACHMENT_TEXT = /(<edXML:ContentTransferEncoded[^>]*>)[^<]*(<\/edXML:ContentTransferEncoded>)/;
const ID_MARK = '\u0000ID\u0000';

/** The sample as an unsigned package from `from` to `to` alone, with an empty attachment. */
function baseFromTo(from: string, to: string): string {
  let xml = withoutPlaceholder(fs.readFileSync(BASE_SAMPLE, 'utf8'));
  xml = xml.replace(/(<edXML:From>\s*<edXML:OrganId>)[^<]*/, `$1${from}`);
  // Keep the first To block (addressed to `to`), drop the others: one copy, one recipient topic.
  let seen = 0;
  xml = xml.replace(/\s*<edXML:To>[\s\S]*?<\/edXML:To>/g, (block) => (seen++ === 0 ? block.replace(/(<edXML:OrganId>)[^<]*/, `$1${to}`) : ''));
  return withAttachmentOf(xml, 0);
}

/** Makes packages of about `bytes` bytes that differ only in their DocumentId. */
export class PackageFactory {
  private readonly head: Buffer;
  private readonly tail: Buffer;
  private serial = 0;

  constructor(
    readonly from: string,
    readonly to: string,
    bytes: number,
    private readonly runTag = Date.now().toString(36),
  ) {
    const base = baseFromTo(from, to);
    const overhead = Buffer.byteLength(base);
    const sized = withAttachmentOf(base, Math.max(0, Math.floor(((bytes - overhead) * 3) / 4)));
    const [head, tail] = sized.replace(DOCUMENT_ID, `$1${ID_MARK}$2`).split(ID_MARK);
    if (tail === undefined) throw new Error('the sample has no DocumentId to vary');
    this.head = Buffer.from(head!);
    this.tail = Buffer.from(tail);
  }

  /** The next package and its DocumentId. */
  next(): { documentId: string; bytes: Buffer } {
    this.serial += 1;
    const documentId = `${this.from},2026/01/01,${this.serial}/BENCH-${this.runTag}`;
    return { documentId, bytes: Buffer.concat([this.head, Buffer.from(documentId), this.tail]) };
  }
}

/**
 * Writes a package of about `bytes` bytes to `file` without holding it in memory: the attachment's
 * base64 is generated and written in chunks. Returns its DocumentId.
 */
export async function writeLargePackage(file: string, from: string, to: string, bytes: number): Promise<string> {
  const documentId = `${from},2026/01/01,1/BENCH-LARGE-${Date.now().toString(36)}`;
  const base = baseFromTo(from, to).replace(DOCUMENT_ID, `$1${documentId}$2`);
  const match = ATTACHMENT_TEXT.exec(base);
  if (!match) throw new Error('the sample has no attachment');
  const cut = match.index + match[1]!.length;
  const out = fs.createWriteStream(file);
  const write = async (chunk: Buffer | string) => {
    if (!out.write(chunk)) await once(out, 'drain');
  };
  await write(base.slice(0, cut));
  const chunkBytes = 3 * 256 * 1024; // a multiple of 3: chunk encodings concatenate into one valid base64 text
  let remaining = Math.max(0, Math.floor(((bytes - Buffer.byteLength(base)) * 3) / 4));
  let seed = 11;
  const chunk = Buffer.alloc(chunkBytes);
  while (remaining > 0) {
    const n = Math.min(chunkBytes, remaining);
    for (let i = 0; i < n; i++) chunk[i] = (seed = (seed * 1103515245 + 12345) & 0x7fffffff) >>> 16;
    await write(chunk.subarray(0, n).toString('base64'));
    remaining -= n;
  }
  await write(base.slice(cut));
  out.end();
  await once(out, 'finish');
  return documentId;
}
