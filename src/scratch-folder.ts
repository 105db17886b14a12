/**
 * A scratch folder for what is too large for memory (DESIGN.md rule 6): request bodies of the HTTP
 * ingest while they arrive, large packages while they are signed, sent in chunks or reassembled.
 * It lives under the system temp folder (TMPDIR; an emptyDir in Kubernetes), readable by this user
 * only. Nothing in it is state: folders of the same kind left behind by a process of this host
 * that died are removed when the next one opens its own, so a crash does not leak disk space.
 */
import { randomUUID } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';

/** This process's open scratch folders, by name (several sources and agencies may share a process). */
const open = new Set<string>();

export class ScratchFolder {
  private constructor(
    readonly dir: string,
    private readonly name: string,
  ) {}

  /** `kind` names the folder (`vdxp-ingest-`, `vdxp-spool-`) and which leftovers it sweeps. */
  static async open(kind: string, baseDir = os.tmpdir()): Promise<ScratchFolder> {
    const ownPrefix = `${kind}${os.hostname().replace(/[^A-Za-z0-9.-]/g, '_')}-`;
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

  newPath(label: string): string {
    return path.join(this.dir, `${label}-${randomUUID()}`);
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
