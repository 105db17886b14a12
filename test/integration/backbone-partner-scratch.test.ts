/**
 * Issue 14, scratch space, against a real broker and real `vdxp run` processes: G22 reassembles
 * large packages in a 40 MB scratch folder (a real tmpfs when the test runs as root, as CI does;
 * otherwise a plain folder with the same configured limit). A hostile sender cannot fill it so
 * that a real large package from another agency stops arriving, and a disk that fills up under a
 * package (ENOSPC) is a typed, metered failure that releases the package, never a silent retry.
 */
import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as YAML from 'yaml';
import { AgencyProcess, deliveredFiles, dropPackage, prepareAgency, TEST_BROKERS, uniqueOrganId, waitFor, type AgencyDirs } from '../support/agency';
import { deadLetters, getText, HostilePartner, metricValue, mountSmallTmpfs, sha256 } from '../support/backbone-partner';
import { makeEdoc } from '../support/packages';
import { TopicReader } from '../../src/broker/topic-reader';
import { ensureTopics } from '../../src/broker/admin';
import { commonClientConfig } from '../../src/broker/client-config';
import { CHUNK_BYTES } from '../../src/broker/chunks';
import { docsTopic, ownTopics, statusTopic, HEADERS } from '../../src/broker/topics';

const SCRATCH_MB = 40;

