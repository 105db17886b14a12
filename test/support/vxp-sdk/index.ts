/**
 * The Government Office's VXP SDK (../shared/vxp-sdk, SDKVXP 2.0.0 and 2.0.1) as a real client in
 * tests. Its Maven dependencies are fetched and VxpSdkDriver.java is compiled at first use, into a
 * cache under the system's temp folder; then each VxpSdkClient is one JVM running the driver, which
 * takes one command per line and answers one JSON line (see VxpSdkDriver.java).
 *
 * The SDK stamps its timestamp when its service objects are made and keeps one header map per
 * object; `renew()` makes new ones, as a legacy system does when it builds the SDK per cycle.
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { REPO_ROOT, SHARED_DIR } from '../paths';

export type SdkVersion = '2.0.0' | '2.0.1';
export const SDK_VERSIONS: SdkVersion[] = ['2.0.0', '2.0.1'];
export const VXP_SDK_DIR = path.join(SHARED_DIR, 'vxp-sdk');
const DRIVER_SOURCE = path.join(REPO_ROOT, 'test', 'support', 'vxp-sdk', 'VxpSdkDriver.java');

/** What the SDK's BasicResult holds (Gson writes the Java field names). */
export interface SdkBasicResult {
  status?: string;
  errorCode?: string;
  errorDesc?: string;
}
export interface SdkSendResult extends SdkBasicResult {
  docID?: string;
}
export interface SdkKnobstick {
  id?: string;
  status?: string;
  statusDesc?: string;
  createdTime?: string;
  updatedTime?: string;
  messageType?: string;
  serviceType?: string;
  from?: string;
  to?: string;
}
export interface SdkReceivedList extends SdkBasicResult {
  knobsticks?: SdkKnobstick[];
}
export interface SdkGetEdocResult extends SdkBasicResult {
  filePath?: string;
  data?: string;
}
export interface SdkSentList extends SdkBasicResult {
  statusResult?: Array<Record<string, string | undefined>>;
}
export interface SdkAgencies extends SdkBasicResult {
  agencies?: Array<{ id?: string; pid?: string; code?: string; name?: string; mail?: string; oldCode?: string; code102?: string }>;
}
export interface SdkSynchronizeUnits extends SdkBasicResult {
  unitSynchronize?: Array<Record<string, unknown>>;
}
export interface SdkCount extends SdkBasicResult {
  count?: number;
}
export interface SdkReceiveLoop {
  list: SdkReceivedList | null;
  items: Array<{ id: string; getEdoc: (SdkBasicResult & { filePath?: string }) | null; update?: SdkBasicResult }>;
}

/** The SDK threw (a crash in the legacy system): its exception text and stack. */
export class SdkCrash extends Error {
  constructor(
    readonly op: string,
    readonly javaError: string,
    readonly trace: string,
  ) {
    super(`SDK ${op} threw ${javaError}`);
  }
}

let depsDir: string | undefined;

/** The SDK's runtime dependencies from Maven Central, fetched once per machine. */
export function vxpSdkDependencies(): string {
  if (depsDir) return depsDir;
  const pom = path.join(VXP_SDK_DIR, 'pom.xml');
  const key = createHash('sha256').update(fs.readFileSync(pom)).digest('hex').slice(0, 12);
  const dir = path.join(os.tmpdir(), `vdxp-vxp-sdk-deps-${key}`);
  if (!fs.existsSync(path.join(dir, '.complete'))) {
    const staging = `${dir}.${process.pid}`;
    fs.rmSync(staging, { recursive: true, force: true });
    const r = spawnSync('mvn', ['-q', '-B', '-f', pom, 'dependency:copy-dependencies', `-DoutputDirectory=${staging}`], { encoding: 'utf8', timeout: 600_000 });
    if (r.status !== 0) throw new Error(`mvn could not fetch the VXP SDK's dependencies (${r.status}): ${r.stdout}\n${r.stderr}`);
    fs.writeFileSync(path.join(staging, '.complete'), '');
    try {
      fs.renameSync(staging, dir);
    } catch {
      fs.rmSync(staging, { recursive: true, force: true }); // another process got there first
    }
  }
  return (depsDir = dir);
}

