/**
 * File-drop transport: a folder the legacy system writes into (source) or reads from (sink).
 *
 * Source completeness rule (write it into your vendor guide):
 *   - `completion: rename` (default): a file is complete when it appears under its final name.
 *     Writers create it under a temporary name — starting with `.` or ending in `.tmp` / `.part` —
 *     and rename it into the folder. Such temporary names are never taken.
 *   - `completion: marker`: a file `X` is complete when `X.done` exists beside it; the marker is
 *     removed when `X` leaves the folder.
 * A taken file moves to `sent/` only after Kafka acknowledged every recipient's copy; a file that
 * can never be accepted moves to `rejected/` with `<name>.reason.json` beside it. Anything else
 * goes back into the folder and is offered again.
 *
 * Side files (attachments of a flat XML or CSV export): a folder named after the file's stem,
 * beside it (`cv42/` for `cv42.csv`), holds them. Write the folder first and rename the main file
 * in last; the folder travels with its file (claimed, then into `sent/` or `rejected/`). The sink
 * writes side files the same way: into `<stem>/`, before the main file appears.
 *
 * Large files: a file over LARGE_BODY_BYTES is never read into memory. It is handed over as
 * `bodyFile`, pointing at the claimed file, with `body` empty; it stays there untouched until the
 * item is settled. Side files are still read whole into memory (they are Buffers in VendorMessage),
 * so a large attachment beside the main file costs its size in memory.
 *
 * Several replicas may share one folder: a replica claims a file by renaming it into
 * `.claimed/<host name>/` (atomic, so exactly one replica wins). A restarted process returns its
 * own host's claims at start; a claim left behind by a replica that is gone for good is returned
 * to the folder once it is older than `staleClaimMs`. If the claimant had already sent it, the
 * receiver sees a redelivery with the same idempotency key, which is harmless (DESIGN.md §4 rule 2).
 *
 * Sink: each delivery is written to a temporary file, flushed to disk and renamed into place, under
 * the name the format profile derived from DocumentId and content hash, so a repeat delivery
 * overwrites the same file instead of adding a second one. A message with `bodyFile` is copied from
 * that file the same way (never read whole); the file itself is left where it is.
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { randomUUID } from 'node:crypto';
import type { Rejection } from '../errors';
import type { BodyFile, DeliveryContext, SideFile, Sink, Source, SourceHandler, VendorMessage } from './types';
import { DeliveryError, LARGE_BODY_BYTES } from './types';
import { bodyFileChunks } from './body-file';

export interface FileDropOptions {
  dir: string;
  pollIntervalMs?: number;
  completion?: 'rename' | 'marker';
  maxInFlight?: number;
  /** Delay before a file whose handling failed transiently is offered again. */
  retryDelayMs?: number;
  /** A claim older than this is taken to belong to a dead replica and is returned to the folder. */
  staleClaimMs?: number;
  /** Names this replica's claims; the host name (the pod name in Kubernetes) by default. */
  claimantId?: string;
  /** Source: files in sent/ older than this many days are removed (src/pipeline/file-drop-housekeeping.ts); 0 keeps them. */
  sentRetentionDays?: number;
}

/** Files in sent/ are kept this long unless the connector says otherwise. */
export const DEFAULT_SENT_RETENTION_DAYS = 30;

export const SENT = 'sent';
const REJECTED = 'rejected';
const TMP = '.tmp';
const CLAIMED = '.claimed';
const SIDE_SUFFIX = '.side';
const MARKER = '.done';

function isTemporaryName(name: string): boolean {
  return name.startsWith('.') || name.endsWith('.tmp') || name.endsWith('.part');
}

export class FileDropSource implements Source {
  private timer: NodeJS.Timeout | undefined;
  private watcher: fs.FSWatcher | undefined;
  private readonly inFlight = new Map<string, Promise<void>>();
  private readonly notBefore = new Map<string, number>();
  private scanning = false;
  private stopped = false;
  private lastStaleCheck = 0;

  private readonly claimDir: string;

  constructor(
    readonly name: string,
    private readonly options: FileDropOptions,
  ) {
    this.claimDir = path.join(options.dir, CLAIMED, options.claimantId ?? os.hostname());
  }

  async start(handler: SourceHandler): Promise<void> {
    await fsp.mkdir(path.join(this.options.dir, SENT), { recursive: true });
    await fsp.mkdir(path.join(this.options.dir, REJECTED), { recursive: true });
    await fsp.mkdir(this.claimDir, { recursive: true });
    for (const name of await fsp.readdir(this.claimDir)) if (!name.endsWith(SIDE_SUFFIX)) await this.unclaim(name);
    const scan = () => void this.scan(handler);
    this.watcher = fs.watch(this.options.dir, scan);
    this.watcher.on('error', () => undefined);
    this.timer = setInterval(scan, this.options.pollIntervalMs ?? 250);
    scan();
  }

