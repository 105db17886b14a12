/** The agency config's trust section for issue 17: the national preset word and trust.identityRules, as `vdxp run` and `vdxp config check` read them. */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as YAML from 'yaml';
import { ConfigError, parseConfig } from '../../../src/config/load';
import { checkReferencedFiles } from '../../../src/config/referenced-files';
import { configWarnings } from '../../../src/config/warnings';

const agency = (trust: unknown, env: NodeJS.ProcessEnv = {}) =>
  parseConfig(
    YAML.stringify({ organId: '000.00.00.H41', kafka: { brokers: ['kafka-0:9093'] }, trust, connectors: [{ name: 'inbox', type: 'file-drop', direction: 'sink', options: { dir: '/data/inbox' } }] }),
    'agency.yaml',
    env,
  );
const problems = (trust: unknown) => {
  try {
    agency(trust);
    return [];
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return err.problems;
  }
};

describe('config: the national CA preset and identity rules (issue 17)', () => {
  it('takes the preset word alone, or among anchor files, and from the environment', () => {
    assert.equal(agency({ anchors: 'national', revocation: 'best-effort' }).trust.anchors, 'national');
    assert.deepEqual(agency({ anchors: ['national', '/etc/vdxp/trust/ca.pem'], crls: ['/etc/vdxp/trust/ca.crl'] }).trust.anchors, ['national', '/etc/vdxp/trust/ca.pem']);
    assert.equal(agency({ anchors: ['/etc/vdxp/trust/ca.pem'], revocation: 'best-effort' }, { VDXP__TRUST__ANCHORS: 'national' }).trust.anchors, 'national');
    assert.equal(problems({ anchors: 'nationwide', revocation: 'best-effort' })[0]?.path, 'trust.anchors');
  });

  it('checks anchor files but not the preset word', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vdxp-trust-files-'));
    const crl = path.join(dir, 'ca.crl');
    fs.writeFileSync(crl, 'x');
    const config = agency({ anchors: ['national', path.join(dir, 'missing.pem')], crls: [crl], intermediates: [path.join(dir, 'sub.pem')] });
    assert.deepEqual(checkReferencedFiles(config).map((p) => p.path), ['trust.anchors[1]', 'trust.intermediates[0]']);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('refuses conflicting identity rules with the path of the later one, and warns about an OrganId in no known form', () => {
    const rules = [{ organId: '000.00.00.H41', subject: 'UID=MST:0301519977-029' }, { organId: '000.00.00.G22', subject: 'UID=MST:0301519977-029' }];
    const found = problems({ anchors: 'national', revocation: 'best-effort', identityRules: rules });
    assert.equal(found.length, 1);
    assert.equal(found[0]!.path, 'trust.identityRules[1]');
    assert.match(found[0]!.expected, /trust\.identityRules\[0\] \(UID=MST:0301519977-029 → 000\.00\.00\.H41\) and trust\.identityRules\[1\]/);
    assert.equal(problems({ anchors: 'national', revocation: 'best-effort', identityRules: [{ organId: '000.00.00.H41', serialNumber: '1A' }] })[0]?.path, 'trust.identityRules[0].issuer');
    assert.ok(problems({ anchors: 'national', revocation: 'best-effort', identityRules: [{ organId: '000.00.00.H41', subject: 'UID=x', colour: 'red' }] }).some((p) => p.path === 'trust.identityRules[0].colour'));
    const config = agency({ anchors: 'national', revocation: 'best-effort', identityRules: [{ organId: ['000.00.00.H41', 'H41'], subject: 'UID=MST:0301519977-029' }] });
    assert.deepEqual(configWarnings(config).map((w) => w.path), ['trust.identityRules[0].organId']);
  });
});