const compiled = new Map<SdkVersion, string>();

/** The driver compiled against one SDK version; returns the class path to run it with. */
export function vxpSdkClassPath(version: SdkVersion): string {
  const sdkJar = path.join(VXP_SDK_DIR, 'lib', `SDKVXP-${version}.jar`);
  const deps = vxpSdkDependencies();
  let classes = compiled.get(version);
  if (!classes) {
    const key = createHash('sha256').update(fs.readFileSync(DRIVER_SOURCE)).update(version).digest('hex').slice(0, 12);
    classes = path.join(os.tmpdir(), `vdxp-vxp-sdk-driver-${key}`);
    if (!fs.existsSync(path.join(classes, 'VxpSdkDriver.class'))) {
      const staging = `${classes}.${process.pid}`;
      fs.mkdirSync(staging, { recursive: true });
      const r = spawnSync('javac', ['-nowarn', '-d', staging, '-cp', `${sdkJar}:${deps}/*`, DRIVER_SOURCE], { encoding: 'utf8', timeout: 120_000 });
      if (r.status !== 0) throw new Error(`javac VxpSdkDriver.java against SDK ${version} failed: ${r.stderr}`);
      try {
        fs.renameSync(staging, classes);
      } catch {
        fs.rmSync(staging, { recursive: true, force: true });
      }
    }
    compiled.set(version, classes);
  }
  return `${sdkJar}:${deps}/*:${classes}`;
}

export interface VxpSdkClientOptions {
  version: SdkVersion;
  /** The SDK's service.endpoint, e.g. https://127.0.0.1:1234 or http://… */
  endpoint: string;
  systemId: string;
  secret: string;
  /** The JVM's zone (the SDK writes its local time with no zone); default Asia/Ho_Chi_Minh. */
  timeZone?: string;
  /** Where getEdoc saves packages unless a call names another folder. */
  storeDir?: string;
  /** A truststore for https endpoints signed by a test CA (javax.net.ssl.trustStore). */
  trustStore?: { file: string; password: string };
  /** JVM heap, e.g. '3g' for 200 MB packages (the SDK holds a package as a base64 String). */
  maxHeap?: string;
}

/** One JVM running the real SDK against one endpoint, as a legacy system would. */
export class VxpSdkClient {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly answers: string[] = [];
  private waiting: Array<(line: string | undefined) => void> = [];
  private stderrTail = '';
  private queue: Promise<unknown> = Promise.resolve();
  private readonly dir: string;

  constructor(readonly options: VxpSdkClientOptions) {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vdxp-sdk-client-'));
    const secretFile = path.join(this.dir, 'secret');
    fs.writeFileSync(secretFile, options.secret, { mode: 0o600 });
    const storeDir = options.storeDir ?? path.join(this.dir, 'store');
    fs.mkdirSync(storeDir, { recursive: true });
    const jvm = [`-Duser.timezone=${options.timeZone ?? 'Asia/Ho_Chi_Minh'}`, `-Xmx${options.maxHeap ?? '512m'}`, '-XX:+UseSerialGC', '-Xshare:auto'];
    if (options.trustStore) jvm.push(`-Djavax.net.ssl.trustStore=${options.trustStore.file}`, `-Djavax.net.ssl.trustStorePassword=${options.trustStore.password}`);
    this.child = spawn('java', [...jvm, '-cp', vxpSdkClassPath(options.version), 'VxpSdkDriver', options.endpoint, options.systemId, secretFile, storeDir], { stdio: 'pipe' });
    readline.createInterface({ input: this.child.stdout }).on('line', (line) => {
      const w = this.waiting.shift();
      if (w) w(line);
      else this.answers.push(line);
    });
    this.child.stderr.on('data', (d: Buffer) => (this.stderrTail = (this.stderrTail + d.toString('utf8')).slice(-8000)));
    this.child.on('exit', () => {
      for (const w of this.waiting.splice(0)) w(undefined);
    });
  }

