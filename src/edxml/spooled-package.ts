/**
 * A large package (over LARGE_BODY_BYTES, up to limits.maxPackageBytes) read from a file with
 * memory that does not grow with its size (DESIGN.md rule 6).
 *
 * One streaming pass hashes the file and takes every long run of base64 characters out of it:
 * what remains, the "skeleton" (markup, header text, short attachments), is small and goes through
 * the same pre-scan, limits and parser as any package. Each run taken out must turn out to be the
 * whole content of a `ContentTransferEncoded` element of the skeleton; the parse then records where
 * that text lives in the file (`ParsedXml.externalText`), and the reader, the signature digest and
 * the signer read it from there in windows.
 *
 * Why the cut is safe: a run holds only base64 characters and CR, LF, space or tab — no markup, no
 * `&` — so the original is exactly the skeleton with each run put back as the character data of
 * the element it was found in; canonical XML leaves such text as it is once line ends are
 * normalized, which the digest does while reading it (src/signature/canonical.ts).
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { Rejection } from '../errors';
import type { Limits } from '../limits';
import { FileStore } from './attachments';
import { countAttachment, decodedBase64Bytes, parseXml, type ExternalText, type ParsedXml } from './safe-xml';

export interface SpooledPackage {
  path: string;
  length: number;
  /** SHA-256 of the whole file, hex. */
  sha256: string;
  /** The skeleton's parse, with `externalText` naming where the attachment text lives in the file. */
  parsed: ParsedXml;
}

/** Runs shorter than this stay in the skeleton. */
const CUT_MIN_BYTES = 64 * 1024;
const READ_BYTES = 1024 * 1024;

const DATA = 1;
const PAD = 2;
const SPACE = 3;
const RUN_CLASS = new Uint8Array(256);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/') RUN_CLASS[c.charCodeAt(0)] = DATA;
RUN_CLASS[0x3d] = PAD;
const CR = 4;
for (const b of [0x0a, 0x20, 0x09]) RUN_CLASS[b] = SPACE;
RUN_CLASS[0x0d] = CR;

interface Cut {
  /** Skeleton offset the run was taken from. */
  at: number;
  start: number;
  end: number;
  dataChars: number;
  padChars: number;
  spaces: number;
  carriageReturns: number;
  misplacedPadding: boolean;
}

/** Reads, checks and parses the package in `path`. Throws Rejection for every refusal. */
export async function readSpooledPackage(path: string, limits: Limits): Promise<SpooledPackage> {
  const { size } = await fs.promises.stat(path);
  if (size > limits.maxPackageBytes) {
    throw new Rejection('limit-exceeded', `package is ${size} bytes, limit ${limits.maxPackageBytes}`, 'limits.maxPackageBytes');
  }
  await refuseWideEncodings(path);
  const split = await splitOffAttachmentText(path, limits);
  let parsed = parseXml(split.skeleton, limits, { omitAttachmentText: true });
  let cuts = split.cuts;
  if (parsed.scan.transcodedFrom) {
    // A large package is delivered from its file as it arrived: only UTF-8 is that one reading (src/edxml/xml-encoding.ts).
    throw new Rejection('unsupported-encoding', `a package read from a file (over 1 MiB) must be UTF-8; this one is ${parsed.scan.transcodedFrom}`);
  }
  const misplaced = cuts.filter((cut) => attachmentRangeAt(parsed, cut) === undefined);
  if (misplaced.length > 0) {
    // Long base64-like text elsewhere (a comment, an attribute, a header field) goes back where it was.
    const restored = restoreRuns(split.skeleton, cuts, new Set(misplaced), path, limits);
    parsed = parseXml(restored.skeleton, limits, { omitAttachmentText: true });
    cuts = restored.cuts;
  }
  const externalText = placeCuts(parsed, cuts, path, limits);
  return { path, length: split.length, sha256: split.sha256, parsed: { ...parsed, externalText } };
}

/**
 * UTF-16 or UTF-32 (a byte-order mark, or a NUL among the first bytes) is refused before the
 * streaming pass, which finds no base64 runs in such bytes and would take the whole file the slow
 * way (39 s for 16 MB, measured) only to refuse it afterwards.
 */
async function refuseWideEncodings(path: string): Promise<void> {
  const file = await fs.promises.open(path, 'r');
  try {
    const head = Buffer.alloc(4);
    const { bytesRead } = await file.read(head, 0, 4, 0);
    const start = head.subarray(0, bytesRead);
    if (start[0] === 0xfe || start[0] === 0xff || start.includes(0)) {
      throw new Rejection('unsupported-encoding', 'a package read from a file (over 1 MiB) must be UTF-8; this one starts as UTF-16 or UTF-32');
    }
  } finally {
    await file.close();
  }
}

/** Index of the empty plain attachment range the cut was taken from, if it was one. */
function attachmentRangeAt(parsed: ParsedXml, cut: Cut): number | undefined {
  const ranges = parsed.scan.attachmentTexts;
  const k = ranges.findIndex((r) => r.start === cut.at && r.end === cut.at && r.plain);
  return k < 0 ? undefined : k;
}

