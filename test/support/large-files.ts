/** Large bodies for transport tests, made and checked without holding them in memory. */
import * as fs from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import type { BodyFile } from '../../src/connectors/types';

const CHUNK = 1024 * 1024;

/** Writes `length` random bytes, a MiB at a time; returns the file as a BodyFile and its hex SHA-256. */
export function writeLargeFile(path: string, length: number): BodyFile & { sha256: string } {
  const hash = createHash('sha256');
  const fd = fs.openSync(path, 'w');
  try {
    for (let written = 0; written < length; written += CHUNK) {
      const chunk = randomBytes(Math.min(CHUNK, length - written));
      hash.update(chunk);
      fs.writeSync(fd, chunk);
    }
  } finally {
    fs.closeSync(fd);
  }
  return { path, length, sha256: hash.digest('hex') };
}

export async function sha256OfFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of fs.createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Samples the resident set size while `work` runs; resolves to its largest growth in bytes. */
export async function rssGrowthDuring(work: () => Promise<void>): Promise<number> {
  const before = process.memoryUsage().rss;
  let peak = before;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 2);
  try {
    await work();
  } finally {
    clearInterval(timer);
  }
  return Math.max(peak, process.memoryUsage().rss) - before;
}
