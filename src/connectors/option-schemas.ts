/**
 * JSON Schemas of each transport's `options` in the agency config, validated at start by the
 * config loader so a wrong option is reported with its path before anything runs.
 */
import { RECIPIENT_PATTERN } from '../pipeline/outbound-routes';
import { DEFAULT_REQUEST_TIMEOUT_SECONDS } from './types';

/** File drop source: the legacy system drops files into `dir`. See src/connectors/file-drop.ts. */
export const FILE_DROP_SOURCE_OPTIONS_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['dir'],
  properties: {
    dir: { type: 'string', minLength: 1 },
    /** How often the folder is rescanned besides file-system events. */
    pollIntervalMs: { type: 'integer', minimum: 10 },
    /** When a file counts as complete (see src/connectors/file-drop.ts). */
    completion: { enum: ['rename', 'marker'] },
    maxInFlight: { type: 'integer', minimum: 1 },
    retryDelayMs: { type: 'integer', minimum: 1 },
    staleClaimMs: { type: 'integer', minimum: 1000 },
    /** Files in sent/ older than this are removed (default 30); 0 keeps them for ever. */
    sentRetentionDays: { type: 'integer', minimum: 0 },
  },
} as const;

/** File drop sink: deliveries are written into `dir`. See src/connectors/file-drop.ts. */
export const FILE_DROP_SINK_OPTIONS_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['dir'],
  properties: {
    dir: { type: 'string', minLength: 1 },
  },
} as const;

const FILE = { type: 'string', minLength: 1 } as const;

/** Client TLS settings (sink) or the server certificate and client CA (source). */
const HTTP_TLS = {
  type: 'object',
  additionalProperties: false,
  properties: { certFile: FILE, keyFile: FILE, caFile: FILE, rejectUnauthorized: { type: 'boolean' }, servername: { type: 'string' } },
} as const;

/** The systems that sign their requests with a shared secret (the HTTP ingest's HMAC, the VXP API's XroadVnpt-*). */
const HMAC_CLIENTS = {
  type: 'array',
  minItems: 1,
  items: {
    type: 'object',
    additionalProperties: false,
    required: ['systemId', 'secretFile'],
    properties: {
      systemId: { type: 'string', minLength: 1 },
      secretFile: FILE,
      /** The From/OrganIds this system may send as; default: the agency's own OrganId. */
      organIds: { type: 'array', minItems: 1, uniqueItems: true, items: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$' } },
    },
  },
} as const;

/**
 * How long a listener waits for a whole request, body included (Node's server.requestTimeout, which
 * is otherwise 300 s: too short for a 200 MB scan over a slow agency link).
 */
const REQUEST_TIMEOUT_SECONDS = { type: 'integer', minimum: 1, maximum: 86400, default: DEFAULT_REQUEST_TIMEOUT_SECONDS } as const;

/** HTTP source (ingest): the legacy system POSTs to the connector. See src/connectors/http/source.ts. */
export const HTTP_SOURCE_OPTIONS_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['port', 'auth'],
  properties: {
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
            clients: HMAC_CLIENTS,
            maxSkewSeconds: { type: 'integer', minimum: 1 },
          },
        },
        mutualTls: { type: 'boolean' },
      },
    },
    /** Source: HMAC without `tls` only with this set (TLS ends in front of the ingest); see src/connectors/http/source.ts. */
    allowPlainHttp: { type: 'boolean' },
    maxBodyBytes: { type: 'integer', minimum: 1 },
    requestTimeoutSeconds: REQUEST_TIMEOUT_SECONDS,
    retryAfterSeconds: { type: 'integer', minimum: 1 },
    tls: HTTP_TLS,
  },
} as const;

