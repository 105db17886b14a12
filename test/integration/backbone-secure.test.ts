/**
 * Decision 28/2018: every connection between an agency's system and the axis is encrypted and
 * authenticated. A real broker whose only client listener is SASL_SSL (SCRAM users created when
 * its storage is formatted, certificate from a CA made for this run) carries a document between
 * two connectors; a wrong password or an untrusted broker certificate shows up in /readyz and in
 * the log, while the process stays up and answers.
 */
import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AgencyProcess, deliveredFiles, prepareAgency, uniqueOrganId, waitFor, type AgencyDirs } from '../support/agency';
import { freePort, makeBrokerTls, startSecureBroker, type BrokerTls, type SecureBroker } from '../support/broker-tls';
import { makeEdoc } from '../support/packages';

const MECHANISM = 'SCRAM-SHA-512';

interface Probe {
  status: number;
  body: { ready?: boolean; checks?: Array<{ name: string; ok: boolean; detail?: string }> };
}

async function getJson(port: number, urlPath: string): Promise<Probe> {
  const res = await fetch(`http://127.0.0.1:${port}${urlPath}`, { signal: AbortSignal.timeout(8_000) });
  return { status: res.status, body: (await res.json()) as Probe['body'] };
}

function kafkaCheckDetail(probe: Probe): string {
  return probe.body.checks?.find((c) => c.name === 'kafka')?.detail ?? '';
}

