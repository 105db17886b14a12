/**
 * The ACLs of `vdxp backbone acl` (src/broker/acls.ts): what docs/OPERATIONS.md shows is what the
 * command prints, own names are never prefixes, and partners narrow what an agency may write.
 * That a broker enforces them is test/integration/backbone-acl.test.ts.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { agencyAcls, kafkaAclsCommands } from '../../../src/broker/acls';
import { REPO_ROOT } from '../../support/paths';

const MAIN = path.join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js');
const vdxp = (...args: string[]) => {
  const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8' });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
};
const unquote = (cell: string) => cell.trim().replace(/^`(.*)`$/, '$1');

describe('backbone ACLs: vdxp backbone acl', function () {
  this.timeout(30_000);

  it('docs/OPERATIONS.md lists exactly what the command grants 000.00.00.H41', () => {
    const doc = fs.readFileSync(path.join(REPO_ROOT, 'docs', 'OPERATIONS.md'), 'utf8');
    const table = /<!-- acl-table:begin[^>]*-->\n([\s\S]*?)<!-- acl-table:end -->/.exec(doc)?.[1];
    assert.ok(table, 'the ACL table markers in OPERATIONS.md');
    const rows = table
      .trim()
      .split('\n')
      .slice(2)
      .map((line) => line.split('|').slice(1, -1).map(unquote));
    const expected = agencyAcls('000.00.00.H41', { username: 'vdxp-h41', requestLedger: true }).map((a) => [a.principal, a.operation, a.resourceType, a.patternType.toLowerCase(), a.name, a.why]);
    assert.deepEqual(rows, expected);
  });

  it('grants nothing of its own by prefix: nested Decision 20 OrganIds stay apart', () => {
    const acls = agencyAcls('H37.02', { username: 'vdxp-h37-02', partners: ['H37.02.02'] });
    const prefixed = acls.filter((a) => a.patternType === 'Prefixed');
    assert.deepEqual(prefixed, []);
    const readable = acls.filter((a) => a.operation === 'Read').map((a) => a.name);
    assert.ok(!readable.some((n) => n.includes('H37.02.02')), `reads a nested agency's resource: ${readable.join(', ')}`);
    assert.ok(acls.every((a) => a.operation !== 'Create' || /\.H37\.02$/.test(a.name)), 'creates only its own topics');
  });

  it('with --partners it writes to their docs and status topics only, and reads nothing of theirs', () => {
    const acls = agencyAcls('000.00.00.H41', { username: 'vdxp-h41', partners: ['000.00.00.G22', '000.00.00.H41'] });
    const partner = acls.filter((a) => a.name.includes('G22'));
    assert.deepEqual(partner.map((a) => `${a.operation} ${a.name}`), ['Write vdxp.docs.000.00.00.G22', 'Write vdxp.status.000.00.00.G22']);
    assert.ok(!acls.some((a) => a.name === 'vdxp.requests.000.00.00.H41'), 'no request ledger without an HMAC ingest');
    const preCreated = agencyAcls('000.00.00.H41', { username: 'u', createTopics: false }).filter((a) => a.operation === 'Create');
    assert.deepEqual(preCreated.map((a) => a.name), ['vdxp.trail.000.00.00.H41'], 'only the trail topic, whose retention the agency config sets');
    assert.ok(!agencyAcls('000.00.00.H41', { username: 'u', createTopics: false, trail: false }).some((a) => a.name.startsWith('vdxp.trail.')));
  });

  it('kafka-acls.sh commands: one per resource, its operations together', () => {
    const commands = kafkaAclsCommands(agencyAcls('000.00.00.H41', { username: 'vdxp-h41' }));
    assert.ok(commands.includes('kafka-acls.sh --bootstrap-server "$BOOTSTRAP" --command-config admin.properties --add --allow-principal User:vdxp-h41 --operation Read --operation Write --operation Create --topic vdxp.docs.000.00.00.H41 --resource-pattern-type literal'), commands.join('\n'));
    assert.ok(commands.includes('kafka-acls.sh --bootstrap-server "$BOOTSTRAP" --command-config admin.properties --add --allow-principal User:vdxp-h41 --operation Read --group vdxp.000.00.00.H41 --resource-pattern-type literal'));
    assert.equal(commands.length, 7);
  });

  it('the command takes the user, group and HMAC ingest from --config, and asks for a user it cannot know', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vdxp-acl-cli-'));
    try {
      const config = path.join(dir, 'agency.yaml');
      fs.writeFileSync(
        config,
        `organId: "000.00.00.G22"
trust: { insecureSkipVerification: true }
kafka: { brokers: ["k:9093"], consumerGroup: g22-group, sasl: { mechanism: SCRAM-SHA-512, username: vdxp-g22, passwordFile: /p } }
connectors:
  - { name: ingest, type: http, direction: source, options: { port: 8443, tls: { certFile: /c, keyFile: /k }, auth: { hmac: { clients: [{ systemId: x, secretFile: /s }] } } } }
`,
      );
      const json = vdxp('backbone', 'acl', '000.00.00.G22', '--config', config, '--format', 'json');
      assert.equal(json.code, 0, json.stderr);
      const acls = JSON.parse(json.stdout) as Array<{ principal: string; name: string; resourceType: string }>;
      assert.ok(acls.every((a) => a.principal === 'User:vdxp-g22'));
      assert.ok(acls.some((a) => a.resourceType === 'Group' && a.name === 'g22-group'));
      assert.ok(acls.some((a) => a.name === 'vdxp.requests.000.00.00.G22'));
      const other = vdxp('backbone', 'acl', '000.00.00.H41', '--config', config);
      assert.equal(other.code, 2);
      assert.match(other.stderr, /is the config of 000\.00\.00\.G22, not of 000\.00\.00\.H41/);
      const nobody = vdxp('backbone', 'acl', '000.00.00.H41');
      assert.equal(nobody.code, 2);
      assert.match(nobody.stderr, /name the agency’s SCRAM user: --username/);
      assert.equal(vdxp('backbone', 'acl', '000.00.00.H41', '-u', 'x', '--apply').code, 2, '--apply without --bootstrap-server');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
