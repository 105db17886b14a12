/** Chunk records made by the real sendChunked, and a consumer-like harness around a ChunkAssembler. */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ChunkAssembler, sendChunked, type ChunkAssemblerOptions, type IncomingPackage, type PackageHandler } from '../../../src/broker/chunks';
import type { IncomingRecord } from '../../../src/broker/consumer';
import type { OutgoingRecord } from '../../../src/broker/producer';
import { HEADERS } from '../../../src/broker/topics';
import type { Rejection } from '../../../src/errors';
import { sha256Hex } from '../../../src/pipeline/identity';

export const TOPIC = 'vdxp.docs.000.00.00.G22';

const tempDirs: string[] = [];

export function tempDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
}

export function removeTempDirs(): void {
  for (const dir of tempDirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
}

export interface PackageSpec {
  bytes?: Buffer;
  key?: string;
  partition?: number;
  firstOffset?: number;
  chunkBytes?: number;
  /** Header overrides on every chunk, applied after sendChunked made them. */
  headers?: Record<string, string>;
}

/** The records sendChunked writes for a package, as the consumer would hand them over. */
export async function chunkRecords(spec: PackageSpec = {}): Promise<{ bytes: Buffer; records: IncomingRecord[] }> {
  const bytes = spec.bytes ?? randomBytes(50_000);
  const dir = tempDir('vdxp-chunk-src-');
  const file = path.join(dir, 'package.edxml');
  fs.writeFileSync(file, bytes);
  const sent: OutgoingRecord[] = [];
  const key = spec.key ?? 'doc-1';
  const headers = { [HEADERS.kind]: 'edoc', [HEADERS.documentId]: key, [HEADERS.fromOrganId]: '000.00.00.H41', [HEADERS.contentSha256]: sha256Hex(bytes) };
  await sendChunked({ send: async (r) => sent.push(r) }, { topic: TOPIC, key, headers }, { path: file, length: bytes.length }, { chunkBytes: spec.chunkBytes ?? 4096 });
  const records = sent.map((r, i) => ({
    topic: r.topic,
    partition: spec.partition ?? 0,
    offset: (spec.firstOffset ?? 0) + i,
    key: r.key,
    value: r.value,
    headers: { ...r.headers, ...spec.headers },
    timestamp: Date.now(),
  }));
  return { bytes, records };
}

export function plainRecord(offset: number, value: string, partition = 0): IncomingRecord {
  return { topic: TOPIC, partition, offset, key: `other-${offset}`, value: Buffer.from(value), headers: { [HEADERS.kind]: 'status' }, timestamp: Date.now() };
}

/** A handler call's promise with its state readable at any time. */
export interface Tracked {
  promise: Promise<void>;
  state: 'pending' | 'resolved' | 'rejected';
}

export function track(promise: Promise<void>): Tracked {
  const t: Tracked = { promise, state: 'pending' };
  promise.then(
    () => (t.state = 'resolved'),
    () => (t.state = 'rejected'),
  );
  return t;
}

export interface Delivered {
  pkg: IncomingPackage;
  /** The package's bytes as the handler read them (from bodyFile, or value). */
  bytes: Buffer;
}

/** An assembler in a temp spool dir that records what reaches the package handler, onBroken and the log. */
export function harness(options: Partial<ChunkAssemblerOptions> = {}) {
  const spoolDir = options.spoolDir ?? path.join(tempDir('vdxp-chunk-spool-'), 'spool');
  const delivered: Delivered[] = [];
  const broken: Array<{ first: IncomingRecord; rejection: Rejection }> = [];
  const logs: Array<{ level: string; fields: Record<string, unknown>; message: string }> = [];
  const controller = new AbortController();
  const assembler = new ChunkAssembler({
    spoolDir,
    maxPackageBytes: 10 * 1024 * 1024,
    retryDelayMs: () => 5,
    onBroken: async (first, rejection) => void broken.push({ first, rejection }),
    log: (level, fields, message) => logs.push({ level, fields: fields as Record<string, unknown>, message }),
    ...options,
  });
  /** Offsets whose calls parked (gave their in-flight slot back) and have not unparked. */
  const parked = new Set<number>();
  const h = {
    spoolDir,
    delivered,
    broken,
    logs,
    controller,
    assembler,
    parked,
    /** Replaceable: what the package handler does after recording the delivery. */
    afterDelivery: (async () => undefined) as PackageHandler,
    /** Calls the handler for each record at once, in offset order, without waiting: what the consumer does. */
    dispatch(records: IncomingRecord[]): Tracked[] {
      return records.map((r) => track(handle(r, controller.signal, { park: () => void parked.add(r.offset), unpark: () => void parked.delete(r.offset) })));
    },
    spoolFiles(): string[] {
      return fs.existsSync(spoolDir) ? fs.readdirSync(spoolDir) : [];
    },
  };
  const handle = assembler.wrap(async (pkg, signal) => {
    delivered.push({ pkg, bytes: pkg.bodyFile ? fs.readFileSync(pkg.bodyFile.path) : pkg.value });
    await h.afterDelivery(pkg, signal);
  });
  return h;
}

export async function settled(tracked: Tracked[]): Promise<void> {
  await Promise.allSettled(tracked.map((t) => t.promise));
}

/** Lets queued writes and timers run. */
export function pause(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export async function until(cond: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await pause(5);
  }
}