describe('encrypted, authenticated backbone: SASL_SSL with SCRAM against the real broker', function () {
  this.timeout(60_000);
  const users = { 'vdxp-a': randomBytes(12).toString('hex'), 'vdxp-b': randomBytes(12).toString('hex') };
  let base: string;
  let tls: BrokerTls;
  let broker: SecureBroker | undefined;
  const running: AgencyProcess[] = [];

  before(async function () {
    this.timeout(150_000);
    base = fs.mkdtempSync(path.join(os.tmpdir(), 'vdxp-secure-'));
    tls = await makeBrokerTls(path.join(base, 'tls'));
    broker = await startSecureBroker({ tls, users, runDir: path.join(base, 'run'), mechanism: MECHANISM });
  });

  let failed = false;
  afterEach(function () {
    failed ||= this.currentTest?.state === 'failed';
  });

  after(async function () {
    this.timeout(60_000);
    await Promise.all(running.splice(0).map((p) => p.stop()));
    await broker?.stop();
    if (!base) return;
    if (failed) console.log(`      connector logs and broker data kept in ${base}`);
    else fs.rmSync(base, { recursive: true, force: true });
  });

  /** An agency whose `kafka:` section goes through the SASL_SSL listener; the password sits in a file, as the chart mounts it. */
  async function prepareSecureAgency(suffix: string, credentials: { username: string; password: string; caFile: string }): Promise<{ dirs: AgencyDirs; opsPort: number }> {
    const organId = uniqueOrganId(suffix);
    const passwordFile = path.join(base, `${organId}.password`);
    fs.writeFileSync(passwordFile, `${credentials.password}\n`, { mode: 0o600 });
    const opsPort = await freePort();
    const dirs = prepareAgency(base, organId, {
      kafka: {
        brokers: [broker!.bootstrap],
        tls: { enabled: true, caFile: credentials.caFile },
        sasl: { mechanism: MECHANISM, username: credentials.username, passwordFile },
        topics: { partitions: 1, replicationFactor: 1 },
      },
      ops: { port: opsPort, host: '127.0.0.1' },
    });
    return { dirs, opsPort };
  }

  async function start(dirs: AgencyDirs, waitUntilRunning = true): Promise<AgencyProcess> {
    const p = await AgencyProcess.start(dirs, {}, { waitUntilRunning });
    running.push(p);
    return p;
  }

  it('the broker offers no plaintext listener: its only client listener is SASL_SSL', () => {
    const serverProperties = fs.readFileSync(path.join(base, 'run', `kafka-${broker!.bootstrap.split(':')[1]}`, 'server.properties'), 'utf8');
    const listeners = /^listeners=(.*)$/m.exec(serverProperties)?.[1] ?? '';
    assert.deepEqual(
      listeners.split(',').filter((l) => !l.startsWith('CONTROLLER://')),
      [`SASL_SSL://${broker!.bootstrap}`],
    );
  });

  it('with the right CA and SCRAM passwords, a document crosses from A to B and both are ready', async function () {
    this.timeout(90_000);
    const a = await prepareSecureAgency('SA', { username: 'vdxp-a', password: users['vdxp-a'], caFile: tls.caFile });
    const b = await prepareSecureAgency('SB', { username: 'vdxp-b', password: users['vdxp-b'], caFile: tls.caFile });
    await start(b.dirs);
    await start(a.dirs);

    const bytes = makeEdoc({ from: a.dirs.organId, to: [b.dirs.organId], number: 1 });
    fs.writeFileSync(path.join(a.dirs.outbox, '.cong-van-1.part'), bytes);
    fs.renameSync(path.join(a.dirs.outbox, '.cong-van-1.part'), path.join(a.dirs.outbox, 'cong-van-1.edxml'));
    await waitFor(() => deliveredFiles(b.dirs.inbox).length === 1, 30_000, 'the document in B’s inbox');
    assert.deepEqual(fs.readFileSync(path.join(b.dirs.inbox, deliveredFiles(b.dirs.inbox)[0])), bytes, 'delivered byte for byte');

    for (const { opsPort } of [a, b]) {
      const ready = await getJson(opsPort, '/readyz');
      assert.equal(ready.status, 200, JSON.stringify(ready.body));
      assert.equal(ready.body.ready, true);
    }
  });

  describe('a misconfigured connector stays up, not ready, and says why', () => {
    let wrongPassword: { dirs: AgencyDirs; opsPort: number; process: AgencyProcess };
    let untrustedBroker: { dirs: AgencyDirs; opsPort: number; process: AgencyProcess };
    const badPassword = `not-${users['vdxp-a']}`;

    // Both start together: each needs one full connect timeout before its first log line.
    before(async () => {
      const w = await prepareSecureAgency('WP', { username: 'vdxp-a', password: badPassword, caFile: tls.caFile });
      const u = await prepareSecureAgency('UC', { username: 'vdxp-a', password: users['vdxp-a'], caFile: tls.untrustedCaFile });
      wrongPassword = { ...w, process: await start(w.dirs, false) };
      untrustedBroker = { ...u, process: await start(u.dirs, false) };
    });

    async function expectNotReadyBecause(agency: { opsPort: number; process: AgencyProcess; dirs: AgencyDirs }, cause: RegExp): Promise<void> {
      const startedAt = Date.now();
      let last: Probe | undefined;
      await waitFor(
        async () => {
          last = await getJson(agency.opsPort, '/readyz').catch(() => undefined);
          return last?.status === 503 && cause.test(kafkaCheckDetail(last));
        },
        20_000,
        () => `/readyz to name ${cause} (last answer: ${JSON.stringify(last?.body)}; log: ${agency.dirs.logPath})`,
        () => !agency.process.isAlive(),
      );
      assert.equal(last!.body.ready, false);

      const logLine = new RegExp(`cannot connect to Kafka: .*${cause.source}`, 'i');
      await waitFor(() => logLine.test(agency.process.logText()), Math.max(5_000, 25_000 - (Date.now() - startedAt)), `a log line matching ${logLine}`, () => !agency.process.isAlive());

      assert.ok(agency.process.isAlive(), 'the process keeps running and retrying');
      const health = await getJson(agency.opsPort, '/healthz');
      assert.equal(health.status, 200, 'the ops server still answers: no hang');
      assert.equal((await getJson(agency.opsPort, '/readyz')).status, 503, 'still not ready');
    }

    it('a wrong SCRAM password: /readyz 503 naming the authentication failure, a clear log line', async function () {
      this.timeout(40_000);
      await expectNotReadyBecause(wrongPassword, /authentication/i);
      assert.ok(!wrongPassword.process.logText().includes(badPassword), 'the password never reaches the log');
    });

    it('a broker certificate from a CA the connector does not trust: /readyz 503 naming certificate verification', async function () {
      this.timeout(40_000);
      await expectNotReadyBecause(untrustedBroker, /certificate verify failed/i);
    });
  });
});
