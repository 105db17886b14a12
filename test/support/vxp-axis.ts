/**
 * Tests of the VXP bridge between two backbones: a second Kafka, the "axis", beside the test's own,
 * where connector B serves the VXP API for agency A's account and agencies exist that A's backbone
 * does not know; and A's bridge source against B.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as YAML from 'yaml';
import { freePort } from './ports';
import { REPO_ROOT } from './paths';
import { deliveredFiles, prepareAgency, type AgencyDirs } from './agency';
import { buildStatus } from '../../src/edxml/writer';
import { readPackageFacts } from '../../src/pipeline/package-facts';
import { withDefaults } from '../../src/limits';

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

/**
 * Connector B on the axis: it serves the VXP API for agency `organId` (A's account there), to the
 * one system `a-bridge` with `secretFile`, and delivers nothing else.
 */
export function prepareAxisAccount(root: string, organId: string, axis: AxisKafka, options: { port: number; secretFile: string; maxBodyBytes?: number }): AgencyDirs {
  const vxp = { host: '127.0.0.1', port: options.port, allowPlainHttp: true, clients: [{ systemId: 'a-bridge', secretFile: options.secretFile }], ...(options.maxBodyBytes ? { maxBodyBytes: options.maxBodyBytes } : {}) };
  return prepareAgency(root, organId, { kafka: axis.config, trail: { enabled: false }, connectors: [{ name: 'vxp-api', type: 'vxp', direction: 'source', profile: 'edxml', options: vxp }] });
}

/** Adds to A's config the bridge source `axis` against B's VXP API, with these further options (e.g. `outbound`). */
export function addBridgeSource(dirs: AgencyDirs, options: { port: number; secretFile: string } & Record<string, unknown>): void {
  const { port, ...rest } = options;
  const config = YAML.parse(fs.readFileSync(dirs.configPath, 'utf8')) as { connectors: unknown[] };
  config.connectors.push({ name: 'axis', type: 'vxp-bridge', direction: 'source', profile: 'edxml', options: { endpoint: `http://127.0.0.1:${port}`, systemId: 'a-bridge', pollIntervalMs: 300, ...rest } });
  fs.writeFileSync(dirs.configPath, YAML.stringify(config));
}

/** Status `code` from `from` about document `documentId` of `to` (code number `number`), as a legacy system writes it. */
export function statusAbout(from: string, to: string, documentId: string, number: number, code = '03'): Buffer {
  return buildStatus({
    from: { organId: from, organName: `Cơ quan ${from}` },
    responseFor: { organId: to, code: `${number}/UBND-VP`, promulgationDate: '2026-11-23' as never, documentId },
    statusCode: code as never,
    description: 'Đã tiếp nhận',
    timestamp: new Date(),
  });
}

export const documentIdOf = (pkg: Buffer): string => readPackageFacts(pkg, withDefaults()).documentId;

/** The packages a file sink delivered into `dir`, as text. */
export const deliveredTexts = (dir: string): string[] => deliveredFiles(dir).map((f) => fs.readFileSync(path.join(dir, f), 'utf8'));

/** The statuses `code` about `documentId` delivered into `dir`. */
export const statusesAbout = (dir: string, code: string, documentId: string): string[] =>
  deliveredTexts(dir).filter((t) => t.includes(`<edXML:StatusCode>${code}</edXML:StatusCode>`) && t.includes(`<edXML:DocumentId>${documentId}</edXML:DocumentId>`));
