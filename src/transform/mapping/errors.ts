import { Rejection } from '../../errors';

/**
 * A value that does not fit the mapping. The message names the logical field, the vendor path,
 * the rule (a config key such as `codeTables.priority` or `dateFormat`) and the input value, so
 * a vendor sees exactly what to fix.
 */
export class MappingError extends Rejection {
  constructor(
    readonly field: string,
    readonly rule: string,
    readonly input: unknown,
    explanation: string,
    readonly path?: string,
  ) {
    const where = path ? `field ${field} (vendor path ${path})` : `field ${field}`;
    super('mapping-failed', `${where}, rule ${rule}: ${explanation}; input ${JSON.stringify(input)}`);
  }
}

/** A profile's options that do not make sense; names the option path. */
export class MappingConfigError extends Error {
  constructor(
    readonly optionPath: string,
    message: string,
  ) {
    super(`${optionPath}: ${message}`);
  }
}