  private async scan(handler: SourceHandler): Promise<void> {
    if (this.scanning || this.stopped) return;
    this.scanning = true;
    try {
      await this.returnStaleClaims();
      const names = await fsp.readdir(this.options.dir);
      const present = new Set(names);
      for (const name of names.sort()) {
        if (this.stopped || this.inFlight.size >= (this.options.maxInFlight ?? 16)) break;
        if (!this.isCandidate(name, present)) continue;
        const full = path.join(this.options.dir, name);
        const stat = await fsp.stat(full).catch(() => undefined);
        if (!stat?.isFile()) continue;
        const work = this.take(name, handler).finally(() => this.inFlight.delete(name));
        this.inFlight.set(name, work);
      }
    } catch {
      // The folder may be briefly unavailable (remounted volume); the next tick rescans.
    } finally {
      this.scanning = false;
    }
  }

  private isCandidate(name: string, present: Set<string>): boolean {
    if (name === SENT || name === REJECTED || isTemporaryName(name) || name.endsWith(MARKER)) return false;
    if (this.inFlight.has(name) || (this.notBefore.get(name) ?? 0) > Date.now()) return false;
    return this.options.completion !== 'marker' || present.has(name + MARKER);
  }

  private async returnStaleClaims(): Promise<void> {
    const now = Date.now();
    if (now - this.lastStaleCheck < 5_000) return;
    this.lastStaleCheck = now;
    const claimsRoot = path.join(this.options.dir, CLAIMED);
    for (const host of await fsp.readdir(claimsRoot)) {
      const hostDir = path.join(claimsRoot, host);
      for (const name of await fsp.readdir(hostDir).catch(() => [])) {
        if (name.endsWith(SIDE_SUFFIX) || (hostDir === this.claimDir && this.inFlight.has(name))) continue;
        const stat = await fsp.stat(path.join(hostDir, name)).catch(() => undefined);
        // ctime changes on rename, so it tells when the file was claimed.
        if (stat && now - stat.ctimeMs > (this.options.staleClaimMs ?? 5 * 60_000)) await this.returnClaim(hostDir, name);
      }
    }
  }

  private async take(name: string, handler: SourceHandler): Promise<void> {
    const full = path.join(this.claimDir, name);
    try {
      await fsp.rename(path.join(this.options.dir, name), full);
    } catch {
      return; // Another replica claimed it first, or it is gone.
    }
    let settled = false;
    const once = async (action: () => Promise<void>) => {
      if (settled) throw new Error(`file ${name} settled twice`);
      settled = true;
      await action();
    };
    // The legacy system writes the side folder before the file, so it exists by now if there is one.
    // Most files have none: ask first rather than fail a rename and a listing (two errors) per file.
    const sideFolder = path.join(this.options.dir, stemOf(name));
    const hasSideFiles = fs.existsSync(sideFolder);
    if (hasSideFiles) await fsp.rename(sideFolder, full + SIDE_SUFFIX).catch(() => undefined);
    let message: VendorMessage;
    try {
      const { size } = await fsp.stat(full);
      const large = size > LARGE_BODY_BYTES;
      message = {
        body: large ? Buffer.alloc(0) : await fsp.readFile(full),
        fileName: name,
        contentType: 'application/octet-stream',
        sideFiles: hasSideFiles ? await readSideFiles(full + SIDE_SUFFIX) : [],
        ...(large ? { bodyFile: { path: full, length: size } } : {}),
      };
    } catch {
      await this.unclaim(name);
      return;
    }
    await handler(message, {
      accepted: () => once(() => this.moveOut(name, SENT)),
      rejected: (rejection: Rejection) =>
        once(async () => {
          const reason = { reason: rejection.reason, detail: rejection.detail, limit: rejection.limit, at: new Date().toISOString() };
          await writeFileAtomically(path.join(this.options.dir, REJECTED), `${name}.reason.json`, Buffer.from(JSON.stringify(reason, null, 2) + '\n'));
          await this.moveOut(name, REJECTED);
        }),
      retryLater: () =>
        once(async () => {
          this.notBefore.set(name, Date.now() + (this.options.retryDelayMs ?? 1_000));
          await this.unclaim(name);
        }),
    });
  }

  private unclaim(name: string): Promise<void> {
    return this.returnClaim(this.claimDir, name);
  }

