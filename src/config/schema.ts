/**
 * The agency config (DESIGN.md §7) as a JSON Schema. One YAML file per agency; the same keys
 * appear under `config:` in the Helm chart's values. Secrets are never inline: only `…File`
 * keys that point at mounted files.
 */
import { DEFAULT_LIMITS } from '../limits';
import { ANCHOR_PRESETS } from '../signature/national-ca';

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
const revocationFailure = { enum: ['hard-fail', 'soft-fail'] } as const;
const fingerprintPattern = '^[0-9a-fA-F:]{64,95}$';

/** OCSP where configured (src/signature/ocsp-source.ts; docs/OPERATIONS.md "Revocation: OCSP and CRL"). */
const ocspSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    /** Issuing CA certificate SHA-256 fingerprint → responder URL, replacing the certificates' AIA URL. */
    responders: {
      type: 'object',
      propertyNames: { pattern: fingerprintPattern },
      additionalProperties: { type: 'string', pattern: '^https?://\\S+$' },
    },
    fallbackToCrl: { type: 'boolean' },
    nonce: { enum: ['if-supported', 'required', 'off'] },
    timeoutMs: { type: 'integer', minimum: 100, maximum: 60_000 },
    maxAgeSeconds: positiveInt,
    clockSkewSeconds: { type: 'integer', minimum: 0, maximum: 3600 },
    cacheSeconds: { type: 'integer', minimum: 0 },
    cacheEntries: { type: 'integer', minimum: 1, maximum: 1_000_000 },
    retryAfterFailureSeconds: { type: 'integer', minimum: 0 },
  },
} as const;

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

/**
 * The signing key in a PKCS#11 token (docs/OPERATIONS.md, "Keys in a token (PKCS#11)"): the
 * module, the token by label or serial, the key by label or CKA_ID (hex), the PIN in a file.
 */
const pkcs11Schema = {
  type: 'object',
  additionalProperties: false,
  required: ['module', 'token', 'key', 'pinFile'],
  properties: {
    module: fileRef,
    token: {
      type: 'object',
      additionalProperties: false,
      properties: { label: { type: 'string', minLength: 1, maxLength: 32 }, serial: { type: 'string', minLength: 1, maxLength: 16 } },
    },
    key: {
      type: 'object',
      additionalProperties: false,
      properties: { label: { type: 'string', minLength: 1 }, id: { type: 'string', pattern: '^[0-9a-fA-F]{2}(:?[0-9a-fA-F]{2})*$' } },
    },
    pinFile: fileRef,
    pin: inlineSecret('pinFile'),
    /** Least time between two attempts to find the token again after it failed (no login is repeated with a refused PIN). */
    retryIntervalSeconds: { type: 'integer', minimum: 1, maximum: 3600 },
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
    /** keyFile (a PEM key) or pkcs11 (a key in a token); which combinations are allowed is checked in load.ts. */
    signing: {
      type: 'object',
      additionalProperties: false,
      properties: { keyFile: fileRef, certFile: fileRef, chainFile: fileRef, key: inlineSecret('keyFile'), pkcs11: pkcs11Schema },
    },
    trust: {
      type: 'object',
      additionalProperties: false,
      properties: {
        /** PEM files, and/or the word of a shipped preset (src/signature/national-ca.ts): `anchors: national`. */
        anchors: { anyOf: [{ enum: [...ANCHOR_PRESETS] }, { type: 'array', minItems: 1, items: fileRef }] },
        /** Where the preset's certificates are read (default: the copy shipped with the connector; fingerprints pinned either way). */
        nationalCaDir: fileRef,
        /** Issuing CA certificates a path may use below an anchor when a document does not carry them. */
        intermediates: { type: 'array', items: fileRef },
        crls: { type: 'array', items: fileRef },
        revocation: revocation,
        revocationFailure,
        ocsp: ocspSchema,
        organBindings: {
          type: 'object',
          additionalProperties: { type: 'array', items: { type: 'string', pattern: fingerprintPattern } },
        },
        /** Certificate → OrganId rules (src/signature/signer-identity.ts); conflicts are checked in trust-section.ts. */
        identityRules: {
          type: 'array',
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['organId'],
            properties: {
              name: { type: 'string', minLength: 1 },
              organId: { anyOf: [{ type: 'string', pattern: ORGAN_ID_PATTERN }, { type: 'array', minItems: 1, items: { type: 'string', pattern: ORGAN_ID_PATTERN } }] },
              fingerprint: { type: 'string', pattern: '^[0-9a-fA-F:]{64,95}$' },
              subject: { type: 'string', pattern: '^[^=]+=.+' },
              issuer: { type: 'string', pattern: '^[^=]+=.+' },
              serialNumber: { type: 'string', pattern: '^[0-9a-fA-F:]+$' },
            },
          },
        },
        /** The default rule UID=<OrganId> (default: true; false with a national preset in anchors). */
        uidIsOrganId: { type: 'boolean' },
        signingExtendedKeyUsages: { type: 'array', minItems: 1, items: { type: 'string', pattern: '^[0-9]+(\\.[0-9]+)+$' } },
        defaultPolicy: policy,
        partners: {
          type: 'object',
          additionalProperties: {
            type: 'object',
            additionalProperties: false,
            properties: { policy, allowSha1: { type: 'boolean' }, revocation, revocationFailure },
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
