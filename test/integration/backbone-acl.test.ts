/**
 * Least privilege on the backbone (docs/SECURITY.md; issue 13 hole 9): a real broker with the
 * KRaft StandardAuthorizer, deny by default, one SCRAM principal per agency and a super user for
 * the backbone operator. Its ACLs are set by `vdxp backbone acl --apply` itself, the command that
 * prints what docs/OPERATIONS.md lists, so the docs, the command and this test cannot drift.
 * A document still crosses H41 → G22 with status 01 back; H41's principal cannot read G22's
 * topics, join G22's group, write G22's dead-letter topic or create topics for another agency,
 * and the connector says so clearly instead of hanging.
 */
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AgencyProcess, deliveredFiles, dropPackage, prepareAgency, uniqueOrganId, waitFor, type AgencyDirs } from '../support/agency';
import { freePort, makeBrokerTls, startSecureBroker, type BrokerTls, type SecureBroker } from '../support/broker-tls';
import { makeEdoc } from '../support/packages';
import { REPO_ROOT } from '../support/paths';
import { agencyAcls } from '../../src/broker/acls';
import { ensureTopics } from '../../src/broker/admin';
import { BackboneConsumer } from '../../src/broker/consumer';
import { BackboneProducer } from '../../src/broker/producer';
import { TopicReader } from '../../src/broker/topic-reader';
import { commonClientConfig } from '../../src/broker/client-config';
import { deadLetterTopic, docsTopic, statusTopic } from '../../src/broker/topics';
import { isAuthorizationError } from '../../src/broker/authorization';

const MECHANISM = 'SCRAM-SHA-512';
const CLI = path.join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js');

interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

function vdxp(args: string[], timeoutMs = 90_000): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', reject);
    child.once('exit', (code) => (clearTimeout(timer), resolve({ code, stdout, stderr })));
  });
}

async function getJson(port: number, urlPath: string): Promise<{ status: number; body: { checks?: Array<{ name: string; ok: boolean; detail?: string }> } }> {
  const res = await fetch(`http://127.0.0.1:${port}${urlPath}`, { signal: AbortSignal.timeout(8_000) });
  return { status: res.status, body: (await res.json()) as never };
}