  /** The SDK's own output so far (it prints every request it makes), last 8000 characters. */
  get sdkLog(): string {
    return this.stderrTail;
  }

  /** Runs one driver command; rejects with SdkCrash when the SDK threw. */
  call<T>(op: string, args: Record<string, unknown> = {}): Promise<T> {
    const run = async (): Promise<T> => {
      this.child.stdin.write(JSON.stringify({ op, ...args }) + '\n');
      const line = this.answers.shift() ?? (await new Promise<string | undefined>((resolve) => this.waiting.push(resolve)));
      if (line === undefined) throw new Error(`the SDK driver exited during ${op}: ${this.stderrTail.slice(-2000)}`);
      const answer = JSON.parse(line) as { ok: boolean; result?: T; error?: string; trace?: string };
      if (!answer.ok) throw new SdkCrash(op, answer.error ?? '?', answer.trace ?? '');
      return answer.result as T;
    };
    const next = this.queue.then(run, run);
    this.queue = next.catch(() => undefined);
    return next;
  }

  sendEdoc(file: string, from: string, messagetype: 'edoc' | 'status' = 'edoc', extra: Record<string, string> = {}): Promise<SdkSendResult> {
    return this.call('sendEdoc', { json: JSON.stringify({ from, servicetype: 'eDoc', messagetype, ...extra }), file });
  }

  getReceivedEdocList(messagetype: 'edoc' | 'status' = 'edoc'): Promise<SdkReceivedList> {
    return this.call('getReceivedEdocList', { json: JSON.stringify({ servicetype: 'eDoc', messagetype }) });
  }

  /** Saves the package as <dir>/<year>/<month>/<docId>.edxml (the SDK's layout) and returns that path in filePath. */
  getEdoc(docId: string, dir: string): Promise<SdkGetEdocResult> {
    return this.call('getEdoc', { json: JSON.stringify({ filePath: dir, docId }) });
  }

  updateStatus(docId: string, status: 'done' | 'fail'): Promise<SdkBasicResult> {
    return this.call('updateStatus', { json: JSON.stringify({ status, docId }) });
  }

  getSentEdocList(messagetype: 'edoc' | 'status' = 'edoc', extra: Record<string, string> = {}): Promise<SdkSentList> {
    return this.call('getSentEdocList', { json: JSON.stringify({ servicetype: 'eDoc', messagetype, ...extra }) });
  }

  countReceiveEdoc(): Promise<SdkCount> {
    return this.call('countReceiveEdoc');
  }

  countReceiveStatus(): Promise<SdkCount> {
    return this.call('countReceiveStatus');
  }

  getAgenciesList(): Promise<SdkAgencies> {
    return this.call('getAgenciesList');
  }

  getAgenciesListQD20(): Promise<SdkAgencies> {
    return this.call('getAgenciesListQD20');
  }

  getSynchronizeUnit(): Promise<SdkSynchronizeUnits> {
    return this.call('getSynchronizeUnit');
  }

  /** The legacy system's receive loop: list, then getEdoc and updateStatus(status) for each (at most `max`). */
  receiveLoop(messagetype: 'edoc' | 'status', dir: string, status: 'done' | 'fail' = 'done', max?: number): Promise<SdkReceiveLoop> {
    return this.call('receiveLoop', { messagetype, dir, status, ...(max === undefined ? {} : { max }) });
  }

  /** New SDK service objects: a fresh timestamp and an empty header map, as when a legacy system builds the SDK again. */
  renew(): Promise<void> {
    return this.call('renew');
  }

  async close(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
      this.child.stdin.end();
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
