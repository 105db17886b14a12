/**
 * Reads and validates one agency's YAML config. Every error names the exact path
 * (`connectors[1].options.dir`), what was expected and what was found, so an operator can fix
 * the file without reading code.
 */
import * as fs from 'node:fs';
import Ajv, { type ErrorObject } from 'ajv';
import * as YAML from 'yaml';
import { withDefaults, type Limits } from '../limits';
import { AGENCY_CONFIG_SCHEMA } from './schema';
import type { AgencyConfig, SigningConfig } from './types';
import { CONNECTOR_OPTION_CHECKS, CONNECTOR_OPTION_SCHEMAS } from '../connectors/option-schemas';
import { outboundRouteProblems } from '../pipeline/outbound-routes';
import { PROFILE_NAMES, checkProfileOptions } from '../transform';
import { isRejection } from '../errors';
import { DEFAULT_CALENDAR } from '../trail/calendar/working-time';
import { DEFAULT_STAGE_LIMITS } from '../trail/overdue';
import type { TrailConfig } from './types';

type DeepPartialTrail = Partial<Omit<TrailConfig, 'overdue' | 'calendar' | 'web'>> & {
  overdue?: Partial<TrailConfig['overdue']>;
  calendar?: Partial<TrailConfig['calendar']>;
  web?: Partial<TrailConfig['web']>;
};
import { trustSectionProblems } from './trust-section';
import { applyEnvOverrides } from './env-overrides';

export interface ConfigProblem {
  path: string;
  expected: string;
  found: string;
}

export class ConfigError extends Error {
  constructor(
    readonly source: string,
    readonly problems: ConfigProblem[],
  ) {
    super(`${source}: invalid config\n` + problems.map((p) => `  ${p.path}: expected ${p.expected}, found ${p.found}`).join('\n'));
    this.name = 'ConfigError';
  }
}

/** Prefix of environment variables that override single keys: VDXP__KAFKA__BROKERS, VDXP__CONNECTORS__0__OPTIONS__DIR. */
export const ENV_PREFIX = 'VDXP__';

const ajv = new Ajv({ allErrors: true, strict: false });
const validateTopLevel = ajv.compile(AGENCY_CONFIG_SCHEMA);
const validateOptions = Object.fromEntries(
  Object.entries(CONNECTOR_OPTION_SCHEMAS).map(([type, sides]) => [type, { source: ajv.compile(sides.source), sink: ajv.compile(sides.sink) }]),
);

/** Keys the schema lets through only to refuse them here with a useful message. */
const INLINE_SECRETS: Array<{ path: string[]; fileKey: string }> = [
  { path: ['kafka', 'sasl', 'password'], fileKey: 'kafka.sasl.passwordFile' },
  { path: ['signing', 'key'], fileKey: 'signing.keyFile' },
  { path: ['signing', 'pkcs11', 'pin'], fileKey: 'signing.pkcs11.pinFile' },
];

export function loadConfigFile(file: string, env: NodeJS.ProcessEnv = process.env): AgencyConfig {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(file, [{ path: '(file)', expected: 'a readable YAML file', found: (err as Error).message }]);
  }
  return parseConfig(text, file, env);
}

export function parseConfig(text: string, source = '(config)', env: NodeJS.ProcessEnv = {}): AgencyConfig {
  const doc = YAML.parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      source,
      doc.errors.map((e) => ({ path: `(line ${e.linePos?.[0]?.line ?? '?'})`, expected: 'valid YAML', found: e.message.split('\n')[0] ?? e.code })),
    );
  }
  const raw: unknown = doc.toJS() ?? {};
  const problems = applyEnvOverrides(raw, env, ENV_PREFIX);
  problems.push(...inlineSecrets(raw), ...validate(raw));
  if (problems.length > 0) throw new ConfigError(source, problems);
  return withConfigDefaults(raw as AgencyConfig);
}

function inlineSecrets(raw: unknown): ConfigProblem[] {
  return INLINE_SECRETS.filter(({ path }) => {
    const value = path.reduce<unknown>((node, key) => (typeof node === 'object' && node !== null ? (node as Record<string, unknown>)[key] : undefined), raw);
    return value !== undefined;
  }).map(({ path, fileKey }) => ({
    path: path.join('.'),
    expected: `no inline secret: put it in a file (in Kubernetes, a mounted Secret) and set ${fileKey} to its path`,
    found: 'an inline value',
  }));
}

