/**
 * Issue 16 point 17: sent/ is cleaned by age and the file-drop volume's free space is a metric;
 * the backbone CA's expiry is a metric too. The alerts on them have promtool cases in
 * helm/prometheus/vdxp-connector.rules.test.yaml.
 */
import { strict as assert } from 'node:assert';
import { X509Certificate } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { FileDropSource } from '../../../src/connectors/file-drop';
import { removeOlderThan, startFileDropHousekeeping } from '../../../src/pipeline/file-drop-housekeeping';
import { reportBackboneCaExpiry } from '../../../src/pipeline/backbone-certificates';
import { createMetrics } from '../../../src/observability/metrics';
import { createLogger } from '../../../src/observability/log';
import { parseConfig } from '../../../src/config/load';
import type { AgencyConfig } from '../../../src/config/types';
import { waitFor } from '../../support/agency';
import { makeTestPki } from '../../support/pki';

const DAY = 24 * 60 * 60_000;
const silent = createLogger({ level: 'silent' });

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'vdxp-housekeeping-'));
}

function aged(file: string, days: number): void {
  const t = new Date(Date.now() - days * DAY);
  fs.utimesSync(file, t, t);
}

async function sampleOf(metrics: ReturnType<typeof createMetrics>, name: string, labels: string): Promise<number | undefined> {
  const line = (await metrics.exposition()).split('\n').find((l) => l.startsWith(`${name}{${labels}}`));
  return line === undefined ? undefined : Number(line.split(' ').pop());
}

function agencyWith(dir: string, sourceOptions: Record<string, unknown> = {}): AgencyConfig {
  return parseConfig(
    JSON.stringify({
      organId: '000.00.00.H41',
      kafka: { brokers: ['127.0.0.1:9092'] },
      trust: { insecureSkipVerification: true },
      connectors: [
        { name: 'outbox', type: 'file-drop', direction: 'source', options: { dir: path.join(dir, 'outbox'), ...sourceOptions } },
        { name: 'inbox', type: 'file-drop', direction: 'sink', options: { dir: path.join(dir, 'inbox') } },
      ],
    }),
  );
}

describe('file-drop housekeeping and certificate metrics (issue 16 point 17)', () => {
  it('removes from sent/ what is older than the retention, with its attachment folder, and keeps the rest', async () => {
    const sent = path.join(tempDir(), 'sent');
    fs.mkdirSync(path.join(sent, 'cv1'), { recursive: true });
    fs.writeFileSync(path.join(sent, 'cv1', 'a.pdf'), 'x');
    for (const name of ['cv1.csv', 'cv2.csv', 'cv3.csv']) fs.writeFileSync(path.join(sent, name), name);
    aged(path.join(sent, 'cv1.csv'), 31);
    aged(path.join(sent, 'cv1'), 31);
    aged(path.join(sent, 'cv2.csv'), 29);
    assert.equal(await removeOlderThan(sent, 30 * DAY, Date.now()), 1);
    assert.deepEqual(fs.readdirSync(sent).sort(), ['cv2.csv', 'cv3.csv']);
  });

  it('stamps a file with the time it moves into sent/, so its age there is what counts', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'old.edxml');
    fs.writeFileSync(file, 'written long ago, sent now');
    aged(file, 400);
    const source = new FileDropSource('outbox', { dir, pollIntervalMs: 20 });
    await source.start(async (_m, settle) => settle.accepted());
    try {
      await waitFor(() => fs.existsSync(path.join(dir, 'sent', 'old.edxml')), 5_000, 'the file in sent/');
    } finally {
      await source.stop();
    }
    assert.ok(Date.now() - fs.statSync(path.join(dir, 'sent', 'old.edxml')).mtimeMs < DAY);
    assert.equal(await removeOlderThan(path.join(dir, 'sent'), 30 * DAY, Date.now()), 0);
  });

  it('sweeps at start by the source option (30 days by default, 0 keeps everything) and counts what it removed', async () => {
    for (const [options, expectKept] of [[{}, ['new.csv']], [{ sentRetentionDays: 400 }, ['new.csv', 'old.csv']], [{ sentRetentionDays: 0 }, ['new.csv', 'old.csv']]] as const) {
      const dir = tempDir();
      const sent = path.join(dir, 'outbox', 'sent');
      fs.mkdirSync(sent, { recursive: true });
      fs.writeFileSync(path.join(sent, 'old.csv'), 'x');
      fs.writeFileSync(path.join(sent, 'new.csv'), 'x');
      aged(path.join(sent, 'old.csv'), 45);
      const metrics = createMetrics({ defaultMetrics: false });
      const housekeeping = startFileDropHousekeeping(agencyWith(dir, options), metrics, silent);
      try {
        await waitFor(() => fs.readdirSync(sent).length === expectKept.length, 5_000, `sent/ with ${JSON.stringify(options)}`);
      } finally {
        housekeeping.stop();
      }
      assert.deepEqual(fs.readdirSync(sent).sort(), expectKept);
      const removed = await sampleOf(metrics, 'vdxp_sent_files_removed_total', 'connector="outbox"');
      assert.equal(removed, expectKept.length === 1 ? 1 : undefined);
    }
  });

  it('reports the free and total bytes of each file-drop folder volume at scrape time', async () => {
    const dir = tempDir();
    fs.mkdirSync(path.join(dir, 'outbox'));
    fs.mkdirSync(path.join(dir, 'inbox'));
    const metrics = createMetrics({ defaultMetrics: false });
    startFileDropHousekeeping(agencyWith(dir, { sentRetentionDays: 0 }), metrics, silent).stop();
    const st = fs.statfsSync(dir);
    for (const connector of ['outbox', 'inbox']) {
      const free = await sampleOf(metrics, 'vdxp_volume_free_bytes', `connector="${connector}"`);
      const size = await sampleOf(metrics, 'vdxp_volume_size_bytes', `connector="${connector}"`);
      assert.equal(size, st.blocks * st.bsize);
      assert.ok(free !== undefined && free > 0 && free <= size!, `${connector}: ${free} of ${size}`);
    }
  });

  it('reports the earliest expiry of the backbone CA file (old and new CA together during a change)', async function () {
    this.timeout(120_000);
    const pki = await makeTestPki();
    const bundle = path.join(tempDir(), 'ca.crt');
    fs.writeFileSync(bundle, fs.readFileSync(pki.intermediateCaPath, 'utf8') + fs.readFileSync(pki.rootCaPath, 'utf8'));
    const config = { kafka: { brokers: ['k:9093'], tls: { enabled: true, caFile: bundle } } } as unknown as AgencyConfig;
    const metrics = createMetrics({ defaultMetrics: false });
    reportBackboneCaExpiry(config, metrics, silent);
    const earliest = Math.min(...[pki.intermediateCaPath, pki.rootCaPath].map((f) => new Date(new X509Certificate(fs.readFileSync(f)).validTo).getTime() / 1000));
    assert.equal(await sampleOf(metrics, 'vdxp_certificate_expiry_timestamp_seconds', 'kind="backbone_ca"'), earliest);
  });
});
