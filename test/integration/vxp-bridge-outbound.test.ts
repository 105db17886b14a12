/**
 * The bridge's outbound route, on real Kafka: agency A is on two backbones. On the "axis" (a second
 * Kafka started by this test), A's account is connector B, which serves the VXP API
 * (src/connectors/vxp) with A's OrganId, and agency C exists there only. On A's own backbone, A's
 * connector runs a vxp-bridge source against B with `outbound: { recipients: [C] }`.
 *
 * A's legacy system drops a package for C: A's send pipeline writes it to A's outbox topic, the
 * file goes to sent/, and A's outbox consumer sends it with sendEdoc to B; B's send pipeline
 * writes it to C's topic on the axis, and C's connector delivers it byte for byte. C's status 03
 * goes to A on the axis, lands in B's mailbox for A, is pulled by A's bridge source and reaches A's
 * legacy system. With B down, the package waits in the outbox (the route's breaker opens) and
 * crosses once B is back; a package B refuses for good is A's dead letter, `delivery-rejected`,
 * and A's legacy system gets status 02.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import * as YAML from 'yaml';
import { AgencyProcess, deadLetterReasons, deliveredFiles, dropPackage, prepareAgency, uniqueOrganId, waitFor, type AgencyDirs } from '../support/agency';
import { freePort } from '../support/ports';
import { REPO_ROOT } from '../support/paths';
import { makeEdoc } from '../support/packages';
import { addBridgeSource, documentIdOf, prepareAxisAccount, startAxisKafka, statusAbout, statusesAbout, type AxisKafka } from '../support/vxp-axis';

/** B's sendEdoc takes packages up to this size; a larger one is refused for good (limit-exceeded). */
const B_MAX_BODY = 200_000;

const CLI = path.join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js');
const files = (dir: string) => deliveredFiles(dir).map((f) => fs.readFileSync(path.join(dir, f)));
const sentFiles = (outbox: string) => (fs.existsSync(path.join(outbox, 'sent')) ? fs.readdirSync(path.join(outbox, 'sent')) : []);

