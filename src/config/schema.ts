/**
 * The agency config (DESIGN.md §7) as a JSON Schema. One YAML file per agency; the same keys
 * appear under `config:` in the Helm chart's values. Secrets are never inline: only `…File`
 * keys that point at mounted files.
 */
import { DEFAULT_LIMITS } from '../limits';

const fileRef = { type: 'string', minLength: 1 } as const;
const positiveInt = { type: 'integer', minimum: 1 } as const;
/**
 * A key where people put a secret inline. The schema lets it through so that the loader (and the
 * Helm chart) can refuse it with a message that says what to do instead of "unknown key".
 */
const inlineSecret = (fileKey: string) => ({ description: `Refused: secrets are never inline. Put it in a file and set ${fileKey}.` }) as const;

export const ORGAN_ID_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$';

/** Every limit of src/limits.ts, so a new limit is configurable the moment it exists. */
const limitsSchema = {
  type: 'object',
  additionalProperties: false,
  properties: Object.fromEntries(Object.keys(DEFAULT_LIMITS).map((key) => [key, positiveInt])),
};

const policy = { enum: ['required', 'accept-unsigned'] } as const;
const revocation = { enum: ['required', 'best-effort'] } as const;

const isoDate = { type: 'string', pattern: '^\\d{4}-\\d{2}-\\d{2}$' } as const;
const clockTime = { type: 'string', pattern: '^([01]\\d|2[0-3]):[0-5]\\d$' } as const;
const workingMinutes = { type: 'integer', minimum: 1, maximum: 1_000_000 } as const;
const stageLimits = {
  arrivalWorkingMinutes: workingMinutes,
  acceptanceWorkingMinutes: workingMinutes,
} as const;

/** The trail (issue 18, docs/TRAIL.md): records on vdxp.trail.<OrganId>, overdue rules, the web page. */
const trailSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    enabled: { type: 'boolean' },
    /** retention.ms of the trail topic when the connector creates it; -1 keeps it forever. */
    retentionMs: { type: 'integer', minimum: -1 },
    checkpointIntervalMs: { type: 'integer', minimum: 0 },
    overdue: {
      type: 'object',
      additionalProperties: false,
      properties: {
        ...stageLimits,
        counterparts: { type: 'object', additionalProperties: { type: 'object', additionalProperties: false, properties: stageLimits } },
      },
    },
    calendar: {
      type: 'object',
      additionalProperties: false,
      properties: {
        workingHours: {
          type: 'array',
          minItems: 1,
          items: { type: 'object', additionalProperties: false, required: ['from', 'to'], properties: { from: clockTime, to: clockTime } },
        },
        workingWeekdays: { type: 'array', minItems: 1, uniqueItems: true, items: { type: 'integer', minimum: 0, maximum: 6 } },
        vietnamHolidays: { type: 'boolean' },
        holidays: { type: 'array', items: isoDate },
        notHolidays: { type: 'array', items: isoDate },
        workingDays: { type: 'array', items: isoDate },
      },
    },
    web: {
      type: 'object',
      additionalProperties: false,
      required: ['enabled'],
      properties: {
        enabled: { type: 'boolean' },
        port: { type: 'integer', minimum: 0, maximum: 65535 },
        host: { type: 'string' },
        /** A file holding the access token (at least 32 characters). */
        tokenFile: fileRef,
        tls: {
          type: 'object',
          additionalProperties: false,
          required: ['certFile', 'keyFile'],
          properties: { certFile: fileRef, keyFile: fileRef, clientCaFile: fileRef },
        },
        refreshSeconds: { type: 'integer', minimum: 2, maximum: 3600 },
      },
    },
  },
} as const;

