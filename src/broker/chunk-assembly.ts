/** One package being reassembled, as the ChunkAssembler tracks it, and the record helpers it needs. */
import type { BodyFile } from '../connectors/types';
import type { IncomingRecord, RecordControl } from './consumer';
import type { SpoolFile } from './chunk-spool';
import type { ScratchReservation } from './scratch-budget';
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
  /** The `vdxp-from` header of chunk 0 (claimed, not yet verified): whose share the package uses. */
  sender: string;
  handler: PackageHandler;
  signal: AbortSignal;
  control: RecordControl;
  count: number;
  declaredBytes: number;
  /** Length of chunk 0: every chunk but the last has it, the last has the rest. */
  chunkBytes: number;
  sha256: string;
  /** Index of the chunk expected next. */
  next: number;
  /** Time since chunk 0 while consumption was not held by a breaker. */
  ageMs: number;
  /** Set once the package was refused or ended: further chunks and write results are ignored. */
  ended: boolean;
  spool: SpoolFile | undefined;
  reservation: ScratchReservation;
  /** The promise chunk 0's handler call returns: it settles once, when the assembly ends or the signal aborts. */
  anchor: Promise<void>;
  settle: (outcome: 'done' | Error) => void;
}

export type AssemblyFields = Pick<
  Assembly,
  'id' | 'first' | 'sender' | 'handler' | 'signal' | 'control' | 'count' | 'declaredBytes' | 'chunkBytes' | 'sha256' | 'spool' | 'reservation'
>;

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
  const a: Assembly = { ...fields, next: 0, ageMs: 0, ended: false, anchor, settle: (outcome) => settle(outcome) };
  if (fields.signal.aborted) a.settle(aborted());
  return a;
}

export function assemblyId(record: IncomingRecord): string {
  return [record.topic, record.partition, record.key ?? '', record.headers[HEADERS.contentSha256] ?? ''].join('\0');
}

/** Whose share of open packages and scratch space a chunked package uses: the sender it names. */
export function senderOf(record: IncomingRecord): string {
  return record.headers[HEADERS.fromOrganId] || '(unnamed)';
}

export function recordFields(record: IncomingRecord): Record<string, unknown> {
  return {
    topic: record.topic,
    partition: record.partition,
    offset: record.offset,
    key: record.key,
    documentId: record.headers[HEADERS.documentId],
    fromOrganId: record.headers[HEADERS.fromOrganId],
    chunk: record.headers[HEADERS.chunk],
  };
}

/** What the package handler gets: the first chunk's record, its bytes in the spool file. */
export function packageOf(a: Assembly, body: BodyFile): IncomingPackage {
  const { [HEADERS.chunk]: _chunk, ...headers } = a.first.headers;
  return { ...a.first, value: Buffer.alloc(0), bodyFile: body, headers };
}