describe('vxp bridge outbound route: A sends to C, which exists only on the axis, through B\'s VXP API', function () {
  this.timeout(300_000);
  let base: string;
  let axis: AxisKafka | undefined;
  let a: AgencyDirs;
  let b: AgencyDirs;
  let c: AgencyDirs;
  let bProcess: AgencyProcess | undefined;
  let aProcess: AgencyProcess;
  const running: AgencyProcess[] = [];

  before(async () => {
    base = fs.mkdtempSync(path.join(os.tmpdir(), 'vdxp-vxp-outbound-'));
    axis = await startAxisKafka(path.join(base, 'axis-kafka'));
    const aId = uniqueOrganId('A41');
    const cId = uniqueOrganId('C22');
    const secretFile = path.join(base, 'a-bridge.secret');
    fs.writeFileSync(secretFile, 'a-account-on-the-axis\n', { mode: 0o600 });
    const vxpPort = await freePort();
    const axisRoot = path.join(base, 'axis');
    b = prepareAxisAccount(axisRoot, aId, axis, { port: vxpPort, secretFile, maxBodyBytes: B_MAX_BODY });
    c = prepareAgency(axisRoot, cId, { kafka: axis.config, trail: { enabled: false } });
    a = prepareAgency(path.join(base, 'backbone'), aId, {
      // Quick to open and to probe: the outage below is seconds long.
      delivery: { breaker: { timeoutMs: 10_000, errorThresholdPercentage: 50, resetTimeoutMs: 1_500, volumeThreshold: 3 }, retry: { maxAttempts: 8, initialDelayMs: 200, maxDelayMs: 1_000 } },
    });
    addBridgeSource(a, { port: vxpPort, secretFile, outbound: { recipients: [cId] } });
    bProcess = await AgencyProcess.start(b);
    running.push(bProcess, await AgencyProcess.start(c));
    aProcess = await AgencyProcess.start(a);
    running.push(aProcess);
  });

  after(async () => {
    await Promise.allSettled([...running, ...(bProcess ? [bProcess] : [])].map((p) => p.stop()));
    axis?.stop();
    fs.rmSync(base, { recursive: true, force: true });
  });

  let refusedPackage: Buffer | undefined;
  const logs = () => `A log: ${a.logPath}, B log: ${b.logPath}, C log: ${c.logPath}`;

  it('A\'s document reaches C\'s legacy system byte for byte, and C\'s 03 comes back to A\'s legacy system', async () => {
    const pkg = makeEdoc({ from: a.organId, to: [c.organId], number: 701 });
    const documentId = documentIdOf(pkg);
    dropPackage(a.outbox, 'cv-701.edxml', pkg);

    await waitFor(() => files(c.inbox).some((f) => f.equals(pkg)), 90_000, () => `C's legacy system to receive A's document byte for byte (${logs()})`);
    assert.ok(sentFiles(a.outbox).some((f) => f.includes('cv-701')), 'the file went to sent/ (Kafka held the outbox copy)');

    // C's legacy system accepts it: status 03 to A, on the axis.
    const status03 = statusAbout(c.organId, a.organId, documentId, 701);
    dropPackage(c.outbox, 'status-03.edxml', status03);
    await waitFor(() => files(a.inbox).some((f) => f.equals(status03)), 90_000, () => `A's legacy system to receive C's 03 byte for byte through B's mailbox and the bridge (${logs()})`);
    // C's connector said 01 (arrived) too, the same way.
    await waitFor(() => statusesAbout(a.inbox, '01', documentId).length === 1, 30_000, 'A to hear C\'s 01');
    assert.equal(files(c.inbox).filter((f) => f.equals(pkg)).length, 1, 'delivered to C once');
  });

  it('a package B refuses for good: A\'s dead letter as delivery-rejected, and A\'s legacy system gets status 02', async () => {
    const pkg = makeEdoc({ from: a.organId, to: [c.organId], number: 702, attachmentBytes: B_MAX_BODY });
    refusedPackage = pkg;
    const documentId = documentIdOf(pkg);
    dropPackage(a.outbox, 'cv-702.edxml', pkg);

    await waitFor(() => statusesAbout(a.inbox, '02', documentId).length > 0, 90_000, () => `A's legacy system to hear 02 for the refused package (${logs()})`);
    const refusal = statusesAbout(a.inbox, '02', documentId)[0]!;
    assert.match(refusal, /delivery-rejected/);
    assert.match(refusal, /limit-exceeded/, 'the endpoint\'s ErrorCode is quoted');
    assert.ok(sentFiles(a.outbox).some((f) => f.includes('cv-702')), 'taken: the refusal comes later, from the outbox');
    await waitFor(() => deadLetterReasons(a.organId).includes('delivery-rejected'), 30_000, 'A\'s dead letter');
    assert.ok(!files(c.inbox).some((f) => f.equals(pkg)), 'C never got it');
  });

  it('while B is down, A\'s package waits in the outbox (the breaker opens); once B is back it crosses, once, and the breaker closes', async () => {
    await bProcess!.kill('SIGKILL');
    bProcess = undefined;
    const pkg = makeEdoc({ from: a.organId, to: [c.organId], number: 703 });
    dropPackage(a.outbox, 'cv-703.edxml', pkg);

    await waitFor(() => sentFiles(a.outbox).some((f) => f.includes('cv-703')), 30_000, 'A to take the file while B is down (Kafka holds it)');
    await waitFor(() => /circuit breaker of sink axis\/outbound opened/.test(aProcess.logText()), 60_000, () => `the outbound route's breaker to open (${logs()})`);
    await new Promise((r) => setTimeout(r, 3_000));
    assert.ok(!files(c.inbox).some((f) => f.equals(pkg)));

    bProcess = await AgencyProcess.start(b);
    await waitFor(() => files(c.inbox).some((f) => f.equals(pkg)), 90_000, () => `C to receive the package once B is back (${logs()})`);
    await waitFor(() => /circuit breaker of sink axis\/outbound closed/.test(aProcess.logText()), 30_000, 'the breaker to close');
    assert.ok(!deadLetterReasons(a.organId).includes('retries-exhausted'), 'nothing dead-lettered for the outage');
    await new Promise((r) => setTimeout(r, 2_000));
    assert.equal(files(c.inbox).filter((f) => f.equals(pkg)).length, 1, 'delivered once');
  });

  it('once B takes larger packages, `vdxp dlq replay` puts the refused package back in A\'s outbox and it reaches C, once', async () => {
    assert.ok(refusedPackage, 'the refusal case ran');
    await bProcess?.stop();
    const config = YAML.parse(fs.readFileSync(b.configPath, 'utf8'));
    config.connectors[0].options.maxBodyBytes = 4 * B_MAX_BODY;
    fs.writeFileSync(b.configPath, YAML.stringify(config));
    bProcess = await AgencyProcess.start(b);

    const replay = spawnSync(process.execPath, [CLI, 'dlq', 'replay', '--reason', 'delivery-rejected', '--config', a.configPath, '--json'], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, VDXP_LOG_LEVEL: 'error' } });
    assert.equal(replay.status, 0, `vdxp dlq replay: ${replay.stdout}${replay.stderr}`);
    const results = JSON.parse(replay.stdout) as Array<{ replayed: boolean }>;
    assert.ok(results.some((r) => r.replayed === true), replay.stdout);
    await waitFor(() => files(c.inbox).some((f) => f.equals(refusedPackage!)), 90_000, () => `C to receive the replayed package (${logs()})`);
    await new Promise((r) => setTimeout(r, 2_000));
    assert.equal(files(c.inbox).filter((f) => f.equals(refusedPackage!)).length, 1, 'delivered once');
  });
});
