/**
 * JSON-lines logging (pino). One line per event with the fields an operator greps for:
 * documentId, fromOrganId, toOrganId and step. Secrets are scrubbed twice (./redact): the
 * arguments of each call, before pino serializes them (Buffers and key objects are still
 * recognizable there), and each finished line, which also covers child bindings and messages.
 */
import pino, { type DestinationStream, type Logger, type LoggerOptions } from 'pino';
import { scrubError, scrubLogLine, scrubValue } from './redact';

export type { Logger };

/** Where a document is in its journey; the `step` field of a log line. */
export type LogStep =
  | 'receive'
  | 'parse'
  | 'verify'
  | 'transform'
  | 'produce'
  | 'consume'
  | 'deliver'
  | 'retry'
  | 'commit'
  | 'status'
  | 'dead-letter'
  | 'startup'
  | 'readiness'
  | 'shutdown';

export interface DocumentLogFields {
  documentId?: string;
  fromOrganId?: string;
  toOrganId?: string;
  step?: LogStep;
}

export interface LoggerFactoryOptions {
  /** pino level name; defaults to VDXP_LOG_LEVEL or `info`. */
  level?: string;
  /** The agency this connector serves; present on every line as `organId`. */
  organId?: string;
  /** Defaults to stdout. Tests pass a stream that collects lines. */
  destination?: DestinationStream;
}

export function createLogger(options: LoggerFactoryOptions = {}): Logger {
  const config: LoggerOptions = {
    level: options.level ?? process.env.VDXP_LOG_LEVEL ?? 'info',
    base: { service: 'vdxp-connector', ...(options.organId ? { organId: options.organId } : {}) },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: {
      level: (label) => ({ level: label }),
    },
    // The arguments were scrubbed already; pino's own error serializer would rename the type.
    serializers: { err: (value: unknown) => (value instanceof Error ? scrubError(value) : value) },
    hooks: {
      logMethod(args, method) {
        method.apply(this, scrubArguments(args) as Parameters<typeof method>);
      },
    },
  };
  const target = options.destination ?? pino.destination({ dest: 1, sync: true });
  return pino(config, scrubbingDestination(target));
}

function scrubbingDestination(target: DestinationStream): DestinationStream {
  return { write: (line: string) => target.write(scrubLogLine(line)) };
}

/** A child logger whose every line carries the document's identity. */
export function forDocument(logger: Logger, fields: DocumentLogFields): Logger {
  return logger.child(fields);
}

/**
 * pino treats a leading Error specially (`{err}` plus its message); keep that shape while
 * scrubbing the message and stack, and scrub every other argument, including format arguments.
 */
function scrubArguments(args: unknown[]): unknown[] {
  const [first, ...rest] = args;
  if (first instanceof Error) {
    const err = scrubError(first);
    return rest.length > 0 ? [{ err }, ...rest.map((arg) => scrubValue(arg))] : [{ err }, err.message];
  }
  return args.map((arg) => scrubValue(arg));
}
