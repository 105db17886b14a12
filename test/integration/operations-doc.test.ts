/**
 * Issue 16 point 16: the check an operator runs before `helm install` (docs/OPERATIONS.md, "Check,
 * install, verify") works outside the repository, as an operator runs it: the commands up to
 * `helm upgrade` are taken from the page and run in an empty folder with only the chart, `helm`
 * and `vdxp` at hand (the earlier snippet needed the repository's node_modules: "Cannot find
 * module 'yaml'").
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { REPO_ROOT } from '../support/paths';
import { blocksUnder } from '../support/markdown';

describe('docs/OPERATIONS.md: the pre-install check runs outside the repository (issue 16 point 16)', function () {
  this.timeout(60_000);

  it('lints the chart and checks the rendered config with vdxp config check', () => {
    const guide = fs.readFileSync(path.join(REPO_ROOT, 'docs', 'OPERATIONS.md'), 'utf8');
    const block = blocksUnder(guide, '### 4. Check, install, verify', 'sh')[0]!;
    const offline = block.slice(0, block.indexOf('helm upgrade --install'));
    assert.match(offline, /config check/);

    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vdxp-operator-'));
    fs.cpSync(path.join(REPO_ROOT, 'helm', 'vdxp-connector'), path.join(dir, 'helm', 'vdxp-connector'), { recursive: true });
    const bin = path.join(dir, 'bin');
    fs.mkdirSync(bin);
    fs.writeFileSync(path.join(bin, 'vdxp'), `#!/bin/sh\nexec "${process.execPath}" "${path.join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js')}" "$@"\n`, { mode: 0o755 });
    const helm = path.join(REPO_ROOT, '.tools', 'bin', 'helm');
    if (fs.existsSync(helm)) fs.symlinkSync(helm, path.join(bin, 'helm'));
    // No node on the PATH and no node_modules around: only what an operator has.
    const result = spawnSync('bash', ['-euo', 'pipefail', '-c', offline], { cwd: dir, encoding: 'utf8', env: { PATH: `${bin}:/usr/bin:/bin`, HOME: dir } });
    assert.equal(result.status, 0, result.stdout + result.stderr);
    assert.match(result.stdout, /\(stdin\): ok \(agency 000\.00\.00\.H41, 3 connectors; files not checked\)/);
  });
});
