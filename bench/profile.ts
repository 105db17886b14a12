/**
 * Reads a V8 CPU profile (node --cpu-prof) and says where the time went: self time by function
 * and by area (a package under node_modules, a folder of ours, node's internals, GC, idle).
 */
import * as fs from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

export interface ProfileShare {
  name: string;
  percent: number;
}

export interface ProfileSummary {
  file: string;
  busyPercent: number;
  byArea: ProfileShare[];
  byFunction: ProfileShare[];
}

export function areaOf(url: string, functionName: string): string {
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  if (url.startsWith('node:')) return 'node internals';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1]!;
  const ours = /dist\/(src\/[^/]+|bench|test)\//.exec(url);
  if (ours) return ours[1]!;
  return url.replace(/^.*\//, '');
}

export function summarizeProfile(file: string, top = 12): ProfileSummary {
  const profile = JSON.parse(fs.readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfMicros = new Map<number, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  for (let i = 0; i < samples.length; i++) selfMicros.set(samples[i]!, (selfMicros.get(samples[i]!) ?? 0) + (deltas[i] ?? 0));
  const total = [...selfMicros.values()].reduce((a, b) => a + b, 0) || 1;
  const areas = new Map<string, number>();
  const functions = new Map<string, number>();
  let idle = 0;
  for (const [id, micros] of selfMicros) {
    const frame = byId.get(id)?.callFrame;
    if (!frame) continue;
    if (frame.functionName === '(idle)') idle += micros;
    const area = areaOf(frame.url, frame.functionName);
    areas.set(area, (areas.get(area) ?? 0) + micros);
    const fn = `${frame.functionName || '(anonymous)'} ${frame.url ? `${frame.url.replace(/^.*\/(node_modules|dist)\//, '')}:${frame.lineNumber + 1}` : ''}`.trim();
    functions.set(fn, (functions.get(fn) ?? 0) + micros);
  }
  const shares = (m: Map<string, number>) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, micros]) => ({ name, percent: (100 * micros) / total }));
  return { file, busyPercent: (100 * (total - idle)) / total, byArea: shares(areas), byFunction: shares(functions) };
}

if (require.main === module) {
  for (const file of process.argv.slice(2)) {
    const s = summarizeProfile(file, 20);
    process.stdout.write(`${file}: busy ${s.busyPercent.toFixed(1)}%\n  by area:\n`);
    for (const a of s.byArea) process.stdout.write(`    ${a.percent.toFixed(1).padStart(5)}%  ${a.name}\n`);
    process.stdout.write('  by function (self time):\n');
    for (const f of s.byFunction) process.stdout.write(`    ${f.percent.toFixed(1).padStart(5)}%  ${f.name}\n`);
  }
}
