/**
 * The trail's record format (issue 18). One Kafka record on `vdxp.trail.<OrganId>` per step of a
 * document's life. The record's value is UTF-8 JSON; its hash is the SHA-256 of exactly those
 * bytes, and the next record of the same chain carries it in `prev`. So a changed byte changes a
 * hash that a later record has already committed to, and a removed record leaves a hole in the
 * `seq` numbers and a `prev` that points at nothing (docs/TRAIL.md, what verify proves).
 *
 * A chain belongs to one writer (one connector process, or one CLI run that writes, such as
 * `vdxp dlq replay`): replicas of an agency each write their own chain into the same topic, and
 * every chain's first record and its periodic checkpoints name the heads of the other chains it
 * has seen, which ties the chains together.
 */
import { createHash } from 'node:crypto';

export const TRAIL_FORMAT_VERSION = 1;

/** Where a record sits on the backbone. */
export interface Placement {
  topic: string;
  partition: number;
  offset: number;
}

/** The certificate behind a signature: enough to find it again and to compare it. */
export interface CertificateEvidence {
  subject: string;
  serialNumber?: string;
  /** SHA-256 of the certificate's DER, lowercase hex. */
  fingerprint: string;
}

/** What the trail keeps of a document's header, so the read model can list and filter it. */
export interface DocumentMeta {
  subject?: string;
  /** `<number>/<notation>`, e.g. `7816/VPCP-TTĐT`. */
  code?: string;
  /** The document's own DueDate (`YYYY-MM-DD`): the deadline for its completion (status 06). */
  dueDate?: string;
  promulgationDate?: string;
  /** OrganName of each counterpart, as the package names it. */
  names?: Record<string, string>;
}

/** The head of a chain as another writer saw it: a commitment that it had reached `seq` with `hash`. */
export interface ChainHead {
  chain: string;
  seq: number;
  hash: string;
}

type Kind = 'edoc' | 'status';

/** Every step the trail records, keyed by `step`. */
export type TrailStep =
  /** A writer starts its chain; `heads` are the other chains as it found them. */
  | { step: 'chain-opened'; writer: { host: string; pid: number; version: string; role: string }; heads: ChainHead[] }
  /** A live writer vouches for the other chains' heads (every trail.checkpointIntervalMs). */
  | { step: 'checkpoint'; heads: ChainHead[] }
  /** The writer stopped cleanly after `seq` − 1 records: nothing may follow in this chain. */
  | { step: 'chain-closed' }
  /** Sending side: a source handed the item over. */
  | { step: 'taken'; documentId: string; kind: Kind; statusCode?: string; counterparts: string[]; source: string; item: string; contentSha256: string; meta?: DocumentMeta }
  /** Sending side: the item can never be accepted. `documentId` when it could be read. */
  | { step: 'refused'; documentId?: string; kind?: Kind; counterparts?: string[]; source: string; item: string; reason: string; detail: string }
  /** Sending side: the connector signed for the legacy system. */
  | { step: 'signed'; documentId: string; kind: Kind; certificate: CertificateEvidence }
  /** Sending side: Kafka acknowledged the copy for one recipient. */
  | { step: 'written'; documentId: string; kind: Kind; statusCode?: string; counterpart: string; placement: Placement; chunked: boolean }
  /** Receiving side: a record came off this agency's topic. */
  | { step: 'received'; documentId: string; kind: Kind; statusCode?: string; counterpart: string; placement: Placement; contentSha256: string; meta?: DocumentMeta; description?: string }
  /** Receiving side: the signature check per partner policy. */
  | { step: 'verified'; documentId: string; kind: Kind; counterpart: string; result: 'valid' | 'accepted-unsigned' | 'not-checked'; policy?: string; signer?: CertificateEvidence & { organId?: string }; flagged?: string }
  /** Receiving side: every sink confirmed. */
  | { step: 'delivered'; documentId: string; kind: Kind; statusCode?: string; counterpart: string; sinks: string[] }
  /** Receiving side: quarantined with a typed reason; `deadLetter` is where the letter went. */
  | { step: 'dead-lettered'; documentId?: string; kind?: Kind; counterpart?: string; reason: string; detail: string; source: Placement; attempts: number }
  /** A status this connector itself sent (01 after delivery, 02 after a rejection). */
  | { step: 'status-sent'; documentId: string; counterpart: string; statusCode: string; description: string }
  /** `vdxp dlq replay` put a dead letter back on the inbound topic. */
  | { step: 'replayed'; documentId?: string; deadLetter: string; topic: string };

export type StepName = TrailStep['step'];

/** A record as written: chain position, time, agency, and the step. */
export type TrailEntry = {
  v: typeof TRAIL_FORMAT_VERSION;
  chain: string;
  seq: number;
  /** Hash of this chain's previous record; '' for seq 0. */
  prev: string;
  /** When the step happened (ISO 8601, UTC). */
  at: string;
  organId: string;
} & TrailStep;

/** A record read back: the entry, its hash, and where it sits in the trail topic. */
export interface StoredEntry {
  entry: TrailEntry;
  hash: string;
  offset: number;
}

export function hashOf(value: Buffer | string): string {
  return createHash('sha256').update(value).digest('hex');
}

/** The bytes of a record. Field order is fixed by construction; the hash is over these very bytes. */
export function encodeEntry(entry: TrailEntry): Buffer {
  return Buffer.from(JSON.stringify(entry), 'utf8');
}

export class UnreadableEntry extends Error {}

/** Parses a record's value; throws UnreadableEntry when it is not a trail record of this format. */
export function decodeEntry(value: Buffer): TrailEntry {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value.toString('utf8'));
  } catch (err) {
    throw new UnreadableEntry(`not JSON: ${(err as Error).message}`);
  }
  const e = parsed as Partial<TrailEntry> | null;
  if (!e || typeof e !== 'object') throw new UnreadableEntry('not a JSON object');
  if (e.v !== TRAIL_FORMAT_VERSION) throw new UnreadableEntry(`format version ${String(e.v)}, expected ${TRAIL_FORMAT_VERSION}`);
  if (typeof e.chain !== 'string' || !e.chain) throw new UnreadableEntry('no chain');
  if (!Number.isSafeInteger(e.seq) || (e.seq as number) < 0) throw new UnreadableEntry('no valid seq');
  if (typeof e.prev !== 'string') throw new UnreadableEntry('no prev');
  if (typeof e.at !== 'string' || Number.isNaN(Date.parse(e.at))) throw new UnreadableEntry('no valid at');
  if (typeof e.step !== 'string') throw new UnreadableEntry('no step');
  return e as TrailEntry;
}

/** The DocumentId a step concerns, if any. */
export function documentIdOf(entry: TrailStep): string | undefined {
  return 'documentId' in entry ? entry.documentId : undefined;
}
