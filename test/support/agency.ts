/**
 * Runs real connector processes (`node dist/src/cli/main.js run`) against the test Kafka, so
 * tests can drop files, kill processes and watch folders the way an operator would.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as YAML from 'yaml';
import { deadLetterTopic } from '../../src/broker/topics';
import { REPO_ROOT } from './paths';
import { pickPort } from './ports';

export const TEST_BROKERS = process.env.VDXP_TEST_KAFKA_BROKERS ?? '127.0.0.1:19092';
const CLI = path.join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js');

export interface AgencyDirs {
  organId: string;
  root: string;
  outbox: string;
  inbox: string;
  configPath: string;
  logPath: string;
}

let counter = 0;
/** A fresh OrganId per test, so topics and consumer groups never carry over between tests. */
export function uniqueOrganId(suffix: string): string {
  counter += 1;
  return `${String(process.pid % 1000).padStart(3, '0')}.${String(counter).padStart(2, '0')}.${String(Date.now() % 100).padStart(2, '0')}.${suffix}`;
}

export function prepareAgency(base: string, organId: string, extra: Record<string, unknown> = {}): AgencyDirs {
  const root = path.join(base, organId);
  const dirs = { organId, root, outbox: path.join(root, 'outbox'), inbox: path.join(root, 'inbox'), configPath: path.join(root, 'agency.yaml'), logPath: path.join(root, 'connector.log') };
  fs.mkdirSync(dirs.outbox, { recursive: true });
  fs.mkdirSync(dirs.inbox, { recursive: true });
  const config = {
    organId,
    organName: `Test agency ${organId}`,
    kafka: { brokers: [TEST_BROKERS], topics: { partitions: 3, replicationFactor: 1 } },
    // A test agency that is given no trust material verifies nothing, by the explicit opt-out.
    trust: { insecureSkipVerification: true },
    connectors: [
      { name: 'outbox', type: 'file-drop', direction: 'source', profile: 'edxml', options: { dir: dirs.outbox, pollIntervalMs: 100 } },
      { name: 'inbox', type: 'file-drop', direction: 'sink', profile: 'edxml', options: { dir: dirs.inbox } },
    ],
    ops: { port: pickPort(), host: '127.0.0.1' },
    ...extra,
  };
  fs.writeFileSync(dirs.configPath, YAML.stringify(config));
  return dirs;
}

export class AgencyProcess {
  private exited: Promise<number | null>;

  private constructor(
    readonly child: ChildProcess,
    readonly dirs: AgencyDirs,
  ) {
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  /**
   * Spawns `vdxp run` and, unless `waitUntilRunning` is false, waits for its `connector running`
   * line (tests of a connector that cannot reach Kafka watch /readyz and the log instead).
   */
  static async start(dirs: AgencyDirs, env: Record<string, string> = {}, options: { waitUntilRunning?: boolean } = {}): Promise<AgencyProcess> {
    const log = fs.openSync(dirs.logPath, 'a');
    const child = spawn(process.execPath, [CLI, 'run', '--config', dirs.configPath], {
      stdio: ['ignore', log, log],
      env: { ...process.env, VDXP_LOG_LEVEL: 'info', ...env },
    });
    fs.closeSync(log);
    const agency = new AgencyProcess(child, dirs);
    if (options.waitUntilRunning === false) return agency;
    await waitFor(() => agency.logText().includes('connector running'), 90_000, `${dirs.organId} to start (log: ${dirs.logPath})`, () => agency.child.exitCode !== null);
    return agency;
  }

  isAlive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  logText(): string {
    return fs.existsSync(this.dirs.logPath) ? fs.readFileSync(this.dirs.logPath, 'utf8') : '';
  }

  kill(signal: NodeJS.Signals): Promise<number | null> {
    this.child.kill(signal);
    return this.exited;
  }

  async stop(): Promise<number | null> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return this.exited;
    return this.kill('SIGTERM');
  }
}

