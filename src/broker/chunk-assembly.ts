/** One package being reassembled, as the ChunkAssembler tracks it, and the record helpers it needs. */
import type { BodyFile } from '../connectors/types';
import type { IncomingRecord } from './consumer';
import type { SpoolFile } from './chunk-spool';
import { HEADERS } from './topics';

export interface IncomingPackage extends IncomingRecord {
  /** Set for a package that arrived in chunks: its bytes are in this file, and `value` is empty. */
  bodyFile?: BodyFile;
}

/** Same contract as RecordHandler: resolve = done, throw = called again later, abort = give up by throwing. */
export type PackageHandler = (pkg: IncomingPackage, signal: AbortSignal) => Promise<void>;

export interface Assembly {
  /** Topic, partition, key and content hash: what a re-sent chunk 0 of the same package matches. */
  id: string;
  first: IncomingRecord;
  handler: PackageHandler;
  signal: AbortSignal;
  count: number;
  declaredBytes: number;
  sha256: string;
  /** Index of the chunk expected next. */
  next: number;
  /** Bytes of the chunks accepted so far (written or queued). */
  accepted: number;
  idleMs: number;
  /** Set once the package was refused: its further chunks are dropped without a word. */
  ignored: boolean;
  spool: SpoolFile | undefined;
  /** The promise chunk 0's handler call returns: it settles once, when the assembly ends or the signal aborts. */
  anchor: Promise<void>;
  settle: (outcome: 'done' | Error) => void;
}

export type AssemblyFields = Pick<Assembly, 'id' | 'first' | 'handler' | 'signal' | 'count' | 'declaredBytes' | 'sha256' | 'spool'>;

export const aborted = () => new Error('aborted: chunk 0 stays uncommitted and the package is reassembled after the restart');

export function newAssembly(fields: AssemblyFields): Assembly {
  let settle: Assembly['settle'] = () => undefined;
  const anchor = new Promise<void>((resolve, reject) => {
    const onAbort = () => settle(aborted());
    settle = (outcome) => {
      settle = () => undefined;
      fields.signal.removeEventListener('abort', onAbort);
      if (outcome === 'done') resolve();
      else reject(outcome);
    };
    fields.signal.addEventListener('abort', onAbort, { once: true });
  });
  const a: Assembly = { ...fields, next: 0, accepted: 0, idleMs: 0, ignored: false, anchor, settle: (outcome) => settle(outcome) };
  if (fields.signal.aborted) a.settle(aborted());
  return a;
}

export function assemblyId(record: IncomingRecord): string {
  return [record.topic, record.partition, record.key ?? '', record.headers[HEADERS.contentSha256] ?? ''].join('\0');
}

export function recordFields(record: IncomingRecord): Record<string, unknown> {
  return {
    topic: record.topic,
    partition: record.partition,
    offset: record.offset,
    key: record.key,
    documentId: record.headers[HEADERS.documentId],
    chunk: record.headers[HEADERS.chunk],
  };
}

/** What the package handler gets: the first chunk's record, its bytes in the spool file. */
export function packageOf(a: Assembly, body: BodyFile): IncomingPackage {
  const { [HEADERS.chunk]: _chunk, ...headers } = a.first.headers;
  return { ...a.first, value: Buffer.alloc(0), bodyFile: body, headers };
}
