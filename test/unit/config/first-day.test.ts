/**
 * Issue 16: the configuration errors and warnings a new operator meets on the first day. Each
 * test names the point of the issue it covers.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as YAML from 'yaml';
import { ConfigError, parseConfig, type ConfigProblem } from '../../../src/config/load';
import { checkReferencedFiles, fileReferences } from '../../../src/config/referenced-files';
import { configWarnings } from '../../../src/config/warnings';
import { main } from '../../../src/cli/main';
import { REPO_ROOT } from '../../support/paths';

/** Valid whatever the trust rules: anchors and CRLs named (these tests never read them). */
const TRUST = { anchors: ['/etc/vdxp/trust/ca.pem'], crls: ['/etc/vdxp/trust/ca.crl'] };

const MINIMAL = {
  organId: '000.00.00.H41',
  kafka: { brokers: ['127.0.0.1:9092'] },
  trust: TRUST,
  connectors: [
    { name: 'outbox', type: 'file-drop', direction: 'source', options: { dir: '/tmp/out' } },
    { name: 'inbox', type: 'file-drop', direction: 'sink', options: { dir: '/tmp/in' } },
  ],
};

function withConnectors(connectors: unknown[], extra: Record<string, unknown> = {}): string {
  return YAML.stringify({ ...MINIMAL, connectors, ...extra });
}

function problemsOf(text: string, env: NodeJS.ProcessEnv = {}): ConfigProblem[] {
  try {
    parseConfig(text, 'test.yaml', env);
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.problems;
  }
  assert.fail('expected the config to be refused');
}

/** Runs the CLI in-process, collecting what it prints. */
async function cli(args: string[]): Promise<{ code: number; stdout: string }> {
  const out: string[] = [];
  const [stdout, stderr] = [process.stdout.write, process.stderr.write];
  process.stdout.write = ((chunk: string) => (out.push(String(chunk)), true)) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string) => (out.push(String(chunk)), true)) as typeof process.stderr.write;
  try {
    return { code: await main(args), stdout: out.join('') };
  } finally {
    [process.stdout.write, process.stderr.write] = [stdout, stderr];
  }
}

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'vdxp-config-'));
}

