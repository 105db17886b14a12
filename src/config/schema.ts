/**
 * The agency config (DESIGN.md §7) as a JSON Schema. One YAML file per agency; the same keys
 * appear under `config:` in the Helm chart's values. Secrets are never inline: only `…File`
 * keys that point at mounted files.
 */
import { DEFAULT_LIMITS } from '../limits';

const fileRef = { type: 'string', minLength: 1 } as const;
const positiveInt = { type: 'integer', minimum: 1 } as const;

export const ORGAN_ID_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$';

/** Every limit of src/limits.ts, so a new limit is configurable the moment it exists. */
const limitsSchema = {
  type: 'object',
  additionalProperties: false,
  properties: Object.fromEntries(Object.keys(DEFAULT_LIMITS).map((key) => [key, positiveInt])),
};

const policy = { enum: ['required', 'accept-unsigned'] } as const;

export const AGENCY_CONFIG_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['organId', 'kafka', 'connectors'],
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
      properties: { keyFile: fileRef, certFile: fileRef, chainFile: fileRef },
    },
    trust: {
      type: 'object',
      additionalProperties: false,
      required: ['anchors'],
      properties: {
        anchors: { type: 'array', minItems: 1, items: fileRef },
        crls: { type: 'array', items: fileRef },
        organBindings: {
          type: 'object',
          additionalProperties: { type: 'array', items: { type: 'string', pattern: '^[0-9a-fA-F:]{64,95}$' } },
        },
        defaultPolicy: policy,
        partners: {
          type: 'object',
          additionalProperties: {
            type: 'object',
            additionalProperties: false,
            properties: { policy, allowSha1: { type: 'boolean' } },
          },
        },
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
          type: { enum: ['file-drop', 'http', 'amqp'] },
          direction: { enum: ['source', 'sink'] },
          profile: { type: 'string', minLength: 1 },
          profileOptions: { type: 'object' },
          options: { type: 'object' },
        },
      },
    },
    limits: limitsSchema,
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
      },
    },
  },
} as const;
