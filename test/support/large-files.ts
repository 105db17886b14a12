/** Large bodies for transport tests, made and checked without holding them in memory. */
import * as fs from 'node:fs';
import * as http from 'node:http';
import { createHash, randomBytes } from 'node:crypto';
import type { BodyFile } from '../../src/connectors/types';
import { makeEdoc } from './packages';

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

/**
 * Writes an edoc whose attachment is `base64Chars` of random base64, streaming (the test process
 * never holds it). Returns the SHA-256 of the whole file and of the decoded attachment.
 */
export function writeLargeEdoc(file: string, spec: { from: string; to: string; number: number; base64Chars: number }): { fileSha256: string; attachmentSha256: string } {
  const template = makeEdoc({ from: spec.from, to: [spec.to], number: spec.number, attachmentBytes: 16 }).toString('utf8');
  const match = /(<edXML:ContentTransferEncoded[^>]*>)[^<]*(<\/edXML:ContentTransferEncoded>)/.exec(template)!;
  const fd = fs.openSync(file, 'w');
  const fileHash = createHash('sha256');
  const attachmentHash = createHash('sha256');
  const write = (text: string) => {
    const bytes = Buffer.from(text);
    fileHash.update(bytes);
    fs.writeSync(fd, bytes);
  };
  try {
    write(template.slice(0, match.index) + match[1]);
    const step = 3 * CHUNK; // a multiple of 3: no padding until the end
    for (let written = 0; written < spec.base64Chars; ) {
      const bytes = randomBytes(Math.min(step, ((spec.base64Chars - written) / 4) * 3));
      attachmentHash.update(bytes);
      const text = bytes.toString('base64');
      write(text);
      written += text.length;
    }
    write(match[2] + template.slice(match.index + match[0].length));
  } finally {
    fs.closeSync(fd);
  }
  return { fileSha256: fileHash.digest('hex'), attachmentSha256: attachmentHash.digest('hex') };
}

/** Peak resident set of a running process since it started (Linux VmHWM), in bytes. */
export function peakRss(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)![1]) * 1024;
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

export interface PostAnswer {
  status: number;
  json: Record<string, unknown>;
}

export interface PostFileOptions {
  /** Leave Content-Length out: the body goes with chunked transfer encoding. */
  chunked?: boolean;
  /** Send only this many bytes, then neither send more nor end the request (abort it with `signal`). */
  stallAfterBytes?: number;
  signal?: AbortSignal;
}

/** POSTs a file as the request body, streamed from disk so that the client does not hold it either. */
export function postFile(url: string, file: string, headers: Record<string, string>, options: PostFileOptions = {}): Promise<PostAnswer> {
  const { chunked, stallAfterBytes, signal } = options;
  const length = fs.statSync(file).size;
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', headers: chunked ? headers : { ...headers, 'Content-Length': length }, signal }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode ?? 0, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} });
      });
    });
    req.on('error', reject);
    const body = fs.createReadStream(file, stallAfterBytes === undefined ? {} : { end: stallAfterBytes - 1 });
    req.on('close', () => body.destroy());
    body.pipe(req, { end: stallAfterBytes === undefined });
  });
}