function validate(raw: unknown): ConfigProblem[] {
  const trustProblems = trustSectionProblems(raw);
  if (!validateTopLevel(raw)) {
    // A missing trust section gets its own message (what to configure, or the explicit opt-out).
    const generic = (validateTopLevel.errors ?? []).map((e) => describe(e, raw, '')).filter((p) => p.path !== 'trust');
    return [...generic, ...trustProblems.filter((p) => p.path === 'trust')];
  }
  const problems: ConfigProblem[] = [...trustProblems, ...checkLimits(raw as { limits?: Partial<Limits> })];
  const config = raw as { connectors: Array<{ name: string; type: string; direction: 'source' | 'sink'; options: unknown }> };
  const seen = new Set<string>();
  const beforeConnectors = problems.length;
  config.connectors.forEach((c, i) => {
    const name = c.name;
    if (seen.has(name)) problems.push({ path: `connectors[${i}].name`, expected: 'a name unique among connectors', found: JSON.stringify(name) });
    seen.add(name);
    const check = validateOptions[c.type]?.[c.direction];
    if (check && !check(c.options)) {
      problems.push(...(check.errors ?? []).map((e) => describe(e, c.options, `connectors[${i}].options`)));
    } else {
      for (const p of CONNECTOR_OPTION_CHECKS[c.type]?.(c.options as Record<string, unknown>) ?? []) problems.push({ ...p, path: `connectors[${i}].options.${p.path}` });
    }
    const profile = (c as { profile?: string }).profile ?? 'edxml';
    if (c.type === 'vxp-bridge' && profile !== 'edxml') {
      problems.push({ path: `connectors[${i}].profile`, expected: '"edxml" (a VXP endpoint sends and takes edXML packages as they are)', found: show(profile) });
    }
    const profileProblem = checkProfile(c as { profile?: string; profileOptions?: Record<string, unknown> }, i);
    if (profileProblem) problems.push(profileProblem);
  });
  // Across connectors, once each one's options are sound.
  if (problems.length === beforeConnectors) problems.push(...outboundRouteProblems((raw as { organId?: unknown }).organId, config.connectors));
  problems.push(...checkTrail((raw as { trail?: DeepPartialTrail }).trail));
  problems.push(...checkSigning((raw as { signing?: SigningConfig }).signing));
  return problems;
}

/** One key: a PEM file with its certificate, or a token (whose certificate may live on it). */
function checkSigning(signing: SigningConfig | undefined): ConfigProblem[] {
  if (!signing) return [];
  const problems: ConfigProblem[] = [];
  if (signing.keyFile !== undefined && signing.pkcs11 !== undefined) {
    problems.push({ path: 'signing', expected: 'keyFile (a PEM key) or pkcs11 (a key in a token), not both', found: 'both' });
  } else if (signing.keyFile === undefined && signing.pkcs11 === undefined) {
    problems.push({ path: 'signing', expected: 'keyFile (a PEM key, with certFile) or pkcs11 (a key in a token)', found: 'neither' });
  } else if (signing.keyFile !== undefined && signing.certFile === undefined) {
    problems.push({ path: 'signing.certFile', expected: 'a value (required with keyFile)', found: 'nothing' });
  }
  const exactlyOne = (at: string, value: Record<string, unknown>, keys: [string, string]) => {
    const given = keys.filter((k) => value[k] !== undefined);
    if (given.length !== 1) problems.push({ path: at, expected: `exactly one of ${keys.join(', ')}`, found: given.length === 0 ? 'neither' : 'both' });
  };
  if (signing.pkcs11) {
    exactlyOne('signing.pkcs11.token', signing.pkcs11.token, ['label', 'serial']);
    exactlyOne('signing.pkcs11.key', signing.pkcs11.key, ['label', 'id']);
  }
  return problems;
}

/** The web page never runs open (issue 18 §5), and working hours run forwards. */
function checkTrail(trail: DeepPartialTrail | undefined): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const web = trail?.web;
  if (web?.enabled && !web.tokenFile && !web.tls?.clientCaFile) {
    problems.push({ path: 'trail.web', expected: 'tokenFile, or tls.clientCaFile (client certificates), or both: the page is never served without authentication', found: 'neither' });
  }
  (trail?.calendar?.workingHours ?? []).forEach((interval, i) => {
    if (interval.from >= interval.to) problems.push({ path: `trail.calendar.workingHours[${i}]`, expected: 'from earlier than to', found: `${interval.from}–${interval.to}` });
  });
  return problems;
}

/** Limits that only make sense together: a package of the largest allowed size must fit the scratch budget. */
function checkLimits(raw: { limits?: Partial<Limits> }): ConfigProblem[] {
  const limits = withDefaults(raw.limits);
  const problems: ConfigProblem[] = [];
  for (const key of ['maxScratchBytes', 'maxScratchBytesPerSender'] as const) {
    if (limits[key] < limits.maxPackageBytes) {
      problems.push({ path: `limits.${key}`, expected: `at least limits.maxPackageBytes (${limits.maxPackageBytes}): a package that large must fit`, found: `number ${limits[key]}` });
    }
  }
  return problems;
}