/** Settles within `ms` or fails the test: a refusal must be seen, not waited for forever. */
function within<T>(ms: number, what: string, work: Promise<T>): Promise<T> {
  return Promise.race([work, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms (a hang)`)), ms))]);
}

describe('least privilege on the backbone: StandardAuthorizer, one SCRAM principal per agency, ACLs from `vdxp backbone acl`', function () {
  this.timeout(120_000);
  const passwords = { 'vdxp-admin': randomBytes(12).toString('hex'), 'vdxp-h41': randomBytes(12).toString('hex'), 'vdxp-g22': randomBytes(12).toString('hex') };
  const h41 = uniqueOrganId('H41');
  const g22 = uniqueOrganId('G22');
  const elsewhere = uniqueOrganId('X99');
  let base: string;
  let tls: BrokerTls;
  let broker: SecureBroker | undefined;
  let adminProperties: string;
  const running: AgencyProcess[] = [];
  let failed = false;
  const agencies: Record<string, { dirs: AgencyDirs; opsPort: number }> = {};

  function passwordFile(user: keyof typeof passwords): string {
    const file = path.join(base, `${user}.password`);
    if (!fs.existsSync(file)) fs.writeFileSync(file, `${passwords[user]}\n`, { mode: 0o600 });
    return file;
  }

  function kafkaSection(user: keyof typeof passwords, extra: Record<string, unknown> = {}) {
    return {
      brokers: [broker!.bootstrap],
      tls: { enabled: true, caFile: tls.caFile },
      sasl: { mechanism: MECHANISM, username: user, passwordFile: passwordFile(user) },
      topics: { partitions: 1, replicationFactor: 1 },
      ...extra,
    };
  }

  /** The project's client settings for `user`, as the connector builds them. */
  function clientAs(user: keyof typeof passwords) {
    return commonClientConfig(kafkaSection(user) as never, `acl-test-${user}`);
  }

  async function prepare(name: string, organId: string, user: keyof typeof passwords, extra: { kafka?: Record<string, unknown> } = {}): Promise<{ dirs: AgencyDirs; opsPort: number }> {
    const opsPort = await freePort();
    const dirs = prepareAgency(path.join(base, name), organId, { kafka: kafkaSection(user, extra.kafka), ops: { port: opsPort, host: '127.0.0.1' } });
    return { dirs, opsPort };
  }

  async function start(agency: { dirs: AgencyDirs }, waitUntilRunning = true): Promise<AgencyProcess> {
    const p = await AgencyProcess.start(agency.dirs, {}, { waitUntilRunning });
    running.push(p);
    return p;
  }

  before(async function () {
    this.timeout(240_000);
    base = fs.mkdtempSync(path.join(os.tmpdir(), 'vdxp-acl-'));
    tls = await makeBrokerTls(path.join(base, 'tls'));
    broker = await startSecureBroker({ tls, users: passwords, runDir: path.join(base, 'run'), mechanism: MECHANISM, authorizer: { superUsers: ['vdxp-admin'] } });
    adminProperties = path.join(base, 'admin.properties');
    fs.writeFileSync(
      adminProperties,
      [
        'security.protocol=SASL_SSL',
        `sasl.mechanism=${MECHANISM}`,
        `sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="vdxp-admin" password="${passwords['vdxp-admin']}";`,
        'ssl.truststore.type=PEM',
        `ssl.truststore.location=${tls.caFile}`,
        '',
      ].join('\n'),
      { mode: 0o600 },
    );
    agencies.h41 = await prepare('h41', h41, 'vdxp-h41');
    agencies.g22 = await prepare('g22', g22, 'vdxp-g22');
  });

  afterEach(function () {
    failed ||= this.currentTest?.state === 'failed';
  });

  after(async function () {
    this.timeout(60_000);
    await Promise.allSettled(running.splice(0).map((p) => p.stop()));
    await broker?.stop();
    if (!base) return;
    if (failed) console.log(`      connector logs and broker data kept in ${base}`);
    else fs.rmSync(base, { recursive: true, force: true });
  });

  it('the broker denies by default: without ACLs an agency principal cannot even create its own topics', async () => {
    const properties = fs.readFileSync(broker!.propertiesFile, 'utf8');
    assert.match(properties, /^authorizer\.class\.name=org\.apache\.kafka\.metadata\.authorizer\.StandardAuthorizer$/m);
    assert.match(properties, /^allow\.everyone\.if\.no\.acl\.found=false$/m);
    assert.match(properties, /^super\.users=User:kafka-broker;User:kafka-controller;User:vdxp-admin$/m);
    const refused = await within(30_000, 'create without ACLs', ensureTopics(clientAs('vdxp-h41'), [docsTopic(h41)], { partitions: 1, replicationFactor: 1 }).then(() => undefined, (err: Error) => err));
    assert.ok(refused instanceof Error && isAuthorizationError(refused), `expected an authorization error, got ${refused}`);
  });

  it('`vdxp backbone acl --apply` grants each agency exactly the listed ACLs, and a second run finds them all present', async function () {
    this.timeout(240_000);
    for (const [organId, config, partner] of [[h41, agencies.h41!.dirs.configPath, g22], [g22, agencies.g22!.dirs.configPath, h41]] as const) {
      const applied = await vdxp(['backbone', 'acl', organId, '--config', config, '--partners', partner, '--apply', '--bootstrap-server', broker!.bootstrap, '--command-config', adminProperties], 120_000);
      assert.equal(applied.code, 0, applied.stderr + applied.stdout);
      const expected = agencyAcls(organId, { username: organId === h41 ? 'vdxp-h41' : 'vdxp-g22', partners: [partner] });
      assert.equal(applied.stdout.split('\n').filter((l) => l.startsWith('added\t')).length, expected.length, applied.stdout);
    }
    const again = await vdxp(['backbone', 'acl', h41, '--config', agencies.h41!.dirs.configPath, '--partners', g22, '--apply', '--prune', '--bootstrap-server', broker!.bootstrap, '--command-config', adminProperties], 120_000);
    assert.equal(again.code, 0, again.stderr);
    const lines = again.stdout.trim().split('\n');
    assert.ok(lines.every((l) => l.startsWith('present\t')), again.stdout);
    assert.equal(lines.length, agencyAcls(h41, { username: 'vdxp-h41', partners: [g22] }).length);
  });

  it('with exactly those ACLs a document crosses H41 → G22, status 01 comes back, and G22 reads its own dead letters', async function () {
    this.timeout(180_000);
    const g22Process = await start(agencies.g22!);
    await start(agencies.h41!);
    const bytes = makeEdoc({ from: h41, to: [g22], number: 1 });
    dropPackage(agencies.h41!.dirs.outbox, 'cong-van-1.edxml', bytes);
    await waitFor(() => deliveredFiles(agencies.g22!.dirs.inbox).length === 1, 60_000, 'the document in G22’s inbox');
    assert.deepEqual(fs.readFileSync(path.join(agencies.g22!.dirs.inbox, deliveredFiles(agencies.g22!.dirs.inbox)[0]!)), bytes);
    await waitFor(() => deliveredFiles(agencies.h41!.dirs.inbox).some((f) => f.includes('.status-01.')), 60_000, 'status 01 in H41’s inbox');
    for (const a of [agencies.h41!, agencies.g22!]) assert.equal((await getJson(a.opsPort, '/readyz')).status, 200);

    // H41 may write G22's docs topic: what it writes there and G22 can never deliver lands in G22's dead-letter topic.
    const producer = new BackboneProducer(clientAs('vdxp-h41'));
    await producer.connect();
    try {
      await producer.send({ topic: docsTopic(g22), key: 'not-xml', value: Buffer.from('this is not edXML'), headers: {} });
    } finally {
      await producer.disconnect();
    }
    await waitFor(() => /dead-letter/i.test(g22Process.logText()) && /malformed-xml/.test(g22Process.logText()), 60_000, 'G22 to dead-letter the malformed record');
    const list = await vdxp(['dlq', 'list', '--config', agencies.g22!.dirs.configPath, '--json']);
    assert.equal(list.code, 0, list.stderr);
    const rows = JSON.parse(list.stdout) as Array<{ reason: string }>;
    assert.deepEqual(rows.map((r) => r.reason), ['malformed-xml'], 'G22 reads its own dead-letter topic (Read on vdxp.dlq.<OrganId>)');
  });

  describe("H41's principal is refused what belongs to G22, at once and with the broker's reason", () => {
    it('cannot read G22’s topics', async () => {
      // H41 may write to G22's status topic (not read it): put a record there, so there is something to read.
      const producer = new BackboneProducer(clientAs('vdxp-h41'));
      await producer.connect();
      await producer.send({ topic: statusTopic(g22), key: 'probe', value: Buffer.from('probe'), headers: {} }).finally(() => producer.disconnect());
      for (const topic of [docsTopic(g22), statusTopic(g22), deadLetterTopic(g22)]) {
        const reader = new TopicReader(clientAs('vdxp-h41'), `vdxp.${h41}`);
        await reader.connect();
        try {
          const refused = await within(45_000, `reading ${topic}`, reader.readAll(topic).then(() => undefined, (err: Error) => err));
          assert.ok(refused instanceof Error, `${topic} was readable`);
          assert.match(refused.message, /authoriz|not visible/i, `${topic}: ${refused.message}`);
        } finally {
          await reader.disconnect();
        }
      }
    });

    it('cannot join G22’s consumer group', async () => {
      const errors: Error[] = [];
      const consumer = new BackboneConsumer(clientAs('vdxp-h41'), { groupId: `vdxp.${g22}`, topics: [docsTopic(h41)], onConsumeError: (err) => errors.push(err) });
      await consumer.connect();
      consumer.start(async () => undefined);
      try {
        await waitFor(() => errors.some(isAuthorizationError), 45_000, () => `a group authorization error (saw: ${errors.map((e) => e.message).join('; ')})`);
        assert.match(errors.find(isAuthorizationError)!.message, /group authorization failed/i);
        assert.equal(await consumer.waitForAssignment(1_000), false, 'no partition of the group was assigned');
      } finally {
        await consumer.stop(5_000);
      }
    });

    it('cannot write to G22’s dead-letter topic', async () => {
      const producer = new BackboneProducer(clientAs('vdxp-h41'));
      await producer.connect();
      try {
        const refused = await within(45_000, 'the dead-letter write', producer.send({ topic: deadLetterTopic(g22), key: 'forged', value: Buffer.from('forged dead letter'), headers: {} }).then(() => undefined, (err: Error) => err));
        assert.ok(refused instanceof Error && isAuthorizationError(refused), `expected an authorization error, got ${refused}`);
      } finally {
        await producer.disconnect();
      }
    });

    it('cannot create topics for another agency', async () => {
      for (const topic of [docsTopic(elsewhere), deadLetterTopic(elsewhere), statusTopic(g22)]) {
        const refused = await within(30_000, `creating ${topic}`, ensureTopics(clientAs('vdxp-h41'), [topic], { partitions: 1, replicationFactor: 1 }).then(() => undefined, (err: Error) => err));
        assert.ok(refused instanceof Error && isAuthorizationError(refused), `${topic}: expected an authorization error, got ${refused}`);
      }
    });
  });

  describe('a connector run with the wrong principal stays up, not ready, and names the refusal', () => {
    async function expectRefusal(agency: { dirs: AgencyDirs; opsPort: number }, process: AgencyProcess, logLine: RegExp): Promise<void> {
      await waitFor(() => logLine.test(process.logText()), 60_000, () => `a log line matching ${logLine} (log: ${agency.dirs.logPath})`, () => !process.isAlive());
      let last: Awaited<ReturnType<typeof getJson>> | undefined;
      await waitFor(
        async () => {
          last = await getJson(agency.opsPort, '/readyz').catch(() => undefined);
          return last?.status === 503 && (last.body.checks ?? []).some((c) => !c.ok && /not authorized/.test(c.detail ?? ''));
        },
        30_000,
        () => `/readyz 503 naming the refusal (last: ${JSON.stringify(last?.body)})`,
      );
      assert.ok(process.isAlive());
      assert.equal((await getJson(agency.opsPort, '/healthz')).status, 200, 'the ops server answers: no hang');
      assert.ok(!process.logText().includes(passwords['vdxp-h41']), 'the password never reaches the log');
    }

    it('H41’s credentials in a connector configured as G22: creating G22’s topics is refused', async () => {
      const impostor = await prepare('impostor', g22, 'vdxp-h41');
      const p = await start(impostor, false);
      await expectRefusal(impostor, p, /cannot connect to Kafka: creating topic vdxp\.dlq\.\S+: Authorization failed.*not authorized: an ACL of the backbone refuses this to principal User:vdxp-h41/);
    });

    it('H41’s connector told to use G22’s consumer group: the join is refused', async () => {
      const wrongGroup = await prepare('wrong-group', h41, 'vdxp-h41', { kafka: { consumerGroup: `vdxp.${g22}` } });
      const p = await start(wrongGroup, false);
      await expectRefusal(wrongGroup, p, /consume failed: .*Group authorization failed.*not authorized/i);
    });

    it('`vdxp dlq list` of G22’s dead letters with H41’s credentials exits 1 saying why', async () => {
      const impostor = await prepare('impostor-dlq', g22, 'vdxp-h41');
      const run = await vdxp(['dlq', 'list', '--config', impostor.dirs.configPath], 60_000);
      assert.equal(run.code, 1, run.stdout + run.stderr);
      assert.match(run.stderr, /vdxp\.dlq\.\S+ does not exist or is not visible to principal User:vdxp-h41|authorization failed/i);
    });
  });
});
