/**
 * A real OCSP responder for tests: `openssl ocsp -index … -port … -rsigner … -rkey … -CA …`
 * serving an openssl `ca` index. It reads the index once at start, so a revocation takes effect
 * by restarting it on an updated index (`restart`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { sleep } from '../../src/sleep';

export interface ResponderOptions {
  port: number;
  indexPath: string;
  caPath: string;
  signerCertPath: string;
  signerKeyPath: string;
  /** openssl ocsp -nmin: nextUpdate this many minutes after thisUpdate (no nextUpdate without it). */
  nextUpdateMinutes?: number;
}

export class OcspResponder {
  private child: ChildProcess | undefined;
  private output = '';

  constructor(private options: ResponderOptions) {}

  static async start(options: ResponderOptions): Promise<OcspResponder> {
    const responder = new OcspResponder(options);
    await responder.launch();
    return responder;
  }

  /** What openssl printed, for assertion messages. */
  get log(): string {
    return this.output;
  }

  private async launch(): Promise<void> {
    const o = this.options;
    const args = ['ocsp', '-index', o.indexPath, '-port', String(o.port), '-CA', o.caPath, '-rsigner', o.signerCertPath, '-rkey', o.signerKeyPath, '-ignore_err'];
    if (o.nextUpdateMinutes !== undefined) args.push('-nmin', String(o.nextUpdateMinutes));
    const child = spawn('openssl', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    this.output = '';
    child.stdout!.on('data', (d: Buffer) => (this.output += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (this.output += d.toString()));
    // openssl ocsp serves one connection at a time, and one that closes without a request
    // stalls it: readiness is its own word that it listens, not a probe.
    const deadline = Date.now() + 10_000;
    while (!this.output.includes('waiting for OCSP client connections')) {
      if (child.exitCode !== null) throw new Error(`openssl ocsp exited (${child.exitCode}): ${this.output}`);
      if (Date.now() > deadline) throw new Error(`openssl ocsp did not listen on ${o.port}: ${this.output}`);
      await sleep(20);
    }
  }

  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    await exited;
  }

  /** Stops and starts again, with some options changed (another index, signer or nextUpdate). */
  async restart(changes: Partial<ResponderOptions> = {}): Promise<void> {
    await this.stop();
    this.options = { ...this.options, ...changes };
    await this.launch();
  }
}