/** HTTP sink (delivery): the connector POSTs to the legacy system. See src/connectors/http/sink.ts. */
export const HTTP_SINK_OPTIONS_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['url'],
  properties: {
    url: { type: 'string', pattern: '^https?://' },
    statusUrl: { type: 'string', pattern: '^https?://' },
    method: { enum: ['POST', 'PUT'] },
    timeoutMs: { type: 'integer', minimum: 1 },
    headers: { type: 'object', additionalProperties: { type: 'string' } },
    hmac: { type: 'object', additionalProperties: false, required: ['systemId', 'secretFile'], properties: { systemId: { type: 'string', minLength: 1 }, secretFile: FILE } },
    bearerTokenFile: FILE,
    tls: HTTP_TLS,
  },
} as const;

const AMQP_CONNECTION = {
  /** No credentials in the URL: username + passwordFile. */
  url: { type: 'string', pattern: '^amqps?://[^@]*$' },
  username: { type: 'string', minLength: 1 },
  passwordFile: FILE,
  heartbeatSeconds: { type: 'integer', minimum: 0 },
} as const;

/** AMQP 0-9-1 source: consumes the legacy system's queue. See src/connectors/amqp.ts. */
export const AMQP_SOURCE_OPTIONS_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['url', 'queue'],
  properties: {
    ...AMQP_CONNECTION,
    queue: { type: 'string', minLength: 1 },
    prefetch: { type: 'integer', minimum: 1, maximum: 65535 },
    retryDelayMs: { type: 'integer', minimum: 1 },
  },
} as const;

/** AMQP 0-9-1 sink: publishes to the legacy system's exchange. See src/connectors/amqp.ts. */
export const AMQP_SINK_OPTIONS_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['url', 'exchange'],
  properties: {
    ...AMQP_CONNECTION,
    exchange: { type: 'string' },
    routingKey: { type: 'string' },
    statusRoutingKey: { type: 'string' },
    confirmTimeoutMs: { type: 'integer', minimum: 1 },
    /** The largest message published (a larger body is refused for good); the broker's max_message_size. */
    maxMessageBytes: { type: 'integer', minimum: 1 },
  },
} as const;

/** A VXP endpoint the bridge is a client of (the SDK's service.endpoint, systemid, secret). See src/connectors/vxp-bridge.ts. */
const VXP_ENDPOINT = {
  endpoint: { type: 'string', pattern: '^https?://[^\\s?#]+$' },
  systemId: { type: 'string', minLength: 1 },
  secretFile: FILE,
  /** IANA zone the endpoint reads the unzoned timestamps in; default Asia/Ho_Chi_Minh. */
  timeZone: { type: 'string', minLength: 1 },
  timeoutMs: { type: 'integer', minimum: 1 },
  /** ErrorCodes of a FAIL answer that are retried instead of dead-lettered. */
  transientErrorCodes: { type: 'array', items: { type: 'string' } },
  maxAnswerBytes: { type: 'integer', minimum: 1 },
  tls: HTTP_TLS,
} as const;

/**
 * An outbound route (src/pipeline/outbound-routes.ts): which of this agency's own packages leave
 * through the endpoint instead of the backbone. At least one of the two; the loader checks the rest.
 */
const OUTBOUND_ROUTE = {
  type: 'object',
  additionalProperties: false,
  minProperties: 1,
  properties: {
    /** OrganIds, or `<prefix>.*` (every OrganId under that prefix), always sent through this endpoint. */
    recipients: { type: 'array', minItems: 1, uniqueItems: true, items: { type: 'string', pattern: RECIPIENT_PATTERN } },
    /** Also every recipient that has no topic on the backbone. */
    notOnBackbone: { type: 'boolean' },
  },
} as const;

/** VXP bridge source: the receive loop of an existing VXP endpoint, into the backbone (and, with `outbound`, this agency's packages out to it). */
export const VXP_BRIDGE_SOURCE_OPTIONS_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['endpoint', 'systemId', 'secretFile'],
  properties: {
    ...VXP_ENDPOINT,
    pollIntervalMs: { type: 'integer', minimum: 10 },
    messageTypes: { type: 'array', minItems: 1, uniqueItems: true, items: { enum: ['edoc', 'status'] } },
    outbound: OUTBOUND_ROUTE,
  },
} as const;

