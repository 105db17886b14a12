import * as fs from 'node:fs';
import * as path from 'node:path';
import type { RegisterCommand } from '../usage';
import { UsageError } from '../usage';
import { loadProfileSettings, ProfileFileError, type ProfileSetting } from '../../transform/mapping/profile-file';
import { referencePackages, REFERENCE_RECIPIENTS, roundTrip, type ConformanceResult } from '../../transform/mapping';

/**
 * `vdxp conformance --config <file> [--samples <dir>]… [--json]`: round-trips the reference
 * packages (and the field samples in each --samples folder) through the vendor's profile(s) and
 * lists every element lost, altered or added. Exit 0 when everything survives; 1 otherwise.
 */
export const registerConformance: RegisterCommand = (program, setExitCode) => {
  program
    .command('conformance')
    .description("round-trip reference packages and field samples through a vendor's profile and report what is lost or altered")
    .requiredOption('--config <file>', 'a profile file or an agency config (each connector is checked)')
    .option('--samples <dir>', 'a folder of edXML field samples to round-trip too (repeatable)', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--json', 'machine-readable output')
    .action((opts: { config: string; samples: string[]; json?: boolean }) => {
      let settings: ProfileSetting[];
      try {
        settings = loadProfileSettings(opts.config);
      } catch (err) {
        if (err instanceof ProfileFileError) throw new UsageError(`--config ${err.message}`);
        throw err;
      }
      const packages = [...referencePackages(), ...opts.samples.flatMap(samplesIn)];
      const report = settings.map((s) => ({
        profile: s.label,
        results: packages.map((p) => roundTrip(p.name, p.bytes, s.profile, s.options, s.organId ?? REFERENCE_RECIPIENTS[0]!)),
      }));
      const clean = report.every((r) => r.results.every((x) => !x.failure && x.differences.length === 0));
      process.stdout.write(opts.json ? `${JSON.stringify({ ok: clean, report })}\n` : render(report));
      setExitCode(clean ? 0 : 1);
    });
};

function samplesIn(dir: string): Array<{ name: string; bytes: Buffer }> {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch (err) {
    throw new UsageError(`--samples ${dir}: ${(err as Error).message}`);
  }
  return names
    .filter((n) => n.endsWith('.edxml') || n.endsWith('.xml'))
    .sort()
    .map((n) => ({ name: n, bytes: fs.readFileSync(path.join(dir, n)) }));
}

function show(v: unknown): string {
  const s = JSON.stringify(v);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

function render(report: Array<{ profile: string; results: ConformanceResult[] }>): string {
  const lines: string[] = [];
  for (const { profile, results } of report) {
    const failed = results.filter((r) => r.failure).length;
    const changed = results.filter((r) => !r.failure && r.differences.length > 0).length;
    lines.push(`${profile}: ${results.length} packages, ${results.length - failed - changed} intact, ${changed} with differences, ${failed} failed`);
    for (const r of results) {
      if (r.failure) {
        lines.push(`  FAILED   ${r.name}: ${r.failure}`);
        continue;
      }
      if (r.differences.length === 0) {
        lines.push(`  intact   ${r.name}`);
        continue;
      }
      lines.push(`  changed  ${r.name}`);
      for (const d of r.differences) {
        if (d.change === 'lost') lines.push(`    lost     ${d.path}  (was ${show(d.before)})`);
        else if (d.change === 'altered') lines.push(`    altered  ${d.path}  ${show(d.before)} → ${show(d.after)}`);
        else lines.push(`    added    ${d.path}  ${show(d.after)}`);
      }
    }
  }
  return `${lines.join('\n')}\n`;
}