  /** Back into the folder: the side folder first, so the file never appears without it. */
  private async returnClaim(claimDir: string, name: string): Promise<void> {
    await fsp.rename(path.join(claimDir, name + SIDE_SUFFIX), path.join(this.options.dir, stemOf(name))).catch(() => undefined);
    await fsp.rename(path.join(claimDir, name), path.join(this.options.dir, name)).catch(() => undefined);
  }

  private async moveOut(name: string, folder: string): Promise<void> {
    const side = path.join(this.claimDir, name + SIDE_SUFFIX);
    // The modification time says when it got there: sent/ is cleaned by that age.
    const now = new Date();
    if (fs.existsSync(side)) {
      const target = path.join(this.options.dir, folder, stemOf(name));
      await fsp.rm(target, { recursive: true, force: true });
      await fsp.rename(side, target);
      await fsp.utimes(target, now, now).catch(() => undefined);
    }
    const target = path.join(this.options.dir, folder, name);
    await fsp.rename(path.join(this.claimDir, name), target);
    await fsp.utimes(target, now, now).catch(() => undefined);
    this.notBefore.delete(name);
    if (this.options.completion === 'marker') await fsp.rm(path.join(this.options.dir, name + MARKER), { force: true });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.watcher?.close();
    await Promise.allSettled([...this.inFlight.values()]);
  }
}

export class FileDropSink implements Sink {
  constructor(
    readonly name: string,
    private readonly options: FileDropOptions,
  ) {}

  async start(): Promise<void> {
    await fsp.mkdir(path.join(this.options.dir, TMP), { recursive: true });
  }

  async deliver(message: VendorMessage, _context: DeliveryContext): Promise<void> {
    try {
      // Side files first: the body appearing under its final name tells the legacy system all is there.
      const sideDir = path.join(this.options.dir, stemOf(message.fileName));
      for (const side of message.sideFiles) await writeFileAtomically(sideDir, side.name, side.bytes);
      if (message.sideFiles.length > 0) await fsp.rmdir(path.join(sideDir, TMP)).catch(() => undefined);
      await writeFileAtomically(this.options.dir, message.fileName, message.bodyFile ?? message.body);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      // A full disk or a vanished mount heals; a name we may not write never does.
      const transient = code !== 'EACCES' && code !== 'EPERM' && code !== 'ENAMETOOLONG' && code !== 'EINVAL';
      throw new DeliveryError(`file-drop ${this.name}: ${(err as Error).message}`, transient);
    }
  }

  async stop(): Promise<void> {}
}

function stemOf(name: string): string {
  const ext = path.extname(name);
  return ext ? name.slice(0, -ext.length) : `${name}.files`;
}

async function readSideFiles(dir: string): Promise<SideFile[]> {
  const entries = await fsp.readdir(dir, { withFileTypes: true }).catch(() => []);
  const files: SideFile[] = [];
  for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    if (entry.isFile() && !isTemporaryName(entry.name)) files.push({ name: entry.name, bytes: await fsp.readFile(path.join(dir, entry.name)) });
  }
  return files;
}

/**
 * Write to `<dir>/.tmp/…`, fsync, rename into place, fsync the folder. A BodyFile is streamed
 * across in small chunks, so memory does not grow with its size.
 */
export async function writeFileAtomically(dir: string, name: string, content: Buffer | BodyFile): Promise<void> {
  if (name.includes('/') || name.includes('\\') || name === '' || name.startsWith('.')) {
    throw Object.assign(new Error(`unsafe file name ${JSON.stringify(name)}`), { code: 'EINVAL' });
  }
  const tmpDir = path.join(dir, TMP);
  const tmp = path.join(tmpDir, `${randomUUID()}.part`);
  try {
    const handle = await openCreatingFolder(tmp, tmpDir);
    try {
      if (Buffer.isBuffer(content)) await handle.writeFile(content);
      else await copyInto(handle, content);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fsp.rename(tmp, path.join(dir, name));
  } catch (err) {
    await fsp.rm(tmp, { force: true });
    throw err;
  }
  const dirHandle = await fsp.open(dir, 'r');
  try {
    await dirHandle.sync();
  } finally {
    await dirHandle.close();
  }
}

/** The staging folder usually exists already: create it only when the open says it is missing. */
async function openCreatingFolder(file: string, folder: string): Promise<fsp.FileHandle> {
  try {
    return await fsp.open(file, 'w');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    await fsp.mkdir(folder, { recursive: true });
    return fsp.open(file, 'w');
  }
}

async function copyInto(handle: fsp.FileHandle, file: BodyFile): Promise<void> {
  for await (const chunk of bodyFileChunks(file)) await handle.write(chunk);
}
