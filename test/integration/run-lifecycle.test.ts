/**
 * Issue 16, a real `vdxp run` process from start to exit:
 * - point 3: a secret file that is missing stops the start before anything touches Kafka, with
 *   the config path of the key, exit code 1 and no stack trace;
 * - point 4: after SIGTERM, while work in flight drains, the ops port stays open and /readyz
 *   answers 503 ("draining"), never "connection refused"; once the drain is done the process
 *   exits at once, not when delivery.drainTimeoutMs runs out.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import * as YAML from 'yaml';
import { spawn } from 'node:child_process';
import { TEST_BROKERS, uniqueOrganId, waitFor, writeHttpSinkAgencyConfig } from '../support/agency';
import { REPO_ROOT } from '../support/paths';
import { pickPort } from '../support/ports';
import { makeTestPki } from '../support/pki';
import { makeEdoc } from '../support/packages';
import { FaultLegacyServer } from '../support/fault-legacy-server';
import { ReceiverProcess } from '../support/fault-process';
import { BackboneProducer } from '../../src/broker/producer';
import { commonClientConfig } from '../../src/broker/client-config';
import { docsTopic, HEADERS, ownTopics } from '../../src/broker/topics';
import { readPackageFacts } from '../../src/pipeline/package-facts';
import { withDefaults } from '../../src/limits';

type Probe = { status: number; draining?: boolean } | { error: string };

function scrape(port: number): Promise<string> {
  return new Promise<string>((resolve, reject) =>
    http
      .get({ host: '127.0.0.1', port, path: '/metrics' }, (res) => {
        let text = '';
        res.on('data', (c) => (text += c));
        res.on('end', () => resolve(text));
      })
      .on('error', reject),
  );
}

function probeReadyz(port: number): Promise<Probe> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/readyz', timeout: 2_000 }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => {
        try {
          resolve({ status: res.statusCode ?? 0, draining: (JSON.parse(body) as { draining?: boolean }).draining });
        } catch {
          resolve({ status: res.statusCode ?? 0 });
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (err: NodeJS.ErrnoException) => resolve({ error: err.code ?? err.message }));
  });
}

describe('vdxp run: refuses a config that cannot work before joining anything; exits when the drain is done', function () {
  this.timeout(120_000);
  const legacy = new FaultLegacyServer();
  let producer: BackboneProducer;
  let receiver: ReceiverProcess | undefined;

  before(async () => {
    await legacy.up();
    producer = new BackboneProducer(commonClientConfig({ brokers: [TEST_BROKERS] }, 'vdxp-test-shutdown-exit'));
    await producer.connect();
  });
  after(async () => {
    await receiver?.kill('SIGKILL');
    await producer.disconnect();
    await legacy.down();
  });

  it('answers 503 draining during the drain and exits right after it, long before drainTimeoutMs', async () => {
    const base = fs.mkdtempSync(path.join(os.tmpdir(), 'vdxp-shutdown-exit-'));
    const organId = uniqueOrganId('G22');
    // A long drain budget: a process that waits for the budget instead of the drain is obvious.
    const drainTimeoutMs = 90_000;
    const configPath = writeHttpSinkAgencyConfig(base, { organId, brokers: TEST_BROKERS, sinkUrl: legacy.url, delivery: { maxInFlight: 4, drainTimeoutMs, breaker: { timeoutMs: 60_000 } } });
    receiver = await ReceiverProcess.start(configPath, path.join(base, 'receiver.log'));
    const running = receiver.ownLog().split('\n').find((l) => l.includes('"msg":"connector running"'))!;
    const opsPort = (JSON.parse(running) as { opsPort: number }).opsPort;

    // Consumer lag is reported every 15 s for the partitions this process holds.
    await waitFor(async () => /^vdxp_kafka_consumer_lag_messages\{topic="vdxp\.docs\./m.test(await scrape(opsPort)), 40_000, 'the consumer lag series');

    legacy.delayMs = 3_000; // each delivery takes 3 s: SIGTERM comes while four are in flight
    for (let i = 1; i <= 4; i++) {
      const doc = makeEdoc({ from: '000.00.00.H41', to: [organId], number: i });
      const id = readPackageFacts(doc, withDefaults()).documentId;
      await producer.send({ topic: docsTopic(organId), key: id, value: doc, headers: { [HEADERS.kind]: 'edoc' } });
    }
    await waitFor(() => legacy.concurrent >= 1, 30_000, 'a delivery in flight');
    assert.deepEqual(await probeReadyz(opsPort), { status: 200, draining: false });
    // docs/MONITORING.md: breaker, lag and pending series are wired (they once were not).
    const exposition = await scrape(opsPort);
    assert.match(exposition, /^vdxp_breaker_state\{sink="legacy-http",state="closed"\} 1$/m);
    assert.match(exposition, /^vdxp_undelivered_documents\{counterpart="000\.00\.00\.H41"\} [1-4]$/m);
    assert.match(exposition, /^vdxp_oldest_undelivered_document_age_seconds\{counterpart="000\.00\.00\.H41"\} /m);

    const exited = new Promise<number>((resolve) => receiver!.child.once('exit', () => resolve(Date.now())));
    let exitedAt: number | undefined;
    void exited.then((t) => (exitedAt = t));
    const signalledAt = Date.now();
    receiver.child.kill('SIGTERM');

    const probes: Probe[] = [];
    while (exitedAt === undefined) {
      probes.push(await probeReadyz(opsPort));
      await new Promise((r) => setTimeout(r, 100));
    }
    const log = receiver.ownLog();
    const stoppedLine = log.split('\n').find((l) => l.includes('"msg":"stopped"'));
    assert.ok(stoppedLine, `the drain finished (log: ${log.slice(-2000)})`);
    const stoppedAt = Date.parse((JSON.parse(stoppedLine) as { time: string }).time);
    const lingerMs = exitedAt - stoppedAt;
    assert.ok(lingerMs < 10_000, `the process lived on ${lingerMs} ms after "stopped"`);
    assert.ok(exitedAt - signalledAt < drainTimeoutMs / 2, `exited ${exitedAt - signalledAt} ms after SIGTERM (drain budget ${drainTimeoutMs} ms)`);
    assert.equal(receiver.child.exitCode, 0, 'a clean exit');

    // Until it exited, every probe got an answer: 503 with draining once SIGTERM arrived.
    const refusedBeforeStop = probes.filter((p, i) => 'error' in p && i < probes.length - 2);
    assert.deepEqual(refusedBeforeStop, [], `probes during the drain: ${JSON.stringify(probes)}`);
    const answered = probes.filter((p): p is { status: number; draining?: boolean } => 'status' in p);
    assert.ok(answered.length > 0, 'at least one probe during the drain');
    for (const p of answered) assert.deepEqual([p.status, p.draining], [503, true]);
    assert.ok(legacy.unique.size >= 1, 'the work in flight was delivered');
  });

  it('a missing secretFile stops the start before Kafka is touched: the key path, exit 1, no stack trace', async () => {
    const pki = await makeTestPki();
    const base = fs.mkdtempSync(path.join(os.tmpdir(), 'vdxp-run-missing-'));
    const organId = uniqueOrganId('H53');
    const configPath = path.join(base, 'agency.yaml');
    fs.writeFileSync(
      configPath,
      YAML.stringify({
        organId,
        kafka: { brokers: [TEST_BROKERS], topics: { partitions: 1, replicationFactor: 1 } },
        trust: { anchors: [pki.rootCaPath], crls: [pki.crlPath] },
        connectors: [
          { name: 'vendor-ingest', type: 'http', direction: 'source', profile: 'json', options: { host: '127.0.0.1', port: pickPort(), allowPlainHttp: true, auth: { hmac: { clients: [{ systemId: 'qlvb', secretFile: path.join(base, 'missing.secret') }] } } } },
          { name: 'inbox', type: 'file-drop', direction: 'sink', options: { dir: path.join(base, 'inbox') } },
        ],
        ops: { port: pickPort(), host: '127.0.0.1' },
      }),
    );
    const child = spawn(process.execPath, [path.join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js'), 'run', '--config', configPath], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c) => (output += c));
    child.stderr.on('data', (c) => (output += c));
    const code = await new Promise<number | null>((resolve) => {
      const timer = setTimeout(() => (child.kill('SIGKILL'), resolve(-1)), 30_000);
      child.once('exit', (c) => (clearTimeout(timer), resolve(c)));
    });
    assert.equal(code, 1, `exit code (output: ${output})`);
    assert.match(output, /connectors\[0\]\.options\.auth\.hmac\.clients\[0\]\.secretFile: expected a readable, non-empty file, found .*missing\.secret, which does not exist/);
    assert.doesNotMatch(output, /^\s+at /m, 'no stack trace');
    // Nothing of this agency reached the backbone: no topics created, so no group joined either.
    for (const topic of ownTopics(organId)) assert.equal(await producer.topicExists(topic), false, `${topic} was created`);
  });
});
