/**
 * CPU time of processes from /proc (user + system), to say where the CPU of a document goes when
 * the machine is saturated: the connectors A and B and the Kafka broker share its cores.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const TICKS_PER_SECOND = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

/** CPU milliseconds a process has used so far; NaN when it is gone. */
export function cpuMsOf(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  try {
    // Fields after the command name (which may hold spaces) start at ")": utime and stime are the 12th and 13th.
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
  } catch {
    return Number.NaN;
  }
}

/** The bench broker's pid, from scripts/kafka.sh's pid file. */
export function brokerPid(brokers: string): number | undefined {
  const port = brokers.split(':').pop();
  const runDir = process.env.VDXP_RUN_DIR ?? path.join(os.tmpdir(), 'vdxp-bench');
  try {
    return Number(fs.readFileSync(path.join(runDir, `kafka-${port}`, 'kafka.pid'), 'utf8').trim());
  } catch {
    return undefined;
  }
}

export const CORES = os.cpus().length;
