/**
 * A vendor mapping as written in a connector's `profileOptions`, over the profile's defaults:
 *
 *   fields:            # logical field → vendor path, or { path, format, table, item }
 *     subject: TrichYeu
 *     promulgation.date: { path: NgayBanHanh, format: dd/MM/yyyy }
 *     to: { path: NoiNhan.DonVi, item: { id: Ma } }
 *     content: null    # drop a default mapping
 *   dateFormat: dd/MM/yyyy
 *   timestampFormat: dd/MM/yyyy HH:mm:ss
 *   codeTables:        # vendor value → edXML value; used in reverse on the way out
 *     documentType: { CV: 1, QD: 2 }
 *     priority: { thuong: 0, khan: 1 }
 *     status: { DA_TIEP_NHAN: '03' }
 *   organIds:          # vendor department code → OrganId
 *     VP-UBND: 000.00.00.H41
 *   hooks: [{ hook: number-notation, path: so_ky_hieu }]
 *   listSeparator: ';'
 */
import { FIELDS, isFieldName, type FieldName } from './fields';
import { MappingConfigError } from './errors';
import { mappingHook, mappingHookNames, type MappingHook } from './hooks';

export interface FieldRule {
  field: FieldName;
  path: string;
  /** Date/timestamp pattern for this field (else dateFormat / timestampFormat). */
  format?: string;
  /** Code table name (else the field's default table, when configured). */
  table?: string;
  /** For `to`: the vendor keys of each list item, when items are objects. */
  item?: { id: string; name?: string };
}

export interface HookRule {
  name: string;
  hook: MappingHook;
  path: string;
}

export interface MappingSpec {
  fields: Partial<Record<FieldName, FieldRule>>;
  dateFormat: string;
  timestampFormat: string;
  codeTables: Record<string, Record<string, string>>;
  organIds: Record<string, string>;
  hooks: HookRule[];
  listSeparator: string;
}

export interface MappingDefaults {
  fields: Partial<Record<FieldName, string | Omit<FieldRule, 'field'>>>;
  dateFormat: string;
  timestampFormat: string;
}

type Raw = Record<string, unknown>;

function isObject(v: unknown): v is Raw {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function str(v: unknown, at: string): string {
  if (typeof v !== 'string' || v === '') throw new MappingConfigError(at, 'must be a non-empty string');
  return v;
}

function fieldRule(field: FieldName, raw: unknown, at: string): FieldRule {
  if (typeof raw === 'string') return { field, path: str(raw, at) };
  if (!isObject(raw)) throw new MappingConfigError(at, 'must be a vendor path or { path, format, table, item }');
  for (const key of Object.keys(raw)) {
    if (!['path', 'format', 'table', 'item'].includes(key)) throw new MappingConfigError(`${at}.${key}`, 'unknown key (path, format, table, item)');
  }
  const rule: FieldRule = { field, path: str(raw.path, `${at}.path`) };
  if (raw.format !== undefined) rule.format = str(raw.format, `${at}.format`);
  if (raw.table !== undefined) rule.table = str(raw.table, `${at}.table`);
  if (raw.item !== undefined) {
    if (!isObject(raw.item)) throw new MappingConfigError(`${at}.item`, 'must be { id, name? }');
    rule.item = { id: str(raw.item.id, `${at}.item.id`) };
    if (raw.item.name !== undefined) rule.item.name = str(raw.item.name, `${at}.item.name`);
  }
  return rule;
}

function table(raw: unknown, at: string): Record<string, string> {
  if (!isObject(raw)) throw new MappingConfigError(at, 'must map vendor values to edXML values');
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw)) {
    if (typeof v !== 'string' && typeof v !== 'number') throw new MappingConfigError(`${at}.${k}`, 'must be a string or a number');
    out[k] = String(v);
  }
  return out;
}

const KNOWN_KEYS = ['fields', 'dateFormat', 'timestampFormat', 'codeTables', 'organIds', 'hooks', 'listSeparator'];

/**
 * Builds the spec from a profile's defaults and the connector's options. `ownKeys` are option keys
 * the profile itself reads (encoding, attachments…), accepted here without complaint.
 */
export function parseMappingSpec(options: Raw, defaults: MappingDefaults, ownKeys: string[] = [], at = 'profileOptions'): MappingSpec {
  for (const key of Object.keys(options)) {
    if (!KNOWN_KEYS.includes(key) && !ownKeys.includes(key)) {
      throw new MappingConfigError(`${at}.${key}`, `unknown option (known: ${[...KNOWN_KEYS, ...ownKeys].join(', ')})`);
    }
  }
  const fields: Partial<Record<FieldName, FieldRule>> = {};
  for (const [name, raw] of Object.entries(defaults.fields)) fields[name as FieldName] = fieldRule(name as FieldName, raw, `defaults.${name}`);
  if (options.fields !== undefined) {
    if (!isObject(options.fields)) throw new MappingConfigError(`${at}.fields`, 'must map logical fields to vendor paths');
    for (const [name, raw] of Object.entries(options.fields)) {
      if (!isFieldName(name)) throw new MappingConfigError(`${at}.fields.${name}`, `unknown field (known: ${Object.keys(FIELDS).join(', ')})`);
      if (raw === null) delete fields[name];
      else fields[name] = fieldRule(name, raw, `${at}.fields.${name}`);
    }
  }
  const codeTables: Record<string, Record<string, string>> = {};
  if (options.codeTables !== undefined) {
    if (!isObject(options.codeTables)) throw new MappingConfigError(`${at}.codeTables`, 'must be an object of tables');
    for (const [name, raw] of Object.entries(options.codeTables)) codeTables[name] = table(raw, `${at}.codeTables.${name}`);
  }
  for (const rule of Object.values(fields)) {
    if (rule.table && !codeTables[rule.table]) throw new MappingConfigError(`${at}.fields.${rule.field}.table`, `no code table ${rule.table} under codeTables`);
  }
  const hooks: HookRule[] = [];
  if (options.hooks !== undefined) {
    if (!Array.isArray(options.hooks)) throw new MappingConfigError(`${at}.hooks`, 'must be a list of { hook, path }');
    options.hooks.forEach((raw, i) => {
      const where = `${at}.hooks[${i}]`;
      if (!isObject(raw)) throw new MappingConfigError(where, 'must be { hook, path }');
      const name = str(raw.hook, `${where}.hook`);
      const hook = mappingHook(name);
      if (!hook) throw new MappingConfigError(`${where}.hook`, `no hook named ${name} (known: ${mappingHookNames().join(', ')})`);
      // A hook owns its fields: plain mappings of them would compete with it.
      for (const f of hook.fields) delete fields[f];
      hooks.push({ name, hook, path: str(raw.path, `${where}.path`) });
    });
  }
  return {
    fields,
    dateFormat: options.dateFormat === undefined ? defaults.dateFormat : str(options.dateFormat, `${at}.dateFormat`),
    timestampFormat: options.timestampFormat === undefined ? defaults.timestampFormat : str(options.timestampFormat, `${at}.timestampFormat`),
    codeTables,
    organIds: options.organIds === undefined ? {} : table(options.organIds, `${at}.organIds`),
    hooks,
    listSeparator: options.listSeparator === undefined ? ';' : str(options.listSeparator, `${at}.listSeparator`),
  };
}
