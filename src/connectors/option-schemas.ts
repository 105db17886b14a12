/**
 * JSON Schemas of each transport's `options` in the agency config, validated at start by the
 * config loader so a wrong option is reported with its path before anything runs.
 */
export const FILE_DROP_OPTIONS_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['dir'],
  properties: {
    dir: { type: 'string', minLength: 1 },
    /** Source: how often the folder is rescanned besides file-system events. */
    pollIntervalMs: { type: 'integer', minimum: 10 },
    /** Source: when a file counts as complete (see src/connectors/file-drop.ts). */
    completion: { enum: ['rename', 'marker'] },
    maxInFlight: { type: 'integer', minimum: 1 },
    retryDelayMs: { type: 'integer', minimum: 1 },
    staleClaimMs: { type: 'integer', minimum: 1000 },
  },
} as const;

const FILE = { type: 'string', minLength: 1 } as const;

/** HTTP: a source (ingest) has `port` and `auth`; a sink (delivery) has `url`. See src/connectors/http.ts. */
export const HTTP_OPTIONS_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  oneOf: [
    { required: ['port', 'auth'], not: { required: ['url'] } },
    { required: ['url'], not: { anyOf: [{ required: ['port'] }, { required: ['auth'] }] } },
  ],
  properties: {
    // Source
    host: { type: 'string', minLength: 1 },
    port: { type: 'integer', minimum: 0, maximum: 65535 },
    path: { type: 'string', pattern: '^/' },
    auth: {
      type: 'object',
      additionalProperties: false,
      minProperties: 1,
      properties: {
        hmac: {
          type: 'object',
          additionalProperties: false,
          required: ['clients'],
          properties: {
            clients: {
              type: 'array',
              minItems: 1,
              items: { type: 'object', additionalProperties: false, required: ['systemId', 'secretFile'], properties: { systemId: { type: 'string', minLength: 1 }, secretFile: FILE } },
            },
            maxSkewSeconds: { type: 'integer', minimum: 1 },
          },
        },
        mutualTls: { type: 'boolean' },
      },
    },
    maxBodyBytes: { type: 'integer', minimum: 1 },
    retryAfterSeconds: { type: 'integer', minimum: 1 },
    // Both: server certificate (source) or client TLS settings (sink)
    tls: {
      type: 'object',
      additionalProperties: false,
      properties: { certFile: FILE, keyFile: FILE, caFile: FILE, rejectUnauthorized: { type: 'boolean' }, servername: { type: 'string' } },
    },
    // Sink
    url: { type: 'string', pattern: '^https?://' },
    statusUrl: { type: 'string', pattern: '^https?://' },
    method: { enum: ['POST', 'PUT'] },
    timeoutMs: { type: 'integer', minimum: 1 },
    headers: { type: 'object', additionalProperties: { type: 'string' } },
    hmac: { type: 'object', additionalProperties: false, required: ['systemId', 'secretFile'], properties: { systemId: { type: 'string', minLength: 1 }, secretFile: FILE } },
    bearerTokenFile: FILE,
  },
} as const;

/** AMQP 0-9-1: a source has `queue`; a sink has `exchange`. See src/connectors/amqp.ts. */
export const AMQP_OPTIONS_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['url'],
  oneOf: [
    { required: ['queue'], not: { required: ['exchange'] } },
    { required: ['exchange'], not: { required: ['queue'] } },
  ],
  properties: {
    /** No credentials in the URL: username + passwordFile. */
    url: { type: 'string', pattern: '^amqps?://[^@]*$' },
    username: { type: 'string', minLength: 1 },
    passwordFile: FILE,
    heartbeatSeconds: { type: 'integer', minimum: 0 },
    queue: { type: 'string', minLength: 1 },
    prefetch: { type: 'integer', minimum: 1, maximum: 65535 },
    retryDelayMs: { type: 'integer', minimum: 1 },
    exchange: { type: 'string' },
    routingKey: { type: 'string' },
    statusRoutingKey: { type: 'string' },
    confirmTimeoutMs: { type: 'integer', minimum: 1 },
    /** Sink: the largest message published (a larger body is refused for good); the broker's max_message_size. */
    maxMessageBytes: { type: 'integer', minimum: 1 },
  },
} as const;

export const CONNECTOR_OPTION_SCHEMAS: Record<string, object> = {
  'file-drop': FILE_DROP_OPTIONS_SCHEMA,
  http: HTTP_OPTIONS_SCHEMA,
  amqp: AMQP_OPTIONS_SCHEMA,
};
