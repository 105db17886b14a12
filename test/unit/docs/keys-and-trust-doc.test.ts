/**
 * docs/OPERATIONS.md "Keys and trust in production" (issue 17 point 5): the YAML an operator copies
 * is a config the loader accepts, the error it shows is the one the loader prints, and the
 * fingerprints it lists are the ones the code pins.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as YAML from 'yaml';
import { ConfigError, parseConfig } from '../../../src/config/load';
import { NATIONAL_CA_FILES } from '../../../src/signature/national-ca';
import { blocksUnder, sectionOf } from '../../support/markdown';
import { REPO_ROOT } from '../../support/paths';

const GUIDE = fs.readFileSync(path.join(REPO_ROOT, 'docs', 'OPERATIONS.md'), 'utf8');
const CHAPTER = '## Keys and trust in production';

/** A whole agency config around a `trust:` section taken from the page. */
function agencyWith(trustYaml: string): string {
  const trust = YAML.parse(trustYaml).trust;
  return YAML.stringify({
    organId: '000.00.00.H41',
    kafka: { brokers: ['kafka-0:9093'] },
    trust,
    connectors: [{ name: 'inbox', type: 'file-drop', direction: 'sink', options: { dir: '/data/inbox' } }],
  });
}

describe('docs/OPERATIONS.md: Keys and trust in production (issue 17 point 5)', () => {
  it('has the identity, preset and failure subsections', () => {
    const chapter = sectionOf(GUIDE, CHAPTER);
    for (const heading of ['### Signer identity', '### The national CA preset', '### What failures look like']) assert.ok(chapter.includes(`\n${heading}\n`), heading);
  });

  it('shows trust sections the config loader accepts', () => {
    const blocks = [...blocksUnder(GUIDE, '### Signer identity', 'yaml'), ...blocksUnder(GUIDE, '### The national CA preset', 'yaml')];
    assert.ok(blocks.length >= 2);
    for (const block of blocks) {
      const config = parseConfig(agencyWith(block), 'OPERATIONS.md');
      assert.ok(config.trust.anchors.includes('national'), block);
    }
  });

  it('quotes the error the loader prints for two rules on the same certificates', () => {
    const shown = sectionOf(GUIDE, '### Signer identity').split('\n').find((l) => l.trim().startsWith('trust.identityRules[1]: expected'))!.trim();
    const conflicting = YAML.stringify({
      trust: {
        anchors: 'national',
        crls: ['/etc/vdxp/trust/rootcag2.crl'],
        identityRules: [
          { organId: '000.00.00.H41', subject: 'UID=MST:0301519977-029' },
          { organId: '000.00.00.G22', subject: 'UID=MST:0301519977-029' },
        ],
      },
    });
    assert.throws(() => parseConfig(agencyWith(conflicting), 'agency.yaml'), (err: ConfigError) => err.message.split('\n').map((l) => l.trim()).includes(shown));
  });

  it('lists exactly the fingerprints pinned in src/signature/national-ca.ts', () => {
    const table = /<!-- national-ca-pins:begin[^>]*-->([\s\S]*?)<!-- national-ca-pins:end -->/.exec(GUIDE)![1]!;
    const rows = [...table.matchAll(/^\| `([^`]+)` \| `([0-9A-F:]+)` \|$/gm)].map((m) => ({ file: m[1]!, sha256: m[2]!.replace(/:/g, '').toLowerCase() }));
    assert.deepEqual(rows, NATIONAL_CA_FILES.map(({ file, sha256 }) => ({ file, sha256 })));
  });
});
