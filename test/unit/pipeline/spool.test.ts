import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Spool } from '../../../src/pipeline/spool';

describe('pipeline spool (scratch files of large packages)', () => {
  let base: string;
  beforeEach(() => {
    base = fs.mkdtempSync(path.join(os.tmpdir(), 'vdxp-spool-test-'));
  });
  afterEach(() => fs.rmSync(base, { recursive: true, force: true }));

  it('removes what a dead process or an earlier life of this pid left, and keeps folders of live spools', async () => {
    const host = os.hostname().replace(/[^A-Za-z0-9.-]/g, '_');
    const live = await Spool.open(base);
    fs.writeFileSync(live.newPath('signed'), 'in use');
    const deadPid = spawnSync(process.execPath, ['-e', '0']).pid!;
    // A dead process's folder, and one with this process's pid that this process did not make.
    const leftovers = [`vdxp-spool-${host}-${deadPid}-0badc0de`, `vdxp-spool-${host}-${process.pid}-0b1d11fe`];
    for (const name of leftovers) {
      fs.mkdirSync(path.join(base, name));
      fs.writeFileSync(path.join(base, name, 'assembly-x'), 'partial');
    }
    const otherHost = 'vdxp-spool-some-other-pod-1-00000001';
    fs.mkdirSync(path.join(base, otherHost));

    const second = await Spool.open(base);
    const remaining = fs.readdirSync(base).sort();
    assert.deepEqual(remaining, [path.basename(live.dir), path.basename(second.dir), otherHost].sort());
    assert.equal(fs.readdirSync(live.dir).length, 1, 'a live spool keeps its files');
    await second.close();
    await live.close();
  });

  it('writes pieces to a file with their SHA-256 and length, and close removes its folder', async () => {
    const spool = await Spool.open(base);
    const file = await spool.writePieces(['<a>', Buffer.from('bytes'), '</a>'], 'signed');
    assert.equal(fs.readFileSync(file.path, 'utf8'), '<a>bytes</a>');
    assert.equal(file.length, 12);
    assert.equal(file.sha256, createHash('sha256').update('<a>bytes</a>').digest('hex'));
    await spool.close();
    assert.equal(fs.existsSync(spool.dir), false);
  });
});
