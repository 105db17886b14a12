/**
 * Two real connector processes for the end-to-end rows: agency A (sender, signs for its legacy
 * system) and agency B (receiver, verifies against the test PKI's root and CRL), each
 * `node dist/src/cli/main.js run --config …` with a file-drop outbox/inbox, as an operator runs it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as YAML from 'yaml';
import type { TestCredential, TestPki } from '../test/support/pki';
import { sleep } from './stats';

const REPO_ROOT = path.resolve(__dirname, '..', '..');
export const CLI = path.join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js');

export interface AgencySetup {
  organId: string;
  root: string;
  outbox: string;
  inbox: string;
  configPath: string;
  logPath: string;
  opsPort: number;
}

export interface AgencyRole {
  /** Signs what its source hands over (agency A). */
  signer?: TestCredential;
  /** Verifies what it receives against the PKI (agency B). */
  verifies?: boolean;
  source: boolean;
  sink: boolean;
}

export function writeAgencyConfig(base: string, organId: string, brokers: string, pki: TestPki, role: AgencyRole, opsPort: number): AgencySetup {
  const root = path.join(base, organId);
  const setup: AgencySetup = {
    organId,
    root,
    outbox: path.join(root, 'outbox'),
    inbox: path.join(root, 'inbox'),
    configPath: path.join(root, 'agency.yaml'),
    logPath: path.join(root, 'connector.log'),
    opsPort,
  };
  fs.mkdirSync(setup.outbox, { recursive: true });
  fs.mkdirSync(setup.inbox, { recursive: true });
  const connectors = [
    ...(role.source ? [{ name: 'outbox', type: 'file-drop', direction: 'source', profile: 'edxml', options: { dir: setup.outbox, pollIntervalMs: 100 } }] : []),
    ...(role.sink ? [{ name: 'inbox', type: 'file-drop', direction: 'sink', profile: 'edxml', options: { dir: setup.inbox } }] : []),
  ];
  const config = {
    organId,
    organName: `Benchmark agency ${organId}`,
    kafka: { brokers: [brokers], topics: { partitions: 3, replicationFactor: 1 } },
    ...(role.signer ? { signing: { keyFile: role.signer.keyPath, certFile: role.signer.certPath } } : {}),
    trust: role.verifies ? { anchors: [pki.rootCaPath], crls: [pki.crlPath, pki.intermediateCrlPath], defaultPolicy: 'required' } : { insecureSkipVerification: true },
    connectors,
    ops: { port: opsPort, host: '127.0.0.1' },
  };
  fs.writeFileSync(setup.configPath, YAML.stringify(config));
  return setup;
}

export interface StartOptions {
  /** Write a V8 CPU profile into this folder when the process exits. */
  cpuProfileDir?: string;
}

export class AgencyProcess {
  private readonly exited: Promise<number | null>;

  private constructor(
    readonly child: ChildProcess,
    readonly setup: AgencySetup,
    readonly spawnedAt: number,
  ) {
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  /** Spawns the connector; resolves at once (see waitReady). */
  static spawn(setup: AgencySetup, options: StartOptions = {}): AgencyProcess {
    const log = fs.openSync(setup.logPath, 'a');
    const nodeArgs = options.cpuProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${options.cpuProfileDir}`, `--cpu-prof-name=${setup.organId}.cpuprofile`] : [];
    const spawnedAt = performance.now();
    const child = spawn(process.execPath, [...nodeArgs, CLI, 'run', '--config', setup.configPath], {
      stdio: ['ignore', log, log],
      // info, as in production: the per-document log lines are part of the cost.
      env: { ...process.env, VDXP_LOG_LEVEL: 'info' },
    });
    fs.closeSync(log);
    return new AgencyProcess(child, setup, spawnedAt);
  }

  static async start(setup: AgencySetup, options: StartOptions = {}): Promise<AgencyProcess> {
    const agency = AgencyProcess.spawn(setup, options);
    await agency.waitReady(60_000);
    return agency;
  }

  /** Milliseconds from spawn until /readyz first answered 200. */
  async waitReady(timeoutMs: number): Promise<number> {
    return waitForReadyz(this.setup.opsPort, this.spawnedAt, timeoutMs, () => this.child.exitCode !== null, this.setup.logPath);
  }

  /** Peak resident set size so far (VmHWM), in MiB; NaN once the process is gone. */
  peakRssMiB(): number {
    return peakRssMiBOf(this.child.pid);
  }

  async stop(): Promise<number | null> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 30_000);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }

  logLines(): string[] {
    return fs.existsSync(this.setup.logPath) ? fs.readFileSync(this.setup.logPath, 'utf8').split('\n') : [];
  }

  /** How often this connector's consumer lost its partitions (a rebalance: the group session expired or a member changed). */
  revocations(): number {
    return this.logLines().filter((l) => l.includes('partitions revoked')).length;
  }

  lastLogLines(n: number): string {
    const text = fs.existsSync(this.setup.logPath) ? fs.readFileSync(this.setup.logPath, 'utf8') : '';
    return text.trim().split('\n').slice(-n).join('\n');
  }
}

/** Polls http://127.0.0.1:<port>/readyz every 5 ms; milliseconds from `since` to the first 200. */
export async function waitForReadyz(port: number, since: number, timeoutMs: number, gone: () => boolean, logPath?: string): Promise<number> {
  const deadline = since + timeoutMs;
  while (performance.now() < deadline) {
    const ok = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(1_000) }).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ok) return performance.now() - since;
    if (gone()) throw new Error(`the process exited before it was ready${logPath ? ` (log: ${logPath})` : ''}`);
    await sleep(5);
  }
  throw new Error(`not ready within ${timeoutMs} ms${logPath ? ` (log: ${logPath})` : ''}`);
}

export function peakRssMiBOf(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = /^VmHWM:\s+(\d+) kB/m.exec(status);
    return kb ? Number(kb[1]) / 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

