/**
 * Mutation fuzz of the field samples: truncate, duplicate, reorder, inject DTDs and entities,
 * huge text, deep nesting, attribute floods, byte flips. Whatever comes in, the reader returns a
 * package or throws a typed Rejection, within a bounded time per case, and what it accepts stays
 * within the limits it was given. Deterministic (seeded), bounded by iterations.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import { REJECTION_REASONS, Rejection } from '../../../src/errors';
import { withDefaults, type Limits } from '../../../src/limits';
import { drain, openAttachment } from '../../../src/edxml/attachments';
import type { EdxmlPackage } from '../../../src/edxml/model';
import { readPackage } from '../../../src/edxml/reader';
import { scanXml } from '../../../src/edxml/safe-xml';
import { validatePackage } from '../../../src/edxml/validate';
import { sampleFiles } from '../../support/paths';

/** mulberry32: a tiny seeded PRNG, so every run fuzzes the same cases. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const LIMITS: Limits = withDefaults({
  maxPackageBytes: 4 * 1024 * 1024,
  maxAttachmentBytes: 1024 * 1024,
  maxTotalAttachmentBytes: 2 * 1024 * 1024,
  maxZipUncompressedBytes: 2 * 1024 * 1024,
  maxXmlDepth: 24,
  maxXmlElements: 4000,
  maxXmlAttributesPerElement: 12,
  maxTextLength: 64 * 1024,
});

/** Per-case time bound: generous for a loaded 2-core CI machine, far below "hangs". */
const CASE_MS = 2000;
const ITERATIONS = 500;

type Mutation = (b: Buffer, r: () => number) => Buffer;

