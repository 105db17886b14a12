/** The one table a bench run prints, and docs/BENCHMARKS.md around it. */
import { execSync } from 'node:child_process';
import * as os from 'node:os';
import type { ProfileSummary } from './profile';

export interface Row {
  name: string;
  measured: string;
  reference: string;
  ratio: string;
  target?: string;
  /** undefined: no target for this row; null: the target could not be measured. */
  met?: boolean | null;
  note?: string;
}

export function verdict(row: Row): string {
  if (row.target === undefined) return '';
  if (row.met === null || row.met === undefined) return 'not measured';
  return row.met ? 'met' : 'NOT met';
}

const HEAD = ['Row', 'Measured', 'Reference (same run)', 'Ratio', 'Target', 'Verdict'];

function cells(row: Row): string[] {
  return [row.name, row.measured, row.reference, row.ratio, row.target ?? '', verdict(row)];
}

export function textTable(rows: Row[]): string {
  const all = [HEAD, ...rows.map(cells)];
  const widths = HEAD.map((_, i) => Math.max(...all.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(HEAD), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map((r) => line(cells(r)))].join('\n');
}

export function markdownTable(rows: Row[]): string {
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  return [
    `| ${HEAD.join(' | ')} |`,
    `|${HEAD.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${cells(r).map(esc).join(' | ')} |`),
  ].join('\n');
}

export function machineDescription(): string[] {
  const cpus = os.cpus();
  const git = (cmd: string) => {
    try {
      return execSync(cmd, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    } catch {
      return '?';
    }
  };
  const dirty = git('git status --porcelain --untracked-files=no') ? ' (with uncommitted changes)' : '';
  return [
    `CPU: ${cpus.length} × ${cpus[0]?.model ?? '?'}; load average at the end ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`,
    `Memory: ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB; ${os.type()} ${os.release()} ${os.arch()}`,
    `Node ${process.version}; Kafka ${process.env.KAFKA_VERSION ?? '?'} (single KRaft node on the same machine, log.flush.interval.messages=1); xmlsec1 ${git('xmlsec1 --version').replace(/^xmlsec1\s*/, '')}`,
    `Commit ${git('git rev-parse --short HEAD')}${dirty}; run ${new Date().toISOString()}`,
  ];
}

export function benchmarksMarkdown(rows: Row[], command: string, notes: string[], profiles: ProfileSummary[]): string {
  const out: string[] = [];
  out.push('# Benchmarks', '');
  out.push('Written by `npm run bench` (scripts/bench.sh → bench/main.ts); do not edit by hand, rerun it.');
  out.push('The machine is shared and noisy, so each figure stands next to a reference measured in the same run, and the ratio is what compares across runs.', '');
  out.push('## Command', '', '```', command, '```', '');
  out.push('## Machine', '', ...machineDescription().map((l) => `- ${l}`), '');
  out.push('## Results', '', markdownTable(rows), '');
  const targets = rows.filter((r) => r.target !== undefined);
  if (targets.length > 0) {
    out.push('## Targets (issue 7)', '');
    for (const r of targets) out.push(`- ${r.name}: target ${r.target}: **${verdict(r)}**, measured ${r.measured} (reference ${r.reference}, ${r.ratio}).`);
    out.push('');
  }
  if (notes.length > 0) out.push('## Notes', '', ...notes.map((n) => `- ${n}`), '');
  out.push('## Method', '');
  out.push(
    '- **Per document** (10 KB, 100 KB, 1 MB packages built from the field sample): verify and sign come from `bench/signature.ts` (in process, after warm-up, mean of a timed loop; xmlsec1 as the marginal cost of one more file on its command line, so process start and key loading are excluded). Parse is `readPackageFacts` (pre-scan, parse, read the model); the send path is what agency A does per document (read facts, sign), the receive path what agency B does (read facts, verify per policy), as `src/pipeline/signature-support.ts` composes them. Their reference is xmlsec1 verifying a file of the same size.',
    '- **Sign through a PKCS#11 token**: the same `signPackage` with the agency key in a SoftHSM2 token made for the run (generated inside it, not extractable; the token computes RSA-SHA256 over the canonical SignedInfo through pkcs11js, `src/signature/pkcs11`), measured in the same rounds as the PEM key, which is its reference. A hardware token or network HSM adds its own latency per signature on top.',
    '- **End to end**: two connector processes (`vdxp run`), A signing for its legacy system and B verifying against the test PKI (policy `required`), file-drop outbox → Kafka (3 partitions, acks=all, idempotent) → file-drop inbox (fsync). Unsigned 100 KB packages with distinct DocumentIds are dropped into A\'s outbox (temporary name, rename) keeping a fixed backlog in flight; latency runs from the rename into A\'s outbox to the file appearing under its final name in B\'s inbox. Before the measured window the same load runs unreported for `BENCH_E2E_WARMUP_SECONDS` (60 s): on a freshly started broker its JIT compiler thread took about a third of a core for the first minute, which a long-running backbone broker does not pay. The reference is a raw Kafka pipe of the same bytes through the connector\'s own producer and consumer classes with no processing, same backlog, same duration, same broker.',
    '- **Steady rate**: the same path with documents dropped on a fixed schedule (open loop); the reference is the raw pipe at the same rate.',
    "- **VXP SDK loops** (`bench/vxp-sdk.ts`): the same two agencies (A signing, B verifying) with one `vxp` connector each instead of the file drop. The real SDK 2.0.1 (one JVM per side) sends `BENCH_VXP_DOCS` (500) unsigned 100 KB packages with `sendEdoc` at A, one after the other; at the same time B's SDK runs its receive loop (`getReceivedEdocList` → `getEdoc` → `updateStatus(done)`) until every one is confirmed. It reports documents confirmed per second from the first send, and the send loop alone. The reference is the file-drop end-to-end row of the same run.",
    '- **Idle RSS after the end-to-end rows**: A and B started again after those rows, VmHWM once ready: their trails hold every document of the rows, and the trail read model keeps them all in memory (docs/TRAIL.md); the reference is the idle RSS of the large document row, on empty trails.',
    '- **Large document**: one package of the given size dropped into a fresh A, with both agencies\' trail topics deleted first (the row above is what a long trail adds); peak RSS is each process\'s VmHWM from /proc; the reference is the same processes\' VmHWM after start, before the drop.',
    '- **Cold start**: spawn of `vdxp run` (broker up, topics existing after the first run) until `/readyz` answers 200, median of several runs; the reference is a bare `node` HTTP server started and polled the same way.',
    '',
  );
  if (profiles.length > 0) {
    out.push('## CPU profiles (a separate saturated run of fresh A and B under node --cpu-prof, after the measured rows)', '');
    for (const p of profiles) {
      out.push(`### ${p.file.replace(/^.*\//, '')} (busy ${p.busyPercent.toFixed(0)}% of wall time)`, '');
      out.push('Self time by area: ' + p.byArea.map((a) => `${a.name} ${a.percent.toFixed(1)}%`).join(', ') + '.', '');
      out.push('Top functions by self time:', '');
      for (const f of p.byFunction) out.push(`- ${f.percent.toFixed(1)}% \`${f.name}\``);
      out.push('');
    }
  }
  return out.join('\n');
}
