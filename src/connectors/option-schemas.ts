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
  },
} as const;

export const CONNECTOR_OPTION_SCHEMAS: Record<string, object> = {
  'file-drop': FILE_DROP_OPTIONS_SCHEMA,
};