const pick = <T>(r: () => number, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
const at = (b: Buffer, r: () => number): number => Math.floor(r() * (b.length + 1));

/** Offsets of `<` that start a start tag. */
function tagStarts(b: Buffer): number[] {
  const out: number[] = [];
  for (let k = b.indexOf(0x3c); k >= 0; k = b.indexOf(0x3c, k + 1)) {
    const n = b[k + 1];
    if (n !== undefined && n !== 0x2f && n !== 0x3f && n !== 0x21) out.push(k);
  }
  return out;
}

/** [start, end) of a whole random element, found naively by its name. */
function randomElement(b: Buffer, r: () => number): [number, number] | undefined {
  const starts = tagStarts(b);
  if (!starts.length) return undefined;
  const s = pick(r, starts);
  const gt = b.indexOf(0x3e, s);
  if (gt < 0) return undefined;
  const name = /^<([^\s/>]+)/.exec(b.toString('utf8', s, Math.min(gt + 1, s + 200)))?.[1];
  if (!name) return undefined;
  if (b[gt - 1] === 0x2f) return [s, gt + 1];
  const close = b.indexOf(`</${name}>`, gt);
  return close < 0 ? undefined : [s, close + name.length + 3];
}

const MUTATIONS: Record<string, Mutation> = {
  truncate: (b, r) => b.subarray(0, at(b, r)),
  duplicateElement: (b, r) => {
    const e = randomElement(b, r);
    return e ? Buffer.concat([b.subarray(0, e[1]), b.subarray(e[0], e[1]), b.subarray(e[1])]) : b;
  },
  duplicateRange: (b, r) => {
    const x = at(b, r);
    const y = Math.min(b.length, x + Math.floor(r() * 400));
    return Buffer.concat([b.subarray(0, y), b.subarray(x, y), b.subarray(y)]);
  },
  reorderElements: (b, r) => {
    const e1 = randomElement(b, r);
    const e2 = randomElement(b, r);
    if (!e1 || !e2 || e1[1] > e2[0]) return b;
    return Buffer.concat([b.subarray(0, e1[0]), b.subarray(e2[0], e2[1]), b.subarray(e1[1], e2[0]), b.subarray(e1[0], e1[1]), b.subarray(e2[1])]);
  },
  removeElement: (b, r) => {
    const e = randomElement(b, r);
    return e ? Buffer.concat([b.subarray(0, e[0]), b.subarray(e[1])]) : b;
  },
  injectDtd: (b, r) => {
    const dtd = pick(r, [
      '<!DOCTYPE edXML [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>',
      '<!DOCTYPE edXML SYSTEM "file:///etc/passwd">',
      '<!DOCTYPE edXML [<!ENTITY xxe SYSTEM "file:///etc/hostname">]>',
    ]);
    const decl = b.indexOf('?>');
    const pos = decl >= 0 && r() < 0.7 ? decl + 2 : at(b, r);
    return Buffer.concat([b.subarray(0, pos), Buffer.from(dtd), b.subarray(pos)]);
  },
  injectEntityRef: (b, r) => {
    const pos = at(b, r);
    return Buffer.concat([b.subarray(0, pos), Buffer.from(pick(r, ['&xxe;', '&lol2;', '&#0;', '&#x1F;', '&amp;', '&#65;'])), b.subarray(pos)]);
  },
  hugeText: (b, r) => {
    const e = randomElement(b, r);
    const pos = e ? b.indexOf(0x3e, e[0]) + 1 : at(b, r);
    const size = pick(r, [70 * 1024, 512 * 1024, 3 * 1024 * 1024, 5 * 1024 * 1024]);
    return Buffer.concat([b.subarray(0, pos), Buffer.alloc(size, pick(r, [0x78, 0x41, 0x20])), b.subarray(pos)]);
  },
  deepNesting: (b, r) => {
    const e = randomElement(b, r);
    const pos = e ? e[0] : at(b, r);
    const depth = pick(r, [10, 30, 1000, 100_000]);
    return Buffer.concat([b.subarray(0, pos), Buffer.from('<x>'.repeat(depth) + '</x>'.repeat(depth)), b.subarray(pos)]);
  },
  elementFlood: (b, r) => {
    const e = randomElement(b, r);
    const pos = e ? e[0] : at(b, r);
    return Buffer.concat([b.subarray(0, pos), Buffer.from('<y/>'.repeat(pick(r, [100, 5000, 200_000]))), b.subarray(pos)]);
  },
  attributeFlood: (b, r) => {
    const starts = tagStarts(b);
    if (!starts.length) return b;
    const s = pick(r, starts);
    const nameEnd = b.subarray(s).findIndex((c) => c === 0x20 || c === 0x3e || c === 0x2f) + s;
    const n = pick(r, [5, 40, 10_000]);
    const attrs = Array.from({ length: n }, (_, k) => ` a${k}="${k}"`).join('');
    return Buffer.concat([b.subarray(0, nameEnd), Buffer.from(attrs), b.subarray(nameEnd)]);
  },
  flipBytes: (b, r) => {
    const c = Buffer.from(b);
    const n = 1 + Math.floor(r() * 8);
    for (let k = 0; k < n && c.length; k++) c[Math.floor(r() * c.length)] = Math.floor(r() * 256);
    return c;
  },
  unbalancedMarkup: (b, r) => {
    const pos = at(b, r);
    return Buffer.concat([b.subarray(0, pos), Buffer.from(pick(r, ['<', '</', '<!--', '<![CDATA[', '<?', ']]>', '"', '<a b="', '<:x/>', '<edXML:'])), b.subarray(pos)]);
  },
  corruptBase64: (b, r) => {
    const k = b.indexOf('ContentTransferEncoded');
    if (k < 0) return b;
    const gt = b.indexOf(0x3e, k) + 1;
    const c = Buffer.from(b);
    for (let j = 0; j < 20; j++) c[gt + Math.floor(r() * 2000)] = pick(r, [0x21, 0x3d, 0x20, 0x0a, 0x50]);
    return c;
  },
};

function checkWithinLimits(bytes: Buffer, pkg: EdxmlPackage): void {
  assert.ok(bytes.length <= LIMITS.maxPackageBytes);
  const scan = scanXml(bytes, LIMITS);
  assert.ok(scan.maxDepth <= LIMITS.maxXmlDepth);
  assert.ok(scan.elements <= LIMITS.maxXmlElements);
  if (pkg.kind === 'edoc') {
    let total = 0;
    for (const a of pkg.attachments) {
      assert.ok(a.size <= LIMITS.maxAttachmentBytes);
      total += a.size;
    }
    assert.ok(total <= LIMITS.maxTotalAttachmentBytes);
  }
}

function assertTyped(err: unknown, what: string): asserts err is Rejection {
  if (!(err instanceof Rejection)) {
    assert.fail(`${what}: untyped error ${err instanceof Error ? err.stack : String(err)}`);
  }
  assert.ok((REJECTION_REASONS as readonly string[]).includes(err.reason), `${what}: unknown reason ${err.reason}`);
  assert.ok(err.detail.length <= 1000, `${what}: unbounded detail (${err.detail.length} characters)`);
  if (err.reason === 'limit-exceeded') {
    const key = err.limit?.replace(/^limits\./, '');
    assert.ok(key && key in LIMITS, `${what}: limit-exceeded without a config key (${err.limit})`);
  }
}

describe('edxml mutation fuzz', function () {
  this.timeout(120_000);
  const samples = sampleFiles().map((f) => fs.readFileSync(f));

  it(`${ITERATIONS} mutated samples: a package or a typed Rejection, bounded time, within limits`, async () => {
    const r = prng(0x5eed_edb1);
    const names = Object.keys(MUTATIONS);
    const outcomes: Record<string, number> = {};
    let slowest = 0;
    for (let i = 0; i < ITERATIONS; i++) {
      const base = samples[i % samples.length]!;
      const name = names[Math.floor(r() * names.length)]!;
      let bytes = MUTATIONS[name]!(base, r);
      if (r() < 0.3) bytes = MUTATIONS[pick(r, names)]!(bytes, r); // sometimes two in a row
      const what = `case ${i} (${name})`;
      const t0 = process.hrtime.bigint();
      let pkg: EdxmlPackage | undefined;
      try {
        pkg = readPackage(bytes, LIMITS);
      } catch (err) {
        assertTyped(err, what);
        outcomes[err.limit ?? err.reason] = (outcomes[err.limit ?? err.reason] ?? 0) + 1;
      }
      const v = validatePackage(bytes, LIMITS); // never throws
      assert.equal(typeof v.ok, 'boolean');
      if (pkg) {
        outcomes.accepted = (outcomes.accepted ?? 0) + 1;
        checkWithinLimits(bytes, pkg);
        if (pkg.kind === 'edoc' && pkg.attachments[0]) {
          try {
            await drain(openAttachment(pkg.attachments[0]));
          } catch (err) {
            assertTyped(err, `${what} attachment`);
          }
        }
      }
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      slowest = Math.max(slowest, ms);
      assert.ok(ms < CASE_MS, `${what} took ${ms.toFixed(0)} ms`);
    }
    // The fuzz must exercise both sides: accepted packages and each kind of refusal.
    assert.ok((outcomes.accepted ?? 0) > 20, JSON.stringify(outcomes));
    for (const k of ['malformed-xml', 'dtd-forbidden', 'limits.maxXmlDepth', 'limits.maxTextLength', 'limits.maxXmlElements', 'limits.maxXmlAttributesPerElement', 'limits.maxPackageBytes']) {
      assert.ok((outcomes[k] ?? 0) > 0, `no case was refused with ${k}: ${JSON.stringify(outcomes)}`);
    }
    if (process.env.VDXP_FUZZ_REPORT) console.log(JSON.stringify(outcomes), `slowest ${slowest.toFixed(0)} ms`);
    assert.ok(slowest < CASE_MS);
  });
});
