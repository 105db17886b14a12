/**
 * Issue 6 against real Kafka and a real `vdxp run`: a poison package goes to the dead-letter topic
 * with its reason and history and does not block its partition; a package the sink never takes is
 * quarantined after its attempts; `vdxp dlq list|show|replay` finds them, and replay re-runs the
 * checks (the poison stays refused) and brings the good one home.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AgencyProcess, deliveredFiles, prepareAgency, TEST_BROKERS, uniqueOrganId, waitFor } from '../support/agency';
import { makeEdoc } from '../support/packages';
import { REPO_ROOT } from '../support/paths';
import { BackboneProducer } from '../../src/broker/producer';
import { commonClientConfig } from '../../src/broker/client-config';
import { docsTopic, HEADERS } from '../../src/broker/topics';
import { sha256Hex } from '../../src/pipeline/identity';

const CLI = path.join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js');

function vdxp(...args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, VDXP_LOG_LEVEL: 'error' } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('dead letters: quarantine, a poison that does not block, and vdxp dlq list|show|replay', function () {
  this.timeout(180_000);
  let base: string;
  let receiver: AgencyProcess | undefined;
  let producer: BackboneProducer;

  before(async () => {
    producer = new BackboneProducer(commonClientConfig({ brokers: [TEST_BROKERS] }, 'vdxp-test-dlq'));
    await producer.connect();
  });
  after(async () => {
    await receiver?.stop();
    await producer.disconnect();
  });

  it('quarantines, lists, shows and replays with every check run again', async () => {
    base = fs.mkdtempSync(path.join(os.tmpdir(), 'vdxp-dlq-'));
    const sender = uniqueOrganId('H41');
    const g22 = prepareAgency(base, uniqueOrganId('G22'), {
      delivery: { retry: { maxAttempts: 3, initialDelayMs: 100, maxDelayMs: 200 }, breaker: { volumeThreshold: 1000 } },
    });
    receiver = await AgencyProcess.start(g22);
    const send = (value: Buffer) =>
      producer.send({ topic: docsTopic(g22.organId), key: 'one-partition', value, headers: { [HEADERS.kind]: 'edoc', [HEADERS.fromOrganId]: sender } });

    // Poison between two good packages, all on one partition (same key).
    const good1 = makeEdoc({ from: sender, to: [g22.organId], number: 1 });
    const poison = Buffer.from('<edXML:edXML xmlns:edXML="http://x"><edXML:edXMLEnvelope><unclosed>');
    const good2 = makeEdoc({ from: sender, to: [g22.organId], number: 2 });
    for (const value of [good1, poison, good2]) await send(value);
    await waitFor(() => deliveredFiles(g22.inbox).length === 2, 30_000, 'both good packages past the poison');

    // The sink cannot take the next one at all (its folder is gone): quarantined after 3 attempts.
    const inboxAside = `${g22.inbox}.aside`;
    fs.renameSync(g22.inbox, inboxAside);
    fs.writeFileSync(g22.inbox, 'not a folder');
    const good3 = makeEdoc({ from: sender, to: [g22.organId], number: 3 });
    await send(good3);
    await waitFor(() => (receiver!.logText().match(/dead-lettered/g) ?? []).length >= 2, 30_000, 'the second dead letter');
    fs.rmSync(g22.inbox);
    fs.renameSync(inboxAside, g22.inbox);

    const list = vdxp('dlq', 'list', '--config', g22.configPath, '--json');
    assert.equal(list.status, 0, list.stderr);
    const rows = JSON.parse(list.stdout) as Array<{ address: string; reason: string; attempts: number; source: string; firstFailure: string; lastFailure: string; bytes: number }>;
    assert.deepEqual(rows.map((r) => r.reason).sort(), ['malformed-xml', 'retries-exhausted']);
    const poisonRow = rows.find((r) => r.reason === 'malformed-xml')!;
    const exhaustedRow = rows.find((r) => r.reason === 'retries-exhausted')!;
    assert.equal(poisonRow.attempts, 1);
    assert.equal(exhaustedRow.attempts, 3);
    assert.ok(Date.parse(exhaustedRow.lastFailure) > Date.parse(exhaustedRow.firstFailure));
    assert.match(poisonRow.source, new RegExp(`^${docsTopic(g22.organId).replace(/\./g, '\\.')}:\\d+:1$`), 'source topic, partition and offset 1 (the middle one)');
    assert.match(vdxp('dlq', 'list', '--config', g22.configPath).stdout, /2 dead letter\(s\)/);

    const out = path.join(base, 'poison.bin');
    const show = vdxp('dlq', 'show', poisonRow.address, '--config', g22.configPath, '--out', out);
    assert.equal(show.status, 0, show.stderr);
    assert.match(show.stdout, /vdxp-reject-reason: malformed-xml/);
    assert.ok(fs.readFileSync(out).equals(poison), 'show writes the original bytes');

    const replay = vdxp('dlq', 'replay', '--all', '--config', g22.configPath, '--json');
    assert.equal(replay.status, 1, 'exit 1: one dead letter failed its checks again');
    const results = JSON.parse(replay.stdout) as Array<{ address: string; replayed: boolean; reason?: string }>;
    const poisonReplay = results.find((r) => r.address === poisonRow.address);
    assert.equal(poisonReplay?.replayed, false, 'the poison is not replayed');
    assert.equal(poisonReplay?.reason, 'malformed-xml', 'refused by the checks run again');
    assert.equal(results.find((r) => r.address === exhaustedRow.address)?.replayed, true);
    await waitFor(() => deliveredFiles(g22.inbox).length === 3, 30_000, 'the replayed package in the inbox');
    const digests = deliveredFiles(g22.inbox).map((f) => sha256Hex(fs.readFileSync(path.join(g22.inbox, f)))).sort();
    assert.deepEqual(digests, [good1, good2, good3].map((b) => sha256Hex(b)).sort());

    assert.equal(vdxp('dlq', 'show', '9:999', '--config', g22.configPath).status, 1, 'no such dead letter');
    assert.equal(vdxp('dlq', 'replay', 'nonsense', '--config', g22.configPath).status, 2, 'usage error');
  });

  it('refuses at the source, with a reason, a package over limits.maxPackageBytes; one larger than a Kafka message crosses in chunks', async () => {
    base = fs.mkdtempSync(path.join(os.tmpdir(), 'vdxp-dlq-'));
    const g22 = prepareAgency(base, uniqueOrganId('G22'));
    const h41 = prepareAgency(base, uniqueOrganId('H41'), { limits: { maxPackageBytes: 3_000_000 } });
    const g22Process = await AgencyProcess.start(g22);
    const h41Process = await AgencyProcess.start(h41);
    try {
      const tooLarge = makeEdoc({ from: h41.organId, to: [g22.organId], number: 9, attachmentBytes: 4_000_000 });
      const chunked = makeEdoc({ from: h41.organId, to: [g22.organId], number: 10, attachmentBytes: 1_500_000 });
      const small = makeEdoc({ from: h41.organId, to: [g22.organId], number: 11 });
      for (const [name, bytes] of [['too-large', tooLarge], ['chunked', chunked], ['small', small]] as const) {
        fs.writeFileSync(path.join(h41.outbox, `.${name}.part`), bytes);
        fs.renameSync(path.join(h41.outbox, `.${name}.part`), path.join(h41.outbox, `${name}.edxml`));
      }
      const reasonFile = path.join(h41.outbox, 'rejected', 'too-large.edxml.reason.json');
      await waitFor(() => fs.existsSync(reasonFile), 30_000, 'the package over the limit rejected at the source');
      const reason = JSON.parse(fs.readFileSync(reasonFile, 'utf8'));
      assert.equal(reason.reason, 'limit-exceeded');
      assert.equal(reason.limit, 'limits.maxPackageBytes');
      await waitFor(() => deliveredFiles(g22.inbox).length === 2, 30_000, 'the chunked and the small package cross');
      const digests = deliveredFiles(g22.inbox).map((f) => sha256Hex(fs.readFileSync(path.join(g22.inbox, f)))).sort();
      assert.deepEqual(digests, [chunked, small].map((b) => sha256Hex(b)).sort(), 'both byte for byte');
      assert.ok(chunked.length > 1_000_000, 'larger than a Kafka message');
    } finally {
      await h41Process.stop();
      await g22Process.stop();
    }
  });
});
