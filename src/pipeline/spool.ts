/**
 * Scratch files for large packages (DESIGN.md rule 6): a package being signed, reassembled from
 * its chunks, or handed over as a file. Nothing here is state: a process that dies loses only
 * work Kafka or the source still holds, so a restart removes what a dead process of this host
 * left behind (src/scratch-folder.ts). The folder is under TMPDIR: an emptyDir in Kubernetes (`scratch.sizeLimit`).
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import type { BodyFile } from '../connectors/types';
import { ScratchFolder } from '../scratch-folder';
import { forEachRenderedBytes, type RenderedPiece } from '../signature/canonical';

export interface SpooledFile extends BodyFile {
  sha256: string;
}

export class Spool {
  private constructor(private readonly folder: ScratchFolder) {}

  /** A new folder of its own under `baseDir`; what dead processes of this host left there is removed. */
  static async open(baseDir?: string): Promise<Spool> {
    return new Spool(await ScratchFolder.open('vdxp-spool-', baseDir));
  }

  get dir(): string {
    return this.folder.dir;
  }

  newPath(label: string): string {
    return this.folder.newPath(label);
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

  close(): Promise<void> {
    return this.folder.close();
  }
}
