/**
 * Drives documents through A's outbox and times their arrival in B's inbox: the drop time is the
 * rename into the outbox (the moment the legacy system hands a file over), the arrival time is
 * the moment the file appears under its final name in B's inbox (B's sink wrote and fsynced it).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileStem } from '../src/pipeline/identity';
import type { PackageFactory } from './packages';
import { sleep } from './stats';

export interface Arrival {
  droppedAt: number;
  arrivedAt: number;
}

export class DocumentFlow {
  private readonly pending = new Map<string, number>();
  readonly arrivals: Arrival[] = [];
  private watcher: fs.FSWatcher | undefined;
  private sweeper: NodeJS.Timeout | undefined;
  private serial = 0;
  rejectedAtSource = 0;

  constructor(
    private readonly outbox: string,
    private readonly inbox: string,
    private readonly packages: PackageFactory,
  ) {}

  start(): void {
    this.watcher = fs.watch(this.inbox, (_event, name) => name && this.seen(name.toString()));
    this.watcher.on('error', () => undefined);
    // inotify can drop events under load: a periodic listing catches what the watch missed.
    this.sweeper = setInterval(() => this.sweep(), 250);
  }

  get inFlight(): number {
    return this.pending.size;
  }

  /** Hands one new document to A's outbox the way a legacy system does (temporary name, rename). */
  drop(): void {
    const { documentId, bytes } = this.packages.next();
    const name = `bench-${String(++this.serial).padStart(7, '0')}.edxml`;
    const tmp = path.join(this.outbox, `.${name}.part`);
    fs.writeFileSync(tmp, bytes);
    this.pending.set(fileStem(documentId), performance.now());
    fs.renameSync(tmp, path.join(this.outbox, name));
  }

  /** Waits until nothing is in flight or `timeoutMs` passed; returns how many are still missing. */
  async drain(timeoutMs: number): Promise<number> {
    const deadline = performance.now() + timeoutMs;
    while (this.pending.size > 0 && performance.now() < deadline) {
      this.sweep();
      await sleep(50);
    }
    return this.pending.size;
  }

  stop(): void {
    this.watcher?.close();
    if (this.sweeper) clearInterval(this.sweeper);
  }

  private seen(name: string): void {
    if (!name.endsWith('.edxml') || name.startsWith('.')) return;
    // Delivered name: <fileStem(DocumentId)>.<12 hex of the idempotency key>.edxml
    const stem = name.slice(0, -'.edxml'.length).replace(/\.[0-9a-f]{12}$/, '');
    const droppedAt = this.pending.get(stem);
    if (droppedAt === undefined) return;
    this.pending.delete(stem);
    this.arrivals.push({ droppedAt, arrivedAt: performance.now() });
    fs.promises.unlink(path.join(this.inbox, name)).catch(() => undefined);
  }

  private sweep(): void {
    try {
      for (const name of fs.readdirSync(this.inbox)) this.seen(name);
      const sent = path.join(this.outbox, 'sent');
      for (const name of fs.existsSync(sent) ? fs.readdirSync(sent) : []) fs.promises.unlink(path.join(sent, name)).catch(() => undefined);
      const rejected = path.join(this.outbox, 'rejected');
      this.rejectedAtSource = fs.existsSync(rejected) ? fs.readdirSync(rejected).filter((n) => n.endsWith('.reason.json')).length : 0;
    } catch {
      // A folder mid-rename; the next sweep sees it.
    }
  }
}

/** Keeps `backlog` documents in flight for `seconds`; arrivals after `warmupSeconds` count. */
export async function saturate(flow: DocumentFlow, seconds: number, warmupSeconds: number, backlog: number): Promise<{ docsPerSecond: number; latenciesMs: number[] }> {
  const start = performance.now();
  const end = start + seconds * 1000;
  const windowStart = start + warmupSeconds * 1000;
  while (performance.now() < end) {
    while (flow.inFlight < backlog) flow.drop();
    await sleep(5);
  }
  const counted = flow.arrivals.filter((a) => a.arrivedAt >= windowStart && a.arrivedAt <= end);
  return {
    docsPerSecond: counted.length / ((end - windowStart) / 1000),
    latenciesMs: counted.map((a) => a.arrivedAt - a.droppedAt),
  };
}

/** Drops `rate` documents a second on a fixed schedule (open loop) for `seconds`. */
export async function steady(flow: DocumentFlow, rate: number, seconds: number): Promise<{ dropped: number }> {
  const start = performance.now();
  const interval = 1000 / rate;
  const total = Math.round(rate * seconds);
  for (let i = 0; i < total; i++) {
    const due = start + i * interval;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    flow.drop();
  }
  return { dropped: total };
}