/** Poll until cond() holds; fail with `what` after timeoutMs, or at once if abort() holds. */
export async function waitFor(cond: () => boolean | Promise<boolean>, timeoutMs: number, what: string | (() => string), abort?: () => boolean): Promise<void> {
  const description = () => (typeof what === 'function' ? what() : what);
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await cond()) return;
    if (abort?.()) throw new Error(`gave up waiting for ${description()}: the process exited`);
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${description()}`);
}

/** Files delivered into a folder (not the temp dir, not sent/ or rejected/). */
/** The `vdxp-reject-reason` of every record on the agency's dead-letter topic, read with kcat. */
export function deadLetterReasons(organId: string): string[] {
  const out = execFileSync('kcat', ['-b', TEST_BROKERS, '-t', deadLetterTopic(organId), '-C', '-e', '-q', '-J'], { encoding: 'utf8', timeout: 20_000 });
  return out
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const headers = (JSON.parse(line) as { headers?: string[] }).headers ?? [];
      const at = headers.indexOf('vdxp-reject-reason');
      return at >= 0 ? headers[at + 1]! : '';
    });
}

export function deliveredFiles(dir: string): string[] {
  return fs.readdirSync(dir).filter((f) => f.endsWith('.edxml') && fs.statSync(path.join(dir, f)).isFile());
}

/** Writes a package into an outbox the way the completeness rule asks: a temporary name, then a rename. */
export function dropPackage(outbox: string, name: string, bytes: Buffer): void {
  const tmp = path.join(outbox, `.${name}.part`);
  fs.writeFileSync(tmp, bytes);
  fs.renameSync(tmp, path.join(outbox, name));
}

/**
 * Mocha hooks for a suite that runs connector processes: a fresh base folder per test, and every
 * process started through `start` is stopped after the test.
 */
export function useAgencyProcesses(prefix: string): { base(): string; start(dirs: AgencyDirs): Promise<AgencyProcess>; forget(p: AgencyProcess): void } {
  let base = '';
  const running: AgencyProcess[] = [];
  beforeEach(() => {
    base = fs.mkdtempSync(path.join(os.tmpdir(), `${prefix}-`));
  });
  afterEach(async () => {
    await Promise.all(running.splice(0).map((p) => p.stop()));
  });
  return {
    base: () => base,
    start: async (dirs) => {
      const p = await AgencyProcess.start(dirs);
      running.push(p);
      return p;
    },
    forget: (p) => {
      const i = running.indexOf(p);
      if (i >= 0) running.splice(i, 1);
    },
  };
}

/**
 * Writes `<dir>/<OrganId>.yaml` for a receiving agency whose sink is a legacy system over HTTP
 * (native edXML profile), as the delivery and fault tests run it; with `amqpSink` (the AMQP sink's
 * options), a second sink publishes to RabbitMQ after it.
 */
export function writeHttpSinkAgencyConfig(
  dir: string,
  options: { organId: string; brokers: string; sinkUrl: string; delivery: Record<string, unknown>; amqpSink?: Record<string, unknown> },
): string {
  const configPath = path.join(dir, `${options.organId}.yaml`);
  const connectors: Array<Record<string, unknown>> = [{ name: 'legacy-http', type: 'http', direction: 'sink', profile: 'edxml', options: { url: options.sinkUrl } }];
  if (options.amqpSink) connectors.push({ name: 'legacy-amqp', type: 'amqp', direction: 'sink', profile: 'edxml', options: options.amqpSink });
  fs.writeFileSync(
    configPath,
    YAML.stringify({
      organId: options.organId,
      kafka: { brokers: [options.brokers], topics: { partitions: 3, replicationFactor: 1 } },
      trust: { insecureSkipVerification: true },
      connectors,
      ops: { port: pickPort(), host: '127.0.0.1' },
      delivery: options.delivery,
    }),
  );
  return configPath;
}
