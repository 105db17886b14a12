import * as path from 'node:path';
import * as fs from 'node:fs';

/** Repository root, whether tests run from dist/ or from sources. */
export const REPO_ROOT = findRepoRoot(__dirname);
/** Field samples live in ../shared beside the checkout; tests read them there, never copy them. */
export const SHARED_DIR = path.resolve(REPO_ROOT, '..', 'shared');
export const SAMPLES_DIR = path.join(SHARED_DIR, 'edxml', 'samples');
export const NATIONAL_CA_DIR = path.join(SHARED_DIR, 'national-ca');

export function sampleFiles(): string[] {
  return fs
    .readdirSync(SAMPLES_DIR)
    .filter((f) => f.endsWith('.edxml') || f.endsWith('.xml'))
    .sort()
    .map((f) => path.join(SAMPLES_DIR, f));
}

function findRepoRoot(start: string): string {
  let dir = start;
  while (!fs.existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`no package.json above ${start}`);
    dir = parent;
  }
  return dir;
}
