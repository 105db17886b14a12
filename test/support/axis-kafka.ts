/**
 * A second Kafka for tests of the VXP bridge: the "axis", another backbone beside the test's own,
 * where connectors serve the VXP API and agencies exist that A's backbone does not know.
 */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { freePort } from './ports';
import { REPO_ROOT } from './paths';

function kafka(command: 'start' | 'stop', env: Record<string, string>): void {
  const r = spawnSync('bash', [path.join(REPO_ROOT, 'scripts', 'kafka.sh'), command], { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 180_000 });
  if (r.status !== 0) throw new Error(`kafka.sh ${command} failed (${r.status}): ${r.stderr}`);
}

export interface AxisKafka {
  brokers: string;
  /** The `kafka` section of an agency config on the axis. */
  config: { brokers: string[]; topics: { partitions: number; replicationFactor: number } };
  stop(): void;
}

/** Starts a Kafka of its own (free ports, data under `runDir`). */
export async function startAxisKafka(runDir: string): Promise<AxisKafka> {
  const port = await freePort();
  let controller = await freePort();
  while (controller === port) controller = await freePort();
  const env = { KAFKA_PORT: String(port), KAFKA_CONTROLLER_PORT: String(controller), VDXP_RUN_DIR: runDir };
  kafka('start', env);
  const brokers = `127.0.0.1:${port}`;
  return { brokers, config: { brokers: [brokers], topics: { partitions: 3, replicationFactor: 1 } }, stop: () => kafka('stop', env) };
}
