/**
 * Per-document CPU cost at 10 KB, 100 KB and 1 MB. Signing and verifying next to xmlsec1 come
 * from the signature engineer's bench/signature.ts (run as a child, --json); this file adds the
 * parse (readPackageFacts, what the pipeline does first with every package) and the whole send
 * and receive paths as the pipeline composes them (src/pipeline/signature-support.ts).
 */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { DEFAULT_LIMITS } from '../src/limits';
import type { AgencyConfig } from '../src/config/types';
import { createLogger } from '../src/observability/log';
import { createMetrics } from '../src/observability/metrics';
import { readPackageFacts } from '../src/pipeline/package-facts';
import { loadSignatureSupport } from '../src/pipeline/signature-support';
import type { TestPki } from '../test/support/pki';
import { PackageFactory } from './packages';
import { median, timeInProcess } from './stats';

const ROUNDS = 3;

export const DOCUMENT_SIZES = [
  { label: '10 KB', bytes: 10 * 1024 },
  { label: '100 KB', bytes: 100 * 1024 },
  { label: '1 MB', bytes: 1024 * 1024 },
];

export interface SignatureRow {
  size: string;
  bytes: number;
  oursVerifyMs: number;
  xmlsecVerifyMs: number;
  verifyRatio: number;
  oursSignMs: number;
  xmlsecSignMs: number;
  signRatio: number;
  /** signPackage with the key in a SoftHSM2 token; null when softhsm2/opensc are not installed. */
  tokenSignMs: number | null;
  /** tokenSignMs / oursSignMs (same rounds). */
  tokenSignRatio: number | null;
}

export interface DocumentCostRow {
  size: string;
  /** readPackageFacts: pre-scan, parse, read the model. */
  parseMs: number;
  /** What agency A spends per document: read facts, sign. */
  sendPathMs: number;
  /** What agency B spends per document: read facts, verify per policy. */
  receivePathMs: number;
}

/** Runs dist/bench/signature.js --json: verify and sign next to xmlsec1, in its own process. */
export function signatureRows(): SignatureRow[] {
  const script = path.join(__dirname, 'signature.js');
  const r = spawnSync(process.execPath, [script, '--json'], { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`bench/signature.js failed (${r.status}): ${r.stderr.slice(0, 2000)}`);
  return JSON.parse(r.stdout) as SignatureRow[];
}

export async function documentCostRows(pki: TestPki, from: string, to: string): Promise<DocumentCostRow[]> {
  const config = {
    organId: to,
    kafka: { brokers: ['127.0.0.1:1'], topics: { partitions: 1, replicationFactor: 1 } },
    signing: { keyFile: pki.h41.keyPath, certFile: pki.h41.certPath },
    trust: { anchors: [pki.rootCaPath], crls: [pki.crlPath], defaultPolicy: 'required' },
    connectors: [],
    limits: { ...DEFAULT_LIMITS },
    ops: { port: 0, host: '127.0.0.1' },
  } as unknown as AgencyConfig;
  const log = createLogger({ organId: to, level: 'error' });
  const support = await loadSignatureSupport(config, log, createMetrics({ organId: to }));
  const rows: DocumentCostRow[] = [];
  try {
    for (const size of DOCUMENT_SIZES) {
      const unsigned = new PackageFactory(from, to, size.bytes).next().bytes;
      const signed = support.sign!(unsigned);
      // Interleaved rounds, median of each: a burst of load on the shared machine hits one round, not one measure.
      const samples = { parse: [] as number[], send: [] as number[], receive: [] as number[] };
      for (let round = 0; round < ROUNDS; round++) {
        samples.parse.push(timeInProcess(() => readPackageFacts(signed, config.limits)));
        samples.send.push(
          timeInProcess(() => {
            // As src/pipeline/send.ts does it: sign the very parse the facts were read from.
            support.signParsed!(readPackageFacts(unsigned, config.limits).parsed!);
          }),
        );
        samples.receive.push(timeInProcess(() => support.verify!(signed, readPackageFacts(signed, config.limits))));
      }
      rows.push({ size: size.label, parseMs: median(samples.parse), sendPathMs: median(samples.send), receivePathMs: median(samples.receive) });
    }
  } finally {
    support.close();
  }
  return rows;
}