/** The skeleton with the given runs read back from the file into their places; the other cuts re-addressed. */
function restoreRuns(skeleton: Buffer, cuts: Cut[], restore: Set<Cut>, path: string, limits: Limits): { skeleton: Buffer; cuts: Cut[] } {
  const store = new FileStore(path);
  const pieces: Buffer[] = [];
  const kept: Cut[] = [];
  let from = 0;
  let shift = 0;
  for (const cut of cuts) {
    if (!restore.has(cut)) {
      kept.push({ ...cut, at: cut.at + shift });
      continue;
    }
    shift += cut.end - cut.start;
    if (skeleton.length + shift > limits.maxMarkupBytes) throw markupLimit(limits);
    pieces.push(skeleton.subarray(from, cut.at), store.read(cut.start, cut.end));
    from = cut.at;
  }
  pieces.push(skeleton.subarray(from));
  return { skeleton: Buffer.concat(pieces), cuts: kept };
}

function markupLimit(limits: Limits): Rejection {
  return new Rejection('limit-exceeded', `more than ${limits.maxMarkupBytes} bytes of the package are outside its attachments' base64 text`, 'limits.maxMarkupBytes');
}

/** The streaming pass: SHA-256, length, and the skeleton with long base64 runs taken out. */
async function splitOffAttachmentText(path: string, limits: Limits): Promise<{ skeleton: Buffer; cuts: Cut[]; sha256: string; length: number }> {
  const hash = createHash('sha256');
  const skeleton: Buffer[] = [];
  let skeletonLength = 0;
  const cuts: Cut[] = [];
  let run: (Cut & { pending: Buffer[] }) | undefined;
  let offset = 0;

  const keep = (bytes: Buffer) => {
    if (bytes.length === 0) return;
    skeletonLength += bytes.length;
    if (skeletonLength > limits.maxMarkupBytes) throw markupLimit(limits);
    skeleton.push(Buffer.from(bytes)); // a copy: a slice would keep the whole read buffer alive
  };
  const endRun = (at: number, tail: Buffer) => {
    const r = run!;
    run = undefined;
    r.end = at;
    if (r.end - r.start >= CUT_MIN_BYTES) {
      r.at = skeletonLength;
      cuts.push(r);
      return;
    }
    for (const piece of r.pending) keep(piece);
    keep(tail);
  };

  for await (const chunk of fs.createReadStream(path, { highWaterMark: READ_BYTES }) as AsyncIterable<Buffer>) {
    hash.update(chunk);
    let from = 0; // start of what this chunk still owes the skeleton (or the current run)
    for (let i = 0; i < chunk.length; i++) {
      const cls = RUN_CLASS[chunk[i]!]!;
      if (cls === 0) {
        if (run) {
          endRun(offset + i, chunk.subarray(from, i));
          from = i;
        }
        continue;
      }
      if (!run) {
        keep(chunk.subarray(from, i));
        from = i;
        run = { at: 0, start: offset + i, end: 0, dataChars: 0, padChars: 0, spaces: 0, carriageReturns: 0, misplacedPadding: false, pending: [] };
      }
      if (cls === DATA) {
        run.dataChars++;
        if (run.padChars > 0) run.misplacedPadding = true;
      } else if (cls === PAD) run.padChars++;
      else if (cls === SPACE) run.spaces++;
      else run.carriageReturns++;
    }
    if (run) {
      // The run goes on into the next chunk: keep its bytes only while it may still be short.
      if (offset + chunk.length - run.start < CUT_MIN_BYTES) run.pending.push(Buffer.from(chunk.subarray(from)));
      else run.pending = [];
    } else {
      keep(chunk.subarray(from));
    }
    offset += chunk.length;
  }
  if (run) endRun(offset, Buffer.alloc(0));
  return { skeleton: Buffer.concat(skeleton), cuts, sha256: hash.digest('hex'), length: offset };
}

/** Where each cut's text lives, by attachment index; attachment limits cover cut text too. */
function placeCuts(parsed: ParsedXml, cuts: Cut[], path: string, limits: Limits): Map<number, ExternalText> {
  const external = new Map<number, ExternalText>();
  let total = parsed.scan.attachmentTexts.reduce((sum, r) => sum + r.decodedBytes, 0);
  for (const cut of cuts) {
    const k = attachmentRangeAt(parsed, cut);
    if (k === undefined) throw new Error(`spooled package ${path}: a cut at ${cut.at} is not an attachment text after restoring`);
    total = countAttachment(total, decodedBase64Bytes(cut.dataChars + cut.padChars, Math.min(cut.padChars, 2)), limits);
    external.set(k, {
      path,
      start: cut.start,
      end: cut.end,
      dataChars: cut.dataChars,
      padChars: cut.padChars,
      compact: cut.spaces === 0 && cut.carriageReturns === 0 && !cut.misplacedPadding && cut.padChars <= 2,
      carriageReturns: cut.carriageReturns,
      misplacedPadding: cut.misplacedPadding || cut.padChars > 2,
    });
  }
  return external;
}
