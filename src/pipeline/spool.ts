/**
 * Scratch files for large packages (DESIGN.md rule 6): a package being signed, reassembled from
 * its chunks, or handed over as a file. Nothing here is state: a process that dies loses only
 * work Kafka or the source still holds, so a restart removes what a dead process of this host
 * left behind. In Kubernetes the folder is an emptyDir (`spool.dir`, the system temp folder by default).
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import type { BodyFile } from '../connectors/types';
import { forEachRenderedBytes, type RenderedPiece } from '../signature/canonical';

export interface SpooledFile extends BodyFile {
  sha256: string;
}

const PREFIX = 'vdxp-spool-';
/** Spool folders this process made (several agencies may run in one process, e.g. in tests). */
const madeHere = new Set<string>();

export class Spool {
  private constructor(readonly dir: string) {}

  /**
   * A new folder of its own under `baseDir`. Folders this host left behind are removed: those of
   * dead processes, and those carrying this process's id that this process did not make (a
   * restarted container often gets the same pid as its previous life).
   */
  static async open(baseDir = os.tmpdir()): Promise<Spool> {
    const host = os.hostname().replace(/[^A-Za-z0-9.-]/g, '_');
    await fsp.mkdir(baseDir, { recursive: true });
    for (const name of await fsp.readdir(baseDir)) {
      const match = name.startsWith(`${PREFIX}${host}-`) ? /-(\d+)-[0-9a-f]+$/.exec(name) : null;
      if (!match) continue;
      const pid = Number(match[1]);
      const leftover = pid === process.pid ? !madeHere.has(name) : !isAlive(pid);
      if (leftover) await fsp.rm(path.join(baseDir, name), { recursive: true, force: true });
    }
    const name = `${PREFIX}${host}-${process.pid}-${randomBytes(4).toString('hex')}`;
    madeHere.add(name);
    const dir = path.join(baseDir, name);
    await fsp.mkdir(dir, { recursive: true, mode: 0o700 });
    return new Spool(dir);
  }

  newPath(label: string): string {
    return path.join(this.dir, `${label}-${randomUUID()}`);
  }

  /** Writes a rendering (e.g. a signed package in pieces) to a new file, hashing it on the way. */
  async writePieces(pieces: RenderedPiece[], label: string): Promise<SpooledFile> {
    const file = this.newPath(label);
    const hash = createHash('sha256');
    let length = 0;
    const fd = fs.openSync(file, 'w', 0o600);
    try {
      // Synchronous writes in 1 MiB windows: memory stays at one window, and a rendering is not
      // interleaved with other work on the same file.
      forEachRenderedBytes(pieces, (piece) => {
        const bytes = typeof piece === 'string' ? Buffer.from(piece, 'utf8') : piece;
        hash.update(bytes);
        length += bytes.length;
        for (let done = 0; done < bytes.length; ) done += fs.writeSync(fd, bytes, done);
      });
    } catch (err) {
      fs.closeSync(fd);
      await this.remove(file);
      throw err;
    }
    fs.closeSync(fd);
    return { path: file, length, sha256: hash.digest('hex') };
  }

  async writeBuffer(bytes: Buffer, label: string): Promise<SpooledFile> {
    return this.writePieces([bytes], label);
  }

  async remove(file: string): Promise<void> {
    await fsp.rm(file, { force: true });
  }

  async close(): Promise<void> {
    await fsp.rm(this.dir, { recursive: true, force: true });
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