describe('scratch space: bounded, checked before writing, and a full disk is a typed failure (issue 14, real Kafka)', function () {
  this.timeout(300_000);
  let partner: HostilePartner;
  let scratchDir: string;
  let unmount: (() => void) | undefined;
  const running: AgencyProcess[] = [];
  let base: string;

  before(async () => {
    partner = new HostilePartner();
    await partner.connect();
  });
  after(async () => partner.disconnect());
  beforeEach(() => {
    base = fs.mkdtempSync(path.join(os.tmpdir(), 'vdxp-scratch-test-'));
    scratchDir = path.join(base, 'scratch');
    unmount = mountSmallTmpfs(scratchDir, SCRATCH_MB);
  });
  afterEach(async () => {
    await Promise.all(running.splice(0).map((p) => p.stop()));
    unmount?.();
    fs.rmSync(base, { recursive: true, force: true });
  });

  async function start(dirs: AgencyDirs, env: Record<string, string> = {}): Promise<AgencyProcess> {
    const p = await AgencyProcess.start(dirs, env);
    running.push(p);
    return p;
  }
  const opsPort = (dirs: AgencyDirs) => (YAML.parse(fs.readFileSync(dirs.configPath, 'utf8')) as { ops: { port: number } }).ops.port;
  const inboxDigests = (dirs: AgencyDirs) => new Set(deliveredFiles(dirs.inbox).map((f) => sha256(fs.readFileSync(path.join(dirs.inbox, f)))));

  /** Chunks `from`..`to`-1 of a package of `bytes`, written the way sendChunked writes them. */
  async function sendChunks(topic: string, key: string, sender: string, bytes: Buffer, from: number, to: number): Promise<number> {
    const count = Math.ceil(bytes.length / CHUNK_BYTES);
    for (let index = from; index < Math.min(to, count); index++) {
      await partner.producer.send({
        topic,
        key,
        value: bytes.subarray(index * CHUNK_BYTES, (index + 1) * CHUNK_BYTES),
        headers: {
          [HEADERS.kind]: 'edoc',
          [HEADERS.fromOrganId]: sender,
          [HEADERS.documentId]: `${sender},2026/11/23,${key}`,
          [HEADERS.contentSha256]: sha256(bytes),
          [HEADERS.chunk]: `${index}/${count}`,
          [HEADERS.packageBytes]: String(bytes.length),
        },
      });
    }
    return count;
  }

  it('a hostile sender fills its share of a 40 MB scratch folder, and a real 10 MB package from H41 still arrives', async () => {
    if (!unmount) console.log('      (not root: a plain folder with the configured 40 MB limit instead of a tmpfs)');
    const g22 = prepareAgency(base, uniqueOrganId('G22'), {
      limits: { maxScratchBytes: 32 * 1024 * 1024, maxScratchBytesPerSender: 16 * 1024 * 1024, maxPackageBytes: 16 * 1024 * 1024 },
    });
    const h41 = prepareAgency(base, uniqueOrganId('H41'));
    await start(g22, { TMPDIR: scratchDir });
    await start(h41);
    // Five 9 MB packages, every chunk but the last: 41 MB, more than the folder holds.
    const hostile = '000.00.00.X99';
    for (let i = 0; i < 5; i++) {
      const bytes = randomBytes(9 * 1024 * 1024);
      const count = Math.ceil(bytes.length / CHUNK_BYTES);
      await sendChunks(docsTopic(g22.organId), `hostile-${i}`, hostile, bytes, 0, count - 1);
    }
    const real = makeEdoc({ from: h41.organId, to: [g22.organId], number: 1, attachmentBytes: 7 * 1024 * 1024 });
    assert.ok(real.length > 9 * 1024 * 1024, 'a package that travels in chunks');
    dropPackage(h41.outbox, 'large.edxml', real);
    await waitFor(() => inboxDigests(g22).has(sha256(real)), 120_000, 'the real large package from H41');
    const letters = await deadLetters(g22.organId);
    assert.equal(letters.length, 4, 'one hostile package open (its share), four refused at chunk 0');
    assert.ok(letters.every((l) => l.headers[HEADERS.limit] === 'limits.maxScratchBytesPerSender'), JSON.stringify(letters.map((l) => l.headers[HEADERS.limit])));
    const { body } = await getText(opsPort(g22), '/metrics');
    assert.ok((metricValue(body, 'vdxp_scratch_reserved_bytes') ?? Infinity) <= 16 * 1024 * 1024, 'only the hostile package’s reservation is left');
    assert.equal(metricValue(body, 'vdxp_limit_refusals_total{limit="limits.maxScratchBytesPerSender"}'), 4);
  });

  it('a disk that fills under a package (ENOSPC) refuses it as scratch-full, frees its space, tells its sender, and the next package arrives', async function () {
    if (!unmount) this.skip(); // a real full disk needs a real small file system (root, as in CI)
    const sender = uniqueOrganId('S01');
    await ensureTopics(commonClientConfig({ brokers: [TEST_BROKERS] }, 'vdxp-test-admin'), ownTopics(sender), { partitions: 3, replicationFactor: 1 });
    // The connector's own budget (1 GiB by default) is larger than this disk: the disk is what fills.
    const g22 = prepareAgency(base, uniqueOrganId('G22'));
    await start(g22, { TMPDIR: scratchDir });
    const topic = docsTopic(g22.organId);
    const first = randomBytes(20 * 1024 * 1024);
    await sendChunks(topic, 'first', sender, first, 0, 5);
    await waitFor(() => spoolBytes(scratchDir) >= 4 * CHUNK_BYTES, 30_000, 'the first chunks written to scratch');
    // Someone else (the HTTP ingest, a package being signed) fills the disk meanwhile.
    const filler = path.join(scratchDir, 'filler');
    fs.writeFileSync(filler, Buffer.alloc(Math.max(0, freeBytes(scratchDir) - 512 * 1024)));
    await sendChunks(topic, 'first', sender, first, 5, 100);
    await waitFor(async () => (await deadLetters(g22.organId)).length === 1, 60_000, 'the package refused');
    const [letter] = await deadLetters(g22.organId);
    assert.equal(letter!.headers[HEADERS.reason], 'scratch-full');
    assert.match(letter!.headers[HEADERS.detail]!, /ENOSPC/);
    await waitFor(() => spoolBytes(scratchDir) === 0, 30_000, 'its spool file deleted');
    const { body } = await getText(opsPort(g22), '/metrics');
    assert.equal(metricValue(body, 'vdxp_rejections_total{direction="inbound",reason="scratch-full"}'), 1);
    assert.equal(metricValue(body, 'vdxp_scratch_reserved_bytes'), 0, 'its reservation released');
    const statuses = await readAll(statusTopic(sender));
    assert.equal(statuses.length, 1, 'status 02 to the sender its headers name');
    assert.match(statuses[0]!.value.toString(), /<edXML:StatusCode>02<[\s\S]*scratch-full/);
    fs.rmSync(filler);
    const next = makeEdoc({ from: sender, to: [g22.organId], number: 2, attachmentBytes: 8 * 1024 * 1024 });
    const packageFile = path.join(base, 'next.edxml');
    fs.writeFileSync(packageFile, next);
    await sendChunks(topic, 'next', sender, next, 0, 100);
    await waitFor(() => inboxDigests(g22).has(sha256(next)), 60_000, 'the next package, once there is room again');
  });
});

function spoolBytes(dir: string): number {
  let total = 0;
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.part')) total += fs.statSync(p).size;
    }
  };
  if (fs.existsSync(dir)) walk(dir);
  return total;
}

function freeBytes(dir: string): number {
  const s = fs.statfsSync(dir);
  return Number(s.bavail) * Number(s.bsize);
}

async function readAll(topic: string) {
  const reader = new TopicReader(commonClientConfig({ brokers: [TEST_BROKERS] }, 'vdxp-test-reader'));
  await reader.connect();
  try {
    return await reader.readAll(topic);
  } finally {
    await reader.disconnect();
  }
}
