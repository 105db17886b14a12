/**
 * What the file-drop folders need besides moving files: sent/ does not grow for ever (files older
 * than the source's sentRetentionDays are removed, hourly), and the free space of each folder's
 * volume is a metric (vdxp_volume_free_bytes / vdxp_volume_size_bytes) that an alert watches
 * (VdxpVolumeFillingUp). rejected/ is never cleaned: what is there waits for a person.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import type { AgencyConfig } from '../config/types';
import { DEFAULT_SENT_RETENTION_DAYS, SENT } from '../connectors/file-drop';
import type { Logger } from '../observability/log';
import type { Metrics } from '../observability/metrics';

const SWEEP_INTERVAL_MS = 60 * 60_000;
const DAY_MS = 24 * 60 * 60_000;

export interface Housekeeping {
  stop(): void;
}

export function startFileDropHousekeeping(config: AgencyConfig, metrics: Metrics, log: Logger): Housekeeping {
  const sweeps: Array<() => Promise<void>> = [];
  for (const c of config.connectors.filter((k) => k.type === 'file-drop')) {
    const dir = String(c.options.dir);
    metrics.watchVolume(c.name, dir);
    if (c.direction !== 'source') continue;
    const days = typeof c.options.sentRetentionDays === 'number' ? c.options.sentRetentionDays : DEFAULT_SENT_RETENTION_DAYS;
    if (days === 0) continue;
    sweeps.push(async () => {
      try {
        const removed = await removeOlderThan(path.join(dir, SENT), days * DAY_MS, Date.now());
        metrics.sentFilesRemoved(c.name, removed);
        if (removed > 0) log.info({ step: 'housekeeping', connector: c.name, removed, retentionDays: days }, `removed ${removed} files older than ${days} days from ${SENT}/`);
      } catch (err) {
        log.warn({ step: 'housekeeping', connector: c.name, err }, `cleaning ${SENT}/ failed`);
      }
    });
  }
  const sweepAll = () => void Promise.all(sweeps.map((sweep) => sweep()));
  if (sweeps.length === 0) return { stop: () => undefined };
  sweepAll();
  const timer = setInterval(sweepAll, SWEEP_INTERVAL_MS);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}

/**
 * Removes the entries of `dir` (files, and the attachment folders beside them) last modified more
 * than `ageMs` before `now`; the file drop stamps each with the time it moved there. Returns how
 * many files went.
 */
export async function removeOlderThan(dir: string, ageMs: number, now: number): Promise<number> {
  let removed = 0;
  let names: string[];
  try {
    names = await fsp.readdir(dir);
  } catch {
    return 0;
  }
  for (const name of names) {
    const entry = path.join(dir, name);
    const stat = await fsp.lstat(entry).catch(() => undefined);
    if (!stat || now - stat.mtimeMs <= ageMs) continue;
    await fsp.rm(entry, { recursive: true, force: true });
    if (stat.isFile()) removed += 1;
  }
  return removed;
}