/** The profile exists and its profileOptions are what it understands. */
function checkProfile(c: { profile?: string; profileOptions?: Record<string, unknown> }, i: number): ConfigProblem | undefined {
  const name = c.profile ?? 'edxml';
  if (!PROFILE_NAMES.includes(name)) {
    return { path: `connectors[${i}].profile`, expected: `one of ${PROFILE_NAMES.map((n) => JSON.stringify(n)).join(', ')}`, found: show(name) };
  }
  try {
    checkProfileOptions(name, c.profileOptions ?? {});
    return undefined;
  } catch (err) {
    if (!isRejection(err)) throw err;
    // The profile names the option path in its detail: `profile json: profileOptions.a.b: must be …`.
    const match = /profileOptions((?:\.[^:\s]+)*): (.*)$/s.exec(err.detail);
    return { path: `connectors[${i}].profileOptions${match?.[1] ?? ''}`, expected: match?.[2] ?? err.detail, found: 'a value the profile does not accept' };
  }
}

function describe(error: ErrorObject, root: unknown, prefix: string): ConfigProblem {
  const segments = error.instancePath.split('/').slice(1).map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  let path = prefix;
  let value: unknown = root;
  for (const s of segments) {
    path = /^\d+$/.test(s) ? `${path}[${s}]` : path ? `${path}.${s}` : s;
    value = (value as Record<string, unknown> | undefined)?.[s];
  }
  const at = (key: string) => (path ? `${path}.${key}` : key);
  switch (error.keyword) {
    case 'required':
      return { path: at(String(error.params.missingProperty)), expected: 'a value (required)', found: 'nothing' };
    case 'additionalProperties':
      return { path: at(String(error.params.additionalProperty)), expected: 'no such key (unknown key; check spelling)', found: 'a value' };
    case 'enum':
      return { path: path || '(root)', expected: `one of ${(error.params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`, found: show(value) };
    case 'pattern':
      return { path: path || '(root)', expected: `a string matching ${String(error.params.pattern)}`, found: show(value) };
    default:
      return { path: path || '(root)', expected: error.message ?? error.keyword, found: show(value) };
  }
}

function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${JSON.stringify(value)}`;
}

function withConfigDefaults(c: AgencyConfig): AgencyConfig {
  const d = (c.delivery ?? {}) as Partial<AgencyConfig['delivery']>;
  const t = (c.trail ?? {}) as DeepPartialTrail;
  return {
    ...c,
    kafka: {
      ...c.kafka,
      topics: { partitions: c.kafka.topics?.partitions ?? 3, replicationFactor: c.kafka.topics?.replicationFactor ?? 1 },
    },
    connectors: c.connectors.map((k) => ({ ...k, profile: k.profile ?? 'edxml', profileOptions: k.profileOptions ?? {} })),
    limits: withDefaults(c.limits),
    ops: { port: c.ops?.port ?? 9464, host: c.ops?.host ?? '0.0.0.0' },
    trail: {
      enabled: t.enabled ?? true,
      retentionMs: t.retentionMs ?? -1,
      checkpointIntervalMs: t.checkpointIntervalMs ?? 60_000,
      overdue: {
        arrivalWorkingMinutes: t.overdue?.arrivalWorkingMinutes ?? DEFAULT_STAGE_LIMITS.arrivalWorkingMinutes,
        acceptanceWorkingMinutes: t.overdue?.acceptanceWorkingMinutes ?? DEFAULT_STAGE_LIMITS.acceptanceWorkingMinutes,
        counterparts: t.overdue?.counterparts ?? {},
      },
      calendar: {
        workingHours: t.calendar?.workingHours ?? [...DEFAULT_CALENDAR.workingHours],
        workingWeekdays: t.calendar?.workingWeekdays ?? [...DEFAULT_CALENDAR.workingWeekdays],
        vietnamHolidays: t.calendar?.vietnamHolidays ?? true,
        holidays: t.calendar?.holidays ?? [],
        notHolidays: t.calendar?.notHolidays ?? [],
        workingDays: t.calendar?.workingDays ?? [],
      },
      web: {
        enabled: t.web?.enabled ?? false,
        port: t.web?.port ?? 9465,
        host: t.web?.host ?? '0.0.0.0',
        tokenFile: t.web?.tokenFile,
        tls: t.web?.tls,
        refreshSeconds: t.web?.refreshSeconds ?? 15,
      },
    },
    delivery: {
      maxInFlight: d.maxInFlight ?? 64,
      maxWaitingRecords: d.maxWaitingRecords ?? d.maxInFlight ?? 64,
      maxWaitingBytes: d.maxWaitingBytes ?? 16 * 1024 * 1024,
      drainTimeoutMs: d.drainTimeoutMs ?? 25_000,
      breaker: { timeoutMs: 10_000, errorThresholdPercentage: 50, resetTimeoutMs: 30_000, volumeThreshold: 5, ...d.breaker },
      retry: { maxAttempts: 8, initialDelayMs: 500, maxDelayMs: 60_000, ...d.retry },
      readiness: { maxSaturatedMs: 300_000, maxRecordFailures: 3, ...d.readiness },
    },
  };
}
