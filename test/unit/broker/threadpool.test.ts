/**
 * The `vdxp` entry point sizes libuv's thread pool (src/broker/threadpool.ts): the connector's
 * consume loops each hold a pool thread, and with Node's 4 the file writes of an upload waited
 * behind them. Here 8 threads are held the same way (each opening a FIFO nobody writes to, which
 * blocks its thread, as a waiting consume() does) and a file is then written: it must complete
 * while they are still held.
 */
import { strict as assert } from 'node:assert';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { REPO_ROOT } from '../../support/paths';

const HELD_THREADS = 8;

/** Runs a child that loads `entry` (if any), holds HELD_THREADS pool threads, then writes a file; prints "written" or "stuck". */
function writeWhilePoolIsHeld(dir: string, entry: string | undefined, env: Record<string, string | undefined>): string {
  const fifos = Array.from({ length: HELD_THREADS }, (_, i) => path.join(dir, `fifo-${i}`));
  for (const f of fifos) if (!fs.existsSync(f)) execFileSync('mkfifo', [f]);
  const script = `
    ${entry ? `require(${JSON.stringify(entry)});` : ''}
    const fs = require('node:fs');
    const fifos = ${JSON.stringify(fifos)};
    for (const f of fifos) fs.promises.readFile(f).catch(() => {});
    // SIGKILL: a normal exit would wait for the threads blocked on the FIFOs.
    const done = (what) => { console.log(what); process.kill(process.pid, 'SIGKILL'); };
    const stuck = setTimeout(() => done('stuck'), 3000);
    setTimeout(() => fs.promises.writeFile(${JSON.stringify(path.join(dir, 'upload'))}, 'x').then(() => { clearTimeout(stuck); done('written'); }), 200);
  `;
  const run = spawnSync(process.execPath, ['-e', script], { env: { ...process.env, UV_THREADPOOL_SIZE: undefined, ...env } as NodeJS.ProcessEnv, encoding: 'utf8', timeout: 20_000 });
  return run.stdout.trim();
}

describe('the thread pool of the vdxp process', function () {
  this.timeout(30_000);
  let dir: string;
  const entry = path.join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js');
  before(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vdxp-threadpool-'))));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('with Node alone, 8 held threads stop a file write (the failure this guards against)', () => {
    assert.equal(writeWhilePoolIsHeld(dir, undefined, {}), 'stuck');
  });

  it('loading the vdxp entry point leaves room: the file is written while 8 threads are held', () => {
    assert.equal(writeWhilePoolIsHeld(dir, entry, {}), 'written');
  });

  it("keeps an operator's own UV_THREADPOOL_SIZE", () => {
    assert.equal(writeWhilePoolIsHeld(dir, entry, { UV_THREADPOOL_SIZE: '4' }), 'stuck');
  });
});
