/**
 * `npm run bench` (scripts/bench.sh starts a private broker, then runs this): measures every row
 * of issue 7, prints one table and writes docs/BENCHMARKS.md. Durations come from BENCH_* env
 * variables (bench/settings.ts); BENCH_ROWS picks rows, e.g. BENCH_ROWS=documents,cold.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { makeTestPki } from '../test/support/pki';
import { documentCostRows, signatureRows, type DocumentCostRow, type SignatureRow } from './document-costs';
import { coldStartRow, flowRows, largeDocumentRows, log, preparePair, profiledRun } from './pipeline-rows';
import { summarizeProfile, type ProfileSummary } from './profile';
import { benchmarksMarkdown, textTable, type Row } from './report';
import { nonDefaultEnv, settingsFrom } from './settings';
import { fmt, ratio } from './stats';
import { trailRows } from './trail';
import { vxpSdkRow } from './vxp-sdk';

/** How long A and B run saturated under the profiler, after (and apart from) the measured rows. */
const PROFILED_SECONDS = 30;

function documentRows(signature: SignatureRow[], costs: DocumentCostRow[]): Row[] {
  const rows: Row[] = [];
  for (const s of signature) {
    const target = s.size === '100 KB' ? { target: '≤ 2× xmlsec1', met: s.verifyRatio <= 2 } : {};
    rows.push({ name: `Verify ${s.size}`, measured: `${fmt(s.oursVerifyMs)} ms`, reference: `xmlsec1 ${fmt(s.xmlsecVerifyMs)} ms`, ratio: ratio(s.oursVerifyMs, s.xmlsecVerifyMs), ...target });
  }
  for (const s of signature) {
    rows.push({ name: `Sign ${s.size}`, measured: `${fmt(s.oursSignMs)} ms`, reference: `xmlsec1 ${fmt(s.xmlsecSignMs)} ms`, ratio: ratio(s.oursSignMs, s.xmlsecSignMs) });
  }
  for (const s of signature) {
    const name = `Sign ${s.size} through a PKCS#11 token (SoftHSM2)`;
    if (s.tokenSignMs === null) rows.push({ name, measured: 'not measured', reference: `PEM key ${fmt(s.oursSignMs)} ms`, ratio: 'n/a', note: 'softhsm2 or opensc not installed' });
    else rows.push({ name, measured: `${fmt(s.tokenSignMs)} ms`, reference: `PEM key ${fmt(s.oursSignMs)} ms`, ratio: ratio(s.tokenSignMs, s.oursSignMs) });
  }
  const xmlsecVerify = new Map(signature.map((s) => [s.size, s.xmlsecVerifyMs]));
  for (const [label, pick] of [
    ['Parse (readPackageFacts)', (c: DocumentCostRow) => c.parseMs],
    ['Send path (facts + sign)', (c: DocumentCostRow) => c.sendPathMs],
    ['Receive path (facts + verify)', (c: DocumentCostRow) => c.receivePathMs],
  ] as const) {
    for (const c of costs) {
      const ref = xmlsecVerify.get(c.size) ?? Number.NaN;
      rows.push({ name: `${label} ${c.size}`, measured: `${fmt(pick(c))} ms`, reference: `xmlsec1 verify ${fmt(ref)} ms`, ratio: ratio(pick(c), ref) });
    }
  }
  return rows;
}

async function main(): Promise<void> {
  const settings = settingsFrom(process.env);
  const started = Date.now();
  const pki = await makeTestPki();
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'vdxp-bench-'));
  const rows: Row[] = [];
  const notes: string[] = [];
  const profiles: ProfileSummary[] = [];
  try {
    const pair = await preparePair(base, settings, pki);
    if (settings.rows.has('documents')) {
      log('per document: verify and sign next to xmlsec1 (bench/signature.ts)');
      const signature = signatureRows();
      log('per document: parse, send path, receive path');
      rows.push(...documentRows(signature, await documentCostRows(pki, pair.a.organId, pair.b.organId)));
    }
    if (settings.rows.has('e2e') || settings.rows.has('steady')) {
      rows.push(...(await flowRows(pair, settings, notes)));
      if (settings.profileDir) {
        fs.mkdirSync(settings.profileDir, { recursive: true });
        await profiledRun(pair, settings, settings.profileDir, PROFILED_SECONDS);
        for (const f of fs.readdirSync(settings.profileDir).filter((n) => n.endsWith('.cpuprofile')).sort()) {
          profiles.push(summarizeProfile(path.join(settings.profileDir, f)));
        }
      }
    }
    if (settings.rows.has('vxp')) {
      log(`VXP SDK: ${settings.vxpDocuments} documents through the SDK's send and receive loops (bench/vxp-sdk.ts)`);
      const fileDrop = rows.find((r) => r.name.startsWith('End to end, signed'));
      rows.push(await vxpSdkRow(pair, settings.vxpDocuments, fileDrop ? fileDrop.measured : '(e2e row not run)'));
    }
    if (settings.rows.has('large') && settings.largeMiB > 0) rows.push(...(await largeDocumentRows(pair, settings, notes)));
    if (settings.rows.has('cold')) {
      log('cold start');
      rows.push(await coldStartRow(base, settings, pki));
    }
    if (settings.rows.has('trail')) {
      log(`trail read model: rebuild of ${settings.trailRecords.join(', ')} records (bench/trail.ts)`);
      rows.push(...(await trailRows(settings.brokers, settings.trailRecords, notes)));
    }
  } finally {
    fs.rmSync(base, { recursive: true, force: true });
  }

  const commandLine = nonDefaultEnv(process.env).length > 0 ? `${nonDefaultEnv(process.env).join(' ')} npm run bench` : 'npm run bench';
  process.stdout.write(`\n${textTable(rows)}\n`);
  for (const n of notes) process.stdout.write(`note: ${n}\n`);
  process.stdout.write(`(${Math.round((Date.now() - started) / 1000)} s)\n`);
  if (settings.outFile) {
    fs.writeFileSync(settings.outFile, benchmarksMarkdown(rows, commandLine, notes, profiles));
    process.stdout.write(`written to ${settings.outFile}\n`);
  }
}

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exitCode = 1;
});