/** VXP bridge sink: sendEdoc to an existing VXP endpoint. */
export const VXP_BRIDGE_SINK_OPTIONS_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['endpoint', 'systemId', 'secretFile'],
  properties: VXP_ENDPOINT,
} as const;

/**
 * The VXP API (the national axis's own, for legacy systems using the VXP SDK): one listener for
 * sendEdoc and the pull side. Declared once, `direction: source`; the agency also delivers into
 * its mailbox. See src/connectors/vxp/connector.ts and docs/VXP.md.
 */
export const VXP_OPTIONS_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['port', 'clients'],
  properties: {
    host: { type: 'string', minLength: 1 },
    port: { type: 'integer', minimum: 0, maximum: 65535 },
    tls: { type: 'object', additionalProperties: false, required: ['certFile', 'keyFile'], properties: { certFile: FILE, keyFile: FILE } },
    allowPlainHttp: { type: 'boolean' },
    clients: HMAC_CLIENTS,
    /** The IANA zone the SDK clients' clocks are in: the SDK writes local time with no zone. */
    timeZone: { type: 'string', minLength: 1, default: 'Asia/Ho_Chi_Minh' },
    maxSkewSeconds: { type: 'integer', minimum: 1 },
    maxBodyBytes: { type: 'integer', minimum: 1 },
    requestTimeoutSeconds: REQUEST_TIMEOUT_SECONDS,
    /** What this agency registers in the backbone's agency directory (vdxp.agencies) at start. */
    directory: {
      type: 'object',
      additionalProperties: false,
      properties: { parentOrganId: { type: 'string' }, mail: { type: 'string' } },
    },
  },
} as const;

export type ConnectorDirection = 'source' | 'sink';

/**
 * The options schema of each transport, per direction: a connector's options are checked against
 * the side it declares, so an HTTP sink without `url` is told about `url`, not about the ingest's
 * `port` and `auth`.
 */
export const CONNECTOR_OPTION_SCHEMAS: Record<string, Record<ConnectorDirection, object>> = {
  'file-drop': { source: FILE_DROP_SOURCE_OPTIONS_SCHEMA, sink: FILE_DROP_SINK_OPTIONS_SCHEMA },
  http: { source: HTTP_SOURCE_OPTIONS_SCHEMA, sink: HTTP_SINK_OPTIONS_SCHEMA },
  amqp: { source: AMQP_SOURCE_OPTIONS_SCHEMA, sink: AMQP_SINK_OPTIONS_SCHEMA },
  'vxp-bridge': { source: VXP_BRIDGE_SOURCE_OPTIONS_SCHEMA, sink: VXP_BRIDGE_SINK_OPTIONS_SCHEMA },
  vxp: { source: VXP_OPTIONS_SCHEMA, sink: VXP_OPTIONS_SCHEMA },
};

/** A problem a schema cannot state clearly: `path` is relative to the connector's `options`. */
export interface OptionProblem {
  path: string;
  expected: string;
  found: string;
}

/** Checks across option keys, run by the config loader after the schema passed. */
export const CONNECTOR_OPTION_CHECKS: Record<string, (options: Record<string, unknown>) => OptionProblem[]> = {
  'vxp-bridge': (options) => {
    const zone = options.timeZone;
    if (typeof zone !== 'string') return [];
    try {
      new Intl.DateTimeFormat('en-GB', { timeZone: zone });
      return [];
    } catch {
      return [{ path: 'timeZone', expected: 'an IANA time zone name such as Asia/Ho_Chi_Minh', found: JSON.stringify(zone) }];
    }
  },
  http: (options) => {
    const auth = options.auth as { hmac?: unknown } | undefined;
    if (!auth?.hmac || options.tls !== undefined || options.allowPlainHttp === true) return [];
    return [
      {
        path: 'tls',
        expected: 'tls (certFile, keyFile) for an ingest with HMAC request signing, or allowPlainHttp: true where TLS ends in front of it on the same host (signed requests in clear can be read and replayed)',
        found: options.allowPlainHttp === false ? 'allowPlainHttp: false and no tls' : 'no tls',
      },
    ];
  },
};
