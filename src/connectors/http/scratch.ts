/**
 * The scratch folder of one HTTP ingest: request bodies too large for memory are written here
 * while they arrive. It lives under the system temp folder (an emptyDir in Kubernetes), readable
 * by this user only. Folders left behind by a process of this host that died are removed when
 * the next one opens its own, so a crash mid-upload does not leak disk space.
 */
import { randomUUID } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';

const PREFIX = 'vdxp-ingest-';
/** Folders of this process's open scratch folders, by name. */
const open = new Set<string>();

export class ScratchFolder {
  private constructor(
    readonly dir: string,
    private readonly name: string,
  ) {}

  static async open(baseDir = os.tmpdir()): Promise<ScratchFolder> {
    const ownPrefix = `${PREFIX}${os.hostname().replace(/[^A-Za-z0-9.-]/g, '_')}-`;
    const name = `${ownPrefix}${process.pid}-${randomUUID().slice(0, 8)}`;
    // Claimed before the sweep below, which another source of this process may be running.
    open.add(name);
    try {
      for (const entry of await fsp.readdir(baseDir)) {
        const match = entry.startsWith(ownPrefix) ? /^(\d+)-[0-9a-f]{8}$/.exec(entry.slice(ownPrefix.length)) : null;
        if (!match) continue;
        const pid = Number(match[1]);
        // A container's process often has the same pid as its predecessor's: a folder with our pid is left over unless it is open.
        const leftOver = pid === process.pid ? !open.has(entry) : !isAlive(pid);
        if (leftOver) await fsp.rm(path.join(baseDir, entry), { recursive: true, force: true });
      }
      await fsp.mkdir(path.join(baseDir, name), { mode: 0o700 });
    } catch (err) {
      open.delete(name);
      throw err;
    }
    return new ScratchFolder(path.join(baseDir, name), name);
  }

  newPath(): string {
    return path.join(this.dir, `body-${randomUUID()}`);
  }

  async close(): Promise<void> {
    await fsp.rm(this.dir, { recursive: true, force: true });
    open.delete(this.name);
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
