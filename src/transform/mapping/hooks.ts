/**
 * Named code hooks, for rules configuration cannot express. A hook reads one vendor value into
 * one or more logical fields, and writes them back. Each is named in config:
 *   hooks: [{ hook: number-notation, path: so_ky_hieu }]
 */
import type { FieldName, LogicalValues } from './fields';

export interface MappingHook {
  readonly description: string;
  /** The logical fields the hook fills (and reads back on the way out). */
  readonly fields: readonly FieldName[];
  toModel(input: string): Partial<Record<FieldName, string>>;
  toVendor(values: LogicalValues): string | undefined;
}

const HOOKS = new Map<string, MappingHook>();

export function registerMappingHook(name: string, hook: MappingHook): void {
  if (HOOKS.has(name)) throw new Error(`mapping hook ${name} is already registered`);
  HOOKS.set(name, hook);
}

export function mappingHook(name: string): MappingHook | undefined {
  return HOOKS.get(name);
}

export function mappingHookNames(): string[] {
  return [...HOOKS.keys()];
}

/**
 * "Số, ký hiệu" in one vendor field, as printed on the document: `12/QĐ-UBND` → number 12,
 * notation QĐ-UBND. The notation itself contains dashes and sometimes slashes
 * (`15/2025/NĐ-CP`), so only the first slash separates.
 */
registerMappingHook('number-notation', {
  description: 'one "number/notation" vendor field ⇄ code.number and code.notation',
  fields: ['code.number', 'code.notation'],
  toModel(input) {
    const i = input.indexOf('/');
    if (i < 0) return { 'code.number': input.trim() };
    return { 'code.number': input.slice(0, i).trim(), 'code.notation': input.slice(i + 1).trim() };
  },
  toVendor(values) {
    const number = values['code.number'];
    const notation = values['code.notation'];
    if (typeof number !== 'string' && typeof notation !== 'string') return undefined;
    return notation === undefined ? String(number) : `${number ?? ''}/${notation}`;
  },
});
