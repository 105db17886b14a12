/**
 * Receiving connector processes for the fault suite (`vdxp run`, whose `http` sink delivers to
 * the FaultLegacyServer and whose `amqp` sink publishes to a queue), and a private Kafka broker
 * and RabbitMQ node that the suite may stop and start without disturbing other tests.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from './paths';
import { waitFor } from './agency';
import { pickPort } from './ports';

const run = promisify(execFile);
const CLI = path.join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js');

export class ReceiverProcess {
  private readonly exited: Promise<number | null>;
  private constructor(
    readonly child: ChildProcess,
    readonly logPath: string,
    private readonly logStart: number,
  ) {
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  /**
   * Starts a receiver and waits until it consumes; its lines are appended to logPath. Replicas
   * share one config file, so each process gets an ops port of its own.
   */
  static async start(configPath: string, logPath: string, timeoutMs = 60_000, nodeOptions: string[] = []): Promise<ReceiverProcess> {
    const logStart = fs.existsSync(logPath) ? fs.statSync(logPath).size : 0;
    const log = fs.openSync(logPath, 'a');
    const child = spawn(process.execPath, [...nodeOptions, CLI, 'run', '--config', configPath], { stdio: ['ignore', log, log], env: { ...process.env, VDXP_LOG_LEVEL: 'info', VDXP__OPS__PORT: String(pickPort()) } });
    fs.closeSync(log);
    const p = new ReceiverProcess(child, logPath, logStart);
    await waitFor(() => p.ownLog().includes('connector running'), timeoutMs, `receiver to start (log: ${logPath})`, () => child.exitCode !== null);
    return p;
  }

  /** What this process wrote (the log file is shared by restarts). */
  ownLog(): string {
    if (!fs.existsSync(this.logPath)) return '';
    return fs.readFileSync(this.logPath).subarray(this.logStart).toString('utf8');
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  kill(signal: NodeJS.Signals): Promise<number | null> {
    if (!this.alive) return this.exited;
    this.child.kill(signal);
    return this.exited;
  }
}

/** A service the suite may stop and start: one of the project's scripts with its own ports and folder. */
abstract class ScriptedService {
  protected abstract readonly script: string;
  protected abstract readonly timeoutMs: number;
  protected abstract env(): Record<string, string>;

  private async invoke(action: 'start' | 'stop' | 'reset'): Promise<void> {
    await run('bash', [path.join(REPO_ROOT, 'scripts', this.script), action], { env: { ...process.env, ...this.env() }, timeout: this.timeoutMs });
  }

  start(): Promise<void> {
    return this.invoke('start');
  }
  stop(): Promise<void> {
    return this.invoke('stop');
  }
  reset(): Promise<void> {
    return this.invoke('reset');
  }
}

/** A Kafka broker of the suite's own (scripts/kafka.sh on other ports and another run folder). */
export class PrivateKafka extends ScriptedService {
  protected readonly script = 'kafka.sh';
  protected readonly timeoutMs = 120_000;

  constructor(
    readonly port: number,
    readonly controllerPort: number,
    readonly runDir: string,
  ) {
    super();
  }

  get brokers(): string {
    return `127.0.0.1:${this.port}`;
  }

  protected env(): Record<string, string> {
    return { KAFKA_PORT: String(this.port), KAFKA_CONTROLLER_PORT: String(this.controllerPort), VDXP_RUN_DIR: this.runDir };
  }
}

/**
 * A RabbitMQ node of the suite's own (scripts/rabbitmq.sh with another node name, AMQP port and
 * data folder), so the suite can stop it while the shared node on 5672 keeps serving other tests.
 */
export class PrivateRabbitMq extends ScriptedService {
  protected readonly script = 'rabbitmq.sh';
  protected readonly timeoutMs = 180_000;

  constructor(
    readonly node: string,
    readonly port: number,
    readonly dataDir: string,
  ) {
    super();
  }

  /** guest/guest, which RabbitMQ accepts over loopback. */
  get url(): string {
    return `amqp://guest:guest@127.0.0.1:${this.port}/`;
  }

  protected env(): Record<string, string> {
    return { VDXP_RABBITMQ_NODE: this.node, VDXP_RABBITMQ_PORT: String(this.port), VDXP_RABBITMQ_DIR: this.dataDir };
  }
}
