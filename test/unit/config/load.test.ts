import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { ConfigError, loadConfigFile, parseConfig } from '../../../src/config/load';
import { DEFAULT_LIMITS } from '../../../src/limits';
import { REPO_ROOT } from '../../support/paths';
import { main } from '../../../src/cli/main';

const MINIMAL = `
organId: "000.00.00.H41"
kafka: { brokers: ["127.0.0.1:9092"] }
trust: { insecureSkipVerification: true }
connectors:
  - { name: outbox, type: file-drop, direction: source, options: { dir: /tmp/out } }
  - { name: inbox, type: file-drop, direction: sink, options: { dir: /tmp/in } }
`;

function problemsOf(text: string, env: NodeJS.ProcessEnv = {}) {
  try {
    parseConfig(text, 'test.yaml', env);
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.problems;
  }
  assert.fail('expected the config to be refused');
}

describe('agency config', () => {
  it('fills safe defaults for everything left out', () => {
    const config = parseConfig(MINIMAL);
    assert.equal(config.organId, '000.00.00.H41');
    assert.equal(config.connectors[0]!.profile, 'edxml');
    assert.deepEqual(config.limits, DEFAULT_LIMITS);
    assert.equal(config.kafka.topics.partitions, 3);
    assert.ok(config.delivery.retry.maxAttempts > 1);
  });

  it('accepts every limit of src/limits.ts as a config key', () => {
    const limits = Object.fromEntries(Object.keys(DEFAULT_LIMITS).map((key, i) => [key, i + 1]));
    const config = parseConfig(`${MINIMAL}\nlimits: ${JSON.stringify(limits)}\n`);
    assert.deepEqual(config.limits, limits);
  });

  it('names the exact path, what was expected and what was found', () => {
    const text = MINIMAL.replace('options: { dir: /tmp/in }', 'options: { dir: 42 }');
    const problems = problemsOf(text);
    assert.deepEqual(problems, [{ path: 'connectors[1].options.dir', expected: 'must be string', found: 'number 42' }]);
  });

  describe('the trust section (issue 13 hole 4)', () => {
    const withTrust = (trust: string | undefined) => MINIMAL.replace('trust: { insecureSkipVerification: true }\n', trust === undefined ? '' : `trust: ${trust}\n`);

    it('refuses a config without trust: it would verify nothing it receives', () => {
      assert.deepEqual(problemsOf(withTrust(undefined)), [
        {
          path: 'trust',
          expected: 'the trust material (trust.anchors and trust.crls or trust.ocsp), or trust.insecureSkipVerification: true for a test setup that verifies nothing it receives',
          found: 'nothing',
        },
      ]);
    });

    it('accepts the explicit opt-out alone, and refuses it beside trust material', () => {
      assert.equal(parseConfig(withTrust('{ insecureSkipVerification: true }')).trust.insecureSkipVerification, true);
      assert.equal(problemsOf(withTrust('{ insecureSkipVerification: true, anchors: [/etc/ca.pem] }'))[0]!.path, 'trust.anchors');
      assert.equal(problemsOf(withTrust('{ insecureSkipVerification: false }'))[0]!.path, 'trust.anchors');
    });

    it('refuses anchors without CRLs unless revocation: best-effort says so', () => {
      const [problem] = problemsOf(withTrust('{ anchors: [/etc/ca.pem] }'));
      assert.equal(problem!.path, 'trust.crls');
      assert.match(problem!.expected, /revocation: best-effort/);
      assert.equal(problemsOf(withTrust('{ anchors: [/etc/ca.pem], crls: [] }'))[0]!.found, 'an empty list');
      assert.equal(parseConfig(withTrust('{ anchors: [/etc/ca.pem], revocation: best-effort }')).trust.revocation, 'best-effort');
      const partner = parseConfig(withTrust('{ anchors: [/etc/ca.pem], crls: [/etc/ca.crl], partners: { "000.00.00.G22": { revocation: best-effort } } }'));
      assert.equal(partner.trust.partners!['000.00.00.G22']!.revocation, 'best-effort');
      assert.equal(problemsOf(withTrust('{ anchors: [/etc/ca.pem], crls: [/etc/ca.crl], revocation: sometimes }'))[0]!.path, 'trust.revocation');
    });

    it('takes trust.ocsp in place of CRLs, with revocationFailure per store and partner; refuses what it cannot mean (issue 17 point 2)', () => {
      const fp = 'D8:CA:B7:A4:AE:F9:2E:6B:B2:50:9D:7C:61:CE:E7:B4:4F:37:31:B2:D2:10:74:96:35:30:27:7B:36:6F:AE:4B';
      const config = parseConfig(
        withTrust(`{ anchors: [/etc/ca.pem], revocationFailure: hard-fail, ocsp: { responders: { "${fp}": "http://ocsp.ca.gov.vn/" }, nonce: required, cacheSeconds: 60 }, partners: { "000.00.00.G22": { revocationFailure: soft-fail } } }`),
      );
      assert.equal(config.trust.ocsp!.responders![fp], 'http://ocsp.ca.gov.vn/');
      assert.equal(config.trust.ocsp!.nonce, 'required');
      assert.equal(config.trust.partners!['000.00.00.G22']!.revocationFailure, 'soft-fail');
      assert.deepEqual(parseConfig(withTrust('{ anchors: [/etc/ca.pem], ocsp: {} }')).trust.ocsp, {}, 'OCSP alone satisfies the fail-closed rule');
      assert.equal(problemsOf(withTrust('{ anchors: [/etc/ca.pem], ocsp: { nonce: sometimes } }'))[0]!.path, 'trust.ocsp.nonce');
      assert.equal(problemsOf(withTrust('{ anchors: [/etc/ca.pem], ocsp: { url: "http://x/" } }'))[0]!.path, 'trust.ocsp.url');
      assert.equal(problemsOf(withTrust('{ anchors: [/etc/ca.pem], ocsp: { responders: { "not-a-fingerprint": "http://x/" } } }'))[0]!.path.startsWith('trust.ocsp.responders'), true);
      assert.equal(problemsOf(withTrust('{ anchors: [/etc/ca.pem], ocsp: {}, revocationFailure: maybe }'))[0]!.path, 'trust.revocationFailure');
    });
  });

  it('reports a missing required key, an unknown key and a wrong enum value together', () => {
    const text = `
organId: "000.00.00.H41"
kafak: { brokers: ["x:1"] }
connectors:
  - { name: outbox, type: ftp, direction: source, options: {} }
`;
    const problems = problemsOf(text);
    const byPath = Object.fromEntries(problems.map((p) => [p.path, p]));
    assert.match(byPath['kafka']!.expected, /required/);
    assert.match(byPath['kafak']!.expected, /unknown key/);
    assert.match(byPath['connectors[0].type']!.expected, /one of "file-drop", "http", "amqp"/);
    assert.equal(byPath['connectors[0].type']!.found, 'string "ftp"');
  });

  it('refuses inline secrets: only file references are accepted', () => {
    const text = MINIMAL.replace('kafka: { brokers: ["127.0.0.1:9092"] }', 'kafka: { brokers: ["127.0.0.1:9092"], sasl: { mechanism: PLAIN, username: u, password: hunter2 } }');
    const paths = problemsOf(text).map((p) => p.path);
    assert.ok(paths.includes('kafka.sasl.password'), paths.join(', '));
    assert.ok(paths.includes('kafka.sasl.passwordFile'), paths.join(', '));
  });

  it("checks each connector's format profile and its profileOptions at load time", () => {
    const unknown = MINIMAL.replace('type: file-drop, direction: sink,', 'type: file-drop, direction: sink, profile: csv2000,');
    assert.deepEqual(problemsOf(unknown).map((p) => p.path), ['connectors[1].profile']);
    const wrongOption = MINIMAL.replace('type: file-drop, direction: sink,', 'type: file-drop, direction: sink, profile: edxml, profileOptions: { encoding: tcvn3 },');
    const [problem] = problemsOf(wrongOption);
    assert.equal(problem!.path, 'connectors[1].profileOptions.encoding');
    assert.match(problem!.expected, /takes no options/);
  });

  it('rejects duplicate connector names', () => {
    const text = MINIMAL.replace('name: inbox', 'name: outbox');
    assert.deepEqual(problemsOf(text).map((p) => p.path), ['connectors[1].name']);
  });

  it('lets environment variables override single keys, typed as YAML', () => {
    const config = parseConfig(MINIMAL, 'test.yaml', {
      VDXP__KAFKA__BROKERS: '[a.example:9093, b.example:9093]',
      VDXP__CONNECTORS__1__OPTIONS__DIR: '/data/inbox',
      VDXP__LIMITS__MAXXMLDEPTH: '20',
      VDXP__KAFKA__CLIENT_ID: 'pod-7',
      VDXP_RUN_DIR: '/ignored/not/a/config/key',
    });
    assert.deepEqual(config.kafka.brokers, ['a.example:9093', 'b.example:9093']);
    assert.equal(config.connectors[1]!.options.dir, '/data/inbox');
    assert.equal(config.limits.maxXmlDepth, 20);
    assert.equal(config.kafka.clientId, 'pod-7');
  });

  it('validates an environment override like any other value', () => {
    const problems = problemsOf(MINIMAL, { VDXP__LIMITS__MAXXMLDEPTH: 'deep' });
    assert.deepEqual(problems, [{ path: 'limits.maxXmlDepth', expected: 'must be integer', found: 'string "deep"' }]);
  });

  it('reports YAML syntax errors with their line', () => {
    const problems = problemsOf('organId: [unclosed\n');
    assert.match(problems[0]!.path, /line/);
  });

  for (const name of ['000.00.00.H41.yaml', '000.00.00.G22.yaml']) {
    it(`accepts the documented example config/${name}`, () => {
      const config = loadConfigFile(path.join(REPO_ROOT, 'config', name));
      assert.equal(config.organId, name.replace('.yaml', ''));
    });
  }

  describe('vdxp config check', () => {
    /** Runs the CLI in-process, collecting what it prints. */
    async function run(args: string[]): Promise<{ code: number; stdout: string }> {
      const out: string[] = [];
      const [stdout, stderr] = [process.stdout.write, process.stderr.write];
      process.stdout.write = ((chunk: string) => (out.push(String(chunk)), true)) as typeof process.stdout.write;
      process.stderr.write = (() => true) as typeof process.stderr.write;
      try {
        return { code: await main(args), stdout: out.join('') };
      } finally {
        [process.stdout.write, process.stderr.write] = [stdout, stderr];
      }
    }

    it('exits 0 for a valid file (whose secrets and trust files are mounted only in the pod: --no-files)', async () => {
      const { code, stdout } = await run(['config', 'check', path.join(REPO_ROOT, 'config', '000.00.00.H41.yaml'), '--no-files']);
      assert.equal(code, 0);
      assert.match(stdout, /ok \(agency 000\.00\.00\.H41/);
    });

    it('exits 1 naming the path for a wrong one', async () => {
      const { code, stdout } = await run(['config', 'check', '/nonexistent/agency.yaml', '--json']);
      assert.equal(code, 1);
      const report = JSON.parse(stdout);
      assert.equal(report.valid, false);
      assert.equal(report.problems[0].path, '(file)');
    });

    it('exits 2 on a usage error', async () => {
      assert.equal((await run(['config', 'check'])).code, 2);
    });
  });
});
