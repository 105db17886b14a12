/** What a bench run measures and for how long, from the environment (see scripts/bench.sh). */

export const ALL_ROWS = ['documents', 'e2e', 'steady', 'vxp', 'large', 'cold', 'trail'] as const;
export type RowName = (typeof ALL_ROWS)[number];

export interface BenchSettings {
  brokers: string;
  rows: Set<RowName>;
  e2eSeconds: number;
  e2eBacklog: number;
  /** Unreported saturation before the measured end-to-end window, so broker and connectors are warm. */
  e2eWarmupSeconds: number;
  steadySeconds: number;
  steadyRate: number;
  largeMiB: number;
  /** Documents through the VXP SDK's send and receive loops (the `vxp` row). */
  vxpDocuments: number;
  largeTimeoutSeconds: number;
  coldRuns: number;
  /** Trail sizes (records) whose read model rebuild is measured. */
  trailRecords: number[];
  /** Folder for node --cpu-prof profiles of agencies A and B during the end-to-end rows. */
  profileDir: string | undefined;
  outFile: string | undefined;
}

function num(env: NodeJS.ProcessEnv, key: string, fallback: number): number {
  const raw = env[key];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${key} must be a non-negative number, got ${JSON.stringify(raw)}`);
  return n;
}

export function settingsFrom(env: NodeJS.ProcessEnv): BenchSettings {
  const brokers = env.BENCH_KAFKA_BROKERS;
  if (!brokers) throw new Error('BENCH_KAFKA_BROKERS is not set (scripts/bench.sh starts a broker and sets it)');
  const rows = new Set<RowName>();
  for (const name of (env.BENCH_ROWS ?? ALL_ROWS.join(',')).split(',').map((s) => s.trim()).filter(Boolean)) {
    if (!(ALL_ROWS as readonly string[]).includes(name)) throw new Error(`BENCH_ROWS: unknown row ${name} (known: ${ALL_ROWS.join(', ')})`);
    rows.add(name as RowName);
  }
  return {
    brokers,
    rows,
    e2eSeconds: num(env, 'BENCH_E2E_SECONDS', 60),
    e2eBacklog: num(env, 'BENCH_E2E_BACKLOG', 64),
    e2eWarmupSeconds: num(env, 'BENCH_E2E_WARMUP_SECONDS', 60),
    steadySeconds: num(env, 'BENCH_STEADY_SECONDS', 30),
    steadyRate: num(env, 'BENCH_STEADY_RATE', 50),
    largeMiB: num(env, 'BENCH_LARGE_MB', 200),
    vxpDocuments: Math.max(1, num(env, 'BENCH_VXP_DOCS', 500)),
    largeTimeoutSeconds: num(env, 'BENCH_LARGE_TIMEOUT_SECONDS', 120),
    coldRuns: Math.max(1, num(env, 'BENCH_COLD_RUNS', 5)),
    trailRecords: (env.BENCH_TRAIL_RECORDS ?? '100000,1000000').split(',').map((s) => Number(s.trim())).filter((n) => Number.isSafeInteger(n) && n > 0),
    profileDir: env.BENCH_PROFILE_DIR || undefined,
    outFile: env.BENCH_OUT || undefined,
  };
}

/** The settings that differ from the defaults, as the env assignments that reproduce them. */
export function nonDefaultEnv(env: NodeJS.ProcessEnv): string[] {
  return Object.keys(env)
    .filter((k) => k.startsWith('BENCH_') && !['BENCH_KAFKA_BROKERS', 'BENCH_OUT', 'BENCH_PROFILE_DIR'].includes(k))
    .sort()
    .map((k) => `${k}=${env[k]}`);
}