export const AGENCY_CONFIG_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['organId', 'kafka', 'connectors', 'trust'],
  properties: {
    organId: { type: 'string', pattern: ORGAN_ID_PATTERN },
    organName: { type: 'string' },
    kafka: {
      type: 'object',
      additionalProperties: false,
      required: ['brokers'],
      properties: {
        brokers: { type: 'array', minItems: 1, items: { type: 'string', pattern: '^[^\\s:]+:[0-9]+$' } },
        clientId: { type: 'string', minLength: 1 },
        consumerGroup: { type: 'string', minLength: 1 },
        tls: {
          type: 'object',
          additionalProperties: false,
          required: ['enabled'],
          properties: {
            enabled: { type: 'boolean' },
            caFile: fileRef,
            certFile: fileRef,
            keyFile: fileRef,
            verifyHostname: { type: 'boolean' },
          },
        },
        sasl: {
          type: 'object',
          additionalProperties: false,
          required: ['mechanism', 'username', 'passwordFile'],
          properties: {
            mechanism: { enum: ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'] },
            username: { type: 'string', minLength: 1 },
            passwordFile: fileRef,
            password: inlineSecret('passwordFile'),
          },
        },
        topics: {
          type: 'object',
          additionalProperties: false,
          properties: { partitions: positiveInt, replicationFactor: positiveInt },
        },
        /** librdkafka properties passed through as they are, for what the keys above do not cover. */
        librdkafka: {
          type: 'object',
          additionalProperties: { type: ['string', 'number', 'boolean'] },
        },
      },
    },
    signing: {
      type: 'object',
      additionalProperties: false,
      required: ['keyFile', 'certFile'],
      properties: { keyFile: fileRef, certFile: fileRef, chainFile: fileRef, key: inlineSecret('keyFile') },
    },
    trust: {
      type: 'object',
      additionalProperties: false,
      properties: {
        anchors: { type: 'array', minItems: 1, items: fileRef },
        crls: { type: 'array', items: fileRef },
        revocation: revocation,
        organBindings: {
          type: 'object',
          additionalProperties: { type: 'array', items: { type: 'string', pattern: '^[0-9a-fA-F:]{64,95}$' } },
        },
        signingExtendedKeyUsages: { type: 'array', minItems: 1, items: { type: 'string', pattern: '^[0-9]+(\\.[0-9]+)+$' } },
        defaultPolicy: policy,
        partners: {
          type: 'object',
          additionalProperties: {
            type: 'object',
            additionalProperties: false,
            properties: { policy, allowSha1: { type: 'boolean' }, revocation },
          },
        },
        /** Test setups only: no anchors, nothing received is verified (checked in trust-section.ts). */
        insecureSkipVerification: { type: 'boolean' },
      },
    },
    connectors: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['name', 'type', 'direction', 'options'],
        properties: {
          name: { type: 'string', pattern: '^[a-z0-9][a-z0-9-]{0,62}$' },
          type: { enum: ['file-drop', 'http', 'amqp', 'vxp', 'vxp-bridge'] },
          direction: { enum: ['source', 'sink'] },
          profile: { type: 'string', minLength: 1 },
          profileOptions: { type: 'object' },
          options: { type: 'object' },
        },
      },
    },
    limits: limitsSchema,
    trail: trailSchema,
    ops: {
      type: 'object',
      additionalProperties: false,
      properties: {
        port: { type: 'integer', minimum: 0, maximum: 65535 },
        host: { type: 'string' },
      },
    },
    delivery: {
      type: 'object',
      additionalProperties: false,
      properties: {
        maxInFlight: positiveInt,
        /** Records fetched and waiting for a slot, and their bytes: the lookahead of per-sender fairness. */
        maxWaitingRecords: positiveInt,
        maxWaitingBytes: positiveInt,
        drainTimeoutMs: positiveInt,
        breaker: {
          type: 'object',
          additionalProperties: false,
          properties: {
            timeoutMs: positiveInt,
            errorThresholdPercentage: { type: 'number', minimum: 1, maximum: 100 },
            resetTimeoutMs: positiveInt,
            volumeThreshold: { type: 'integer', minimum: 0 },
          },
        },
        retry: {
          type: 'object',
          additionalProperties: false,
          properties: { maxAttempts: positiveInt, initialDelayMs: positiveInt, maxDelayMs: positiveInt },
        },
        /** When /readyz says the consumer is stuck (docs/MONITORING.md, check `consumer`). */
        readiness: {
          type: 'object',
          additionalProperties: false,
          properties: { maxSaturatedMs: positiveInt, maxRecordFailures: positiveInt },
        },
      },
    },
  },
} as const;