describe('issue 16: configuration a new operator can act on', () => {
  describe('point 14: errors against the direction the connector declares', () => {
    it('an HTTP sink without url is told about url, not about the ingest or oneOf', () => {
      const problems = problemsOf(withConnectors([{ name: 'vendor-rest', type: 'http', direction: 'sink', options: { timeoutMs: 5000 } }]));
      assert.deepEqual(problems, [{ path: 'connectors[0].options.url', expected: 'a value (required)', found: 'nothing' }]);
    });

    it('an HTTP source without auth is told about auth only', () => {
      const problems = problemsOf(withConnectors([{ name: 'ingest', type: 'http', direction: 'source', options: { port: 8443 } }]));
      assert.deepEqual(problems, [{ path: 'connectors[0].options.auth', expected: 'a value (required)', found: 'nothing' }]);
    });

    it('a sink key on an HTTP source is an unknown key of that side', () => {
      const problems = problemsOf(withConnectors([{ name: 'ingest', type: 'http', direction: 'source', options: { port: 8443, auth: { mutualTls: true }, url: 'https://x' } }]));
      assert.deepEqual(problems.map((p) => [p.path, p.expected]), [['connectors[0].options.url', 'no such key (unknown key; check spelling)']]);
    });

    it('an AMQP sink without exchange is told about exchange, not queue', () => {
      const problems = problemsOf(withConnectors([{ name: 'q', type: 'amqp', direction: 'sink', options: { url: 'amqp://mq' } }]));
      assert.deepEqual(problems, [{ path: 'connectors[0].options.exchange', expected: 'a value (required)', found: 'nothing' }]);
      assert.ok(!JSON.stringify(problems).includes('oneOf'));
    });
  });

  describe('point 14: OrganIds in no known form are warned about', () => {
    const warningsFor = (organId: string, extra: Record<string, unknown> = {}) => configWarnings(parseConfig(YAML.stringify({ ...MINIMAL, organId, ...extra })));

    it('warns about "H53" (a bare province code) and an odd shape, naming the key', () => {
      const [h53] = warningsFor('H53');
      assert.equal(h53!.path, 'organId');
      assert.match(h53!.message, /"H53" is in no known OrganId form.*000\.00\.00\.H53/);
      assert.equal(warningsFor('vxp.saas.02')[0]!.path, 'organId');
    });

    it('accepts both known forms without a word', () => {
      for (const id of ['000.00.00.H53', '000.20.31.H53', 'H53.02', 'H37.02.02', 'G09.20']) assert.deepEqual(warningsFor(id), [], id);
    });

    it('looks at partner keys and profile OrganId tables too', () => {
      const text = YAML.stringify({
        ...MINIMAL,
        trust: { ...TRUST, partners: { G22: { policy: 'required' } } },
        connectors: [{ ...MINIMAL.connectors[1], profile: 'json', profileOptions: { organIds: { VPCP: '00.00.G22' } } }],
      });
      const paths = configWarnings(parseConfig(text)).map((w) => w.path);
      assert.deepEqual(paths.sort(), ['connectors[0].profileOptions.organIds.VPCP', 'trust.partners.G22']);
    });

    it('config check prints the warning and still passes', async () => {
      const dir = tempDir();
      const file = path.join(dir, 'agency.yaml');
      fs.writeFileSync(file, YAML.stringify({ ...MINIMAL, organId: 'H53' }));
      const { code, stdout } = await cli(['config', 'check', '--no-files', file]);
      assert.equal(code, 0, stdout);
      assert.match(stdout, /warning {2}organId: "H53" is in no known OrganId form/);
    });
  });

  describe('point 12: a sender with nowhere to put statuses is warned at start', () => {
    it('a source and no sink', () => {
      const text = YAML.stringify({ ...MINIMAL, connectors: [MINIMAL.connectors[0]] });
      const [w] = configWarnings(parseConfig(text));
      assert.equal(w!.path, 'connectors');
      assert.match(w!.message, /no sink: the statuses partners send back .* wait unread in vdxp\.status\.000\.00\.00\.H41/);
    });

    it('an HTTP sink without statusUrl', () => {
      const text = withConnectors([MINIMAL.connectors[0], { name: 'vendor-rest', type: 'http', direction: 'sink', options: { url: 'https://qlvb.example/docs' } }]);
      const [w] = configWarnings(parseConfig(text));
      assert.equal(w!.path, 'connectors[1].options.statusUrl');
      assert.match(w!.message, /no statusUrl: statuses .* are POSTed to its url https:\/\/qlvb\.example\/docs/);
    });

    it('nothing for a sender with a file-drop sink, an HTTP sink with statusUrl, or a receiver only', () => {
      assert.deepEqual(configWarnings(parseConfig(YAML.stringify(MINIMAL))), []);
      const http = withConnectors([MINIMAL.connectors[0], { name: 'r', type: 'http', direction: 'sink', options: { url: 'https://a/d', statusUrl: 'https://a/s' } }]);
      assert.deepEqual(configWarnings(parseConfig(http)), []);
      assert.deepEqual(configWarnings(parseConfig(YAML.stringify({ ...MINIMAL, connectors: [MINIMAL.connectors[1]] }))), []);
    });
  });

  describe('point 18: an environment override null removes a key', () => {
    const sasl = { mechanism: 'SCRAM-SHA-512', username: 'vdxp-h41', passwordFile: '/etc/vdxp/kafka-sasl/password' };

    it('VDXP__KAFKA__SASL=null runs the file without SASL', () => {
      const text = YAML.stringify({ ...MINIMAL, kafka: { ...MINIMAL.kafka, sasl } });
      assert.equal(parseConfig(text, 't', { VDXP__KAFKA__SASL: 'null' }).kafka.sasl, undefined);
      assert.equal(parseConfig(text, 't', { VDXP__KAFKA__SASL: '~' }).kafka.sasl, undefined);
      assert.deepEqual(parseConfig(text, 't', {}).kafka.sasl, sasl);
    });

    it('removing a key that is not there changes nothing and creates nothing', () => {
      const config = parseConfig(YAML.stringify(MINIMAL), 't', { VDXP__KAFKA__TLS__CAFILE: 'null', VDXP__SIGNING: 'null' });
      assert.equal(config.kafka.tls, undefined);
      assert.equal(config.signing, undefined);
    });

    it('a list item cannot be removed one by one, and says so', () => {
      const problems = problemsOf(YAML.stringify(MINIMAL), { VDXP__CONNECTORS__1: 'null' });
      assert.equal(problems[0]!.path, '(environment VDXP__CONNECTORS__1)');
    });

    it('an override that is not YAML is a problem naming the variable, not a crash', () => {
      const problems = problemsOf(YAML.stringify(MINIMAL), { VDXP__KAFKA__BROKERS: '[unclosed' });
      assert.equal(problems[0]!.path, '(environment VDXP__KAFKA__BROKERS)');
    });
  });

  describe('inline secrets get the message that says what to do', () => {
    it('kafka.sasl.password and signing.key', () => {
      const text = YAML.stringify({ ...MINIMAL, kafka: { ...MINIMAL.kafka, sasl: { mechanism: 'PLAIN', username: 'u', password: 'hunter2', passwordFile: '/p' } }, signing: { key: 'x', keyFile: '/k', certFile: '/c' } });
      const problems = problemsOf(text);
      assert.deepEqual(problems.map((p) => p.path), ['kafka.sasl.password', 'signing.key']);
      assert.match(problems[0]!.expected, /no inline secret: put it in a file .* set kafka\.sasl\.passwordFile/);
      assert.ok(!JSON.stringify(problems).includes('hunter2'), 'the secret is not echoed');
    });
  });

  describe('point 3: every referenced file is checked, by the key that names it', () => {
    function fullConfig(dir: string): Record<string, unknown> {
      const f = (name: string) => path.join(dir, name);
      return {
        ...MINIMAL,
        kafka: { brokers: ['k:9093'], tls: { enabled: true, caFile: f('ca.crt'), certFile: f('tls.crt'), keyFile: f('tls.key') }, sasl: { mechanism: 'SCRAM-SHA-512', username: 'u', passwordFile: f('password') } },
        signing: { keyFile: f('sign.key'), certFile: f('sign.crt'), chainFile: f('chain.pem') },
        trust: { anchors: [f('anchor-1.pem'), f('anchor-2.pem')], crls: [f('ca.crl')] },
        connectors: [
          { name: 'ingest', type: 'http', direction: 'source', options: { port: 8443, auth: { hmac: { clients: [{ systemId: 'a', secretFile: f('a.secret') }] } }, tls: { certFile: f('in.crt'), keyFile: f('in.key'), caFile: f('clients.pem') } } },
          { name: 'rest', type: 'http', direction: 'sink', options: { url: 'https://x/d', statusUrl: 'https://x/s', hmac: { systemId: 'b', secretFile: f('b.secret') }, bearerTokenFile: f('token') } },
          { name: 'mq', type: 'amqp', direction: 'sink', options: { url: 'amqp://mq', username: 'u', passwordFile: f('amqp.password'), exchange: 'x' } },
        ],
      };
    }

    it('lists every file key of the config, with its path', () => {
      const dir = tempDir();
      const refs = fileReferences(parseConfig(YAML.stringify(fullConfig(dir)))).map((r) => r.path);
      assert.deepEqual(refs.sort(), [
        'connectors[0].options.auth.hmac.clients[0].secretFile',
        'connectors[0].options.tls.caFile',
        'connectors[0].options.tls.certFile',
        'connectors[0].options.tls.keyFile',
        'connectors[1].options.bearerTokenFile',
        'connectors[1].options.hmac.secretFile',
        'connectors[2].options.passwordFile',
        'kafka.sasl.passwordFile',
        'kafka.tls.caFile',
        'kafka.tls.certFile',
        'kafka.tls.keyFile',
        'signing.certFile',
        'signing.chainFile',
        'signing.keyFile',
        'trust.anchors[0]',
        'trust.anchors[1]',
        'trust.crls[0]',
      ]);
    });

    it('reports a missing secret file, a folder where a file should be and an empty secret; passes when all are there', () => {
      const dir = tempDir();
      const config = parseConfig(YAML.stringify(fullConfig(dir)));
      for (const r of fileReferences(config)) fs.writeFileSync(r.file, 'content\n');
      assert.deepEqual(checkReferencedFiles(config), []);
      fs.rmSync(path.join(dir, 'a.secret'));
      fs.rmSync(path.join(dir, 'ca.crl'));
      fs.mkdirSync(path.join(dir, 'ca.crl'));
      fs.writeFileSync(path.join(dir, 'password'), ' \n');
      const byPath = (a: ConfigProblem, b: ConfigProblem) => a.path.localeCompare(b.path);
      assert.deepEqual(checkReferencedFiles(config).sort(byPath), [
        { path: 'connectors[0].options.auth.hmac.clients[0].secretFile', expected: 'a readable, non-empty file', found: `${path.join(dir, 'a.secret')}, which does not exist` },
        { path: 'kafka.sasl.passwordFile', expected: 'a readable, non-empty file', found: `${path.join(dir, 'password')}, which is empty` },
        { path: 'trust.crls[0]', expected: 'a readable file', found: `${path.join(dir, 'ca.crl')}, which is a directory` },
      ]);
    });

    it('config check fails on a missing secretFile (exit 1, the key named), and --no-files skips the files', async () => {
      const dir = tempDir();
      const file = path.join(dir, 'agency.yaml');
      const config = fullConfig(dir);
      fs.writeFileSync(file, YAML.stringify(config));
      for (const r of fileReferences(parseConfig(YAML.stringify(config)))) if (!r.file.endsWith('a.secret')) fs.writeFileSync(r.file, 'x');
      const checked = await cli(['config', 'check', file, '--json']);
      assert.equal(checked.code, 1);
      assert.deepEqual(JSON.parse(checked.stdout).problems.map((p: ConfigProblem) => p.path), ['connectors[0].options.auth.hmac.clients[0].secretFile']);
      const text = await cli(['config', 'check', file]);
      assert.match(text.stdout, /connectors\[0\]\.options\.auth\.hmac\.clients\[0\]\.secretFile: expected a readable, non-empty file, found .*a\.secret, which does not exist/);
      const skipped = await cli(['config', 'check', file, '--no-files']);
      assert.equal(skipped.code, 0, skipped.stdout);
      assert.match(skipped.stdout, /files not checked/);
    });

    it('reports a file this user cannot read (run as an unprivileged user)', function () {
      const dir = tempDir();
      fs.chmodSync(dir, 0o755);
      const secret = path.join(dir, 'a.secret');
      fs.writeFileSync(secret, 'shared-secret', { mode: 0o600 });
      const file = path.join(dir, 'agency.yaml');
      const trust = { anchors: [path.join(dir, 'ca.pem')], crls: [path.join(dir, 'ca.crl')] };
      for (const f of [...trust.anchors, ...trust.crls]) fs.writeFileSync(f, 'public', { mode: 0o644 });
      fs.writeFileSync(file, withConnectors([{ name: 'ingest', type: 'http', direction: 'source', options: { port: 8443, allowPlainHttp: true, auth: { hmac: { clients: [{ systemId: 'a', secretFile: secret }] } } } }], { trust }), { mode: 0o644 });
      const cliPath = path.join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js');
      const asRoot = process.getuid?.() === 0;
      if (!asRoot) fs.chmodSync(secret, 0o000);
      const args = [process.execPath, cliPath, 'config', 'check', file, '--json'];
      const result = asRoot ? spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', ...args], { encoding: 'utf8' }) : spawnSync(args[0]!, args.slice(1), { encoding: 'utf8' });
      if (result.error || (asRoot && /Permission denied|cannot/i.test(result.stderr) && !result.stdout)) this.skip();
      assert.equal(result.status, 1, result.stdout + result.stderr);
      const [problem] = JSON.parse(result.stdout).problems;
      assert.equal(problem.path, 'connectors[0].options.auth.hmac.clients[0].secretFile');
      assert.match(problem.found, /which this process cannot read \(user \d+/);
    });

    it('config check --configmap reads the agency.yaml of a rendered ConfigMap, from a file or stdin', async () => {
      const dir = tempDir();
      const manifest = path.join(dir, 'configmap.yaml');
      fs.writeFileSync(manifest, `---\n# Source: vdxp-connector/templates/configmap.yaml\n${YAML.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' }, data: { 'agency.yaml': YAML.stringify(MINIMAL) } })}`);
      const { code, stdout } = await cli(['config', 'check', '--configmap', '--no-files', manifest]);
      assert.equal(code, 0, stdout);
      assert.match(stdout, /ok \(agency 000\.00\.00\.H41, 2 connectors; files not checked\)/);
      const cliPath = path.join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js');
      const piped = spawnSync(process.execPath, [cliPath, 'config', 'check', '--configmap', '--no-files', '-'], { input: fs.readFileSync(manifest), encoding: 'utf8', cwd: os.tmpdir() });
      assert.equal(piped.status, 0, piped.stdout + piped.stderr);
    });
  });
});
