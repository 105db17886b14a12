/**
 * The declarative mapping engine: a parsed vendor record ⇄ logical edXML values, by a
 * MappingSpec. Pure; every refusal is a MappingError naming field, rule and input.
 */
import { isSaneOrganId } from '../../edxml/organ-id';
import { isStatusCode } from '../../edxml/model';
import { FIELDS, type FieldName, type LogicalValue, type LogicalValues } from './fields';
import { MappingError } from './errors';
import { formatWithPattern, modelDate, modelTimestamp, parseWithPattern, partsOfModelValue } from './date-format';
import { getPath, isRecord, scalarText, setPath, type VendorRecord, type VendorValue } from './paths';
import type { FieldRule, MappingSpec } from './spec';

export type PackageKind = 'edoc' | 'status';

function applies(field: FieldName, kind: PackageKind): boolean {
  const a = FIELDS[field].applies;
  return a === 'both' || a === kind;
}

function tableOf(spec: MappingSpec, rule: FieldRule): string | undefined {
  if (rule.table) return rule.table;
  const byDefault = (FIELDS[rule.field] as { table?: string }).table;
  return byDefault && spec.codeTables[byDefault] ? byDefault : undefined;
}

/** A record is a status when it carries a value where the status code is mapped. */
export function recordKind(record: VendorRecord, spec: MappingSpec): PackageKind {
  const rule = spec.fields['status.code'];
  if (!rule) return 'edoc';
  const v = getPath(record, rule.path);
  return v === undefined || v === null || v === '' ? 'edoc' : 'status';
}

export function vendorToValues(record: VendorRecord, spec: MappingSpec, ownOrganId: string): { kind: PackageKind; values: LogicalValues } {
  const kind = recordKind(record, spec);
  const values: LogicalValues = {};
  for (const rule of Object.values(spec.fields)) {
    if (!applies(rule.field, kind)) continue;
    const raw = getPath(record, rule.path);
    if (raw === undefined || raw === null || raw === '') continue;
    const fieldKind = FIELDS[rule.field].kind;
    const value = fieldKind === 'organList' ? organListIn(raw, rule, spec) : fieldKind === 'textList' ? textListIn(raw, rule, spec) : scalarIn(raw, rule, spec);
    if (value !== undefined) values[rule.field] = value;
    if (rule.field === 'to' && rule.item?.name) {
      const names = organNamesIn(raw, rule.item.name);
      if (names.some(Boolean)) values['to.organName'] = names;
    }
  }
  for (const { name, hook, path } of spec.hooks) {
    const raw = getPath(record, path);
    if (raw === undefined || raw === null || raw === '') continue;
    const text = scalarText(raw);
    if (text === undefined) throw new MappingError(hook.fields.join('+'), `hooks.${name}`, raw, 'expected a single value', path);
    for (const [field, v] of Object.entries(hook.toModel(text))) if (v !== undefined && v !== '') values[field as FieldName] = v;
  }
  values['from.organId'] ??= ownOrganId;
  if (kind === 'status' && values['status.timestamp'] === undefined) {
    // The connector does not stamp the time itself: the same status sent twice must be the same
    // package, with the same idempotency key (DESIGN.md §4 rule 2).
    const rule = spec.fields['status.timestamp'];
    throw new MappingError('status.timestamp', 'required', getPath(record, rule?.path ?? ''), 'a status needs the time it happened (SPEC §10.1 Timestamp)', rule?.path);
  }
  return { kind, values };
}

function scalarIn(raw: VendorValue, rule: FieldRule, spec: MappingSpec): string | undefined {
  const input = scalarText(raw);
  if (input === undefined) throw new MappingError(rule.field, 'fields', raw, 'expected a single value, found a list or an object', rule.path);
  let v = input.trim();
  if (v === '') return undefined;
  const table = tableOf(spec, rule);
  if (table) {
    const mapped = spec.codeTables[table]![v];
    if (mapped === undefined) {
      throw new MappingError(rule.field, `codeTables.${table}`, input, `not in the table (known: ${Object.keys(spec.codeTables[table]!).join(', ')})`, rule.path);
    }
    v = mapped;
  }
  switch (FIELDS[rule.field].kind) {
    case 'text':
      return v;
    case 'date':
    case 'timestamp':
      return dateIn(v, rule, spec);
    case 'integer':
      if (!/^-?\d+$/.test(v)) throw new MappingError(rule.field, 'integer', input, 'expected a whole number', rule.path);
      return String(Number(v));
    case 'statusCode': {
      const code = /^\d$/.test(v) ? `0${v}` : v;
      if (!isStatusCode(code)) {
        throw new MappingError(rule.field, table ? `codeTables.${table}` : 'status.code', input, 'is not an edXML status code (01–06, 13, 15, 16)', rule.path);
      }
      return code;
    }
    case 'organId':
      return organIn(v, rule, spec, input);
    case 'organList':
    case 'textList':
      return v;
  }
}

function textListIn(raw: VendorValue, rule: FieldRule, spec: MappingSpec): string[] | undefined {
  const items = Array.isArray(raw) ? raw : (scalarText(raw) ?? '').split(spec.listSeparator);
  const out = items.map((item) => {
    const t = scalarText(item);
    if (t === undefined) throw new MappingError(rule.field, 'fields', item, 'expected a list of texts', rule.path);
    return t.trim();
  });
  // Recipient names stay aligned with `to` by position, gaps included.
  const kept = rule.field === 'to.organName' ? out : out.filter(Boolean);
  return kept.some(Boolean) ? kept : undefined;
}

function dateIn(v: string, rule: FieldRule, spec: MappingSpec): string {
  const isTimestamp = FIELDS[rule.field].kind === 'timestamp';
  const pattern = rule.format ?? (isTimestamp ? spec.timestampFormat : spec.dateFormat);
  const parts = parseWithPattern(v, pattern) ?? (isTimestamp && !rule.format ? parseWithPattern(v, spec.dateFormat) : undefined);
  if (!parts) {
    const ruleName = rule.format ? `fields.${rule.field}.format` : isTimestamp ? 'timestampFormat' : 'dateFormat';
    throw new MappingError(rule.field, ruleName, v, `is not a date of the form ${pattern}`, rule.path);
  }
  return isTimestamp ? modelTimestamp(parts) : modelDate(parts);
}

function organIn(v: string, rule: FieldRule, spec: MappingSpec, input: unknown): string {
  const mapped = spec.organIds[v];
  if (mapped !== undefined) return mapped;
  if (isSaneOrganId(v) && v.includes('.')) return v;
  throw new MappingError(rule.field, 'organIds', input, 'is neither a configured department code nor an OrganId', rule.path);
}

function organNamesIn(raw: VendorValue, nameKey: string): string[] {
  const items = Array.isArray(raw) ? raw : isRecord(raw) ? [raw] : [];
  return items.filter(isRecord).map((item) => (scalarText(getPath(item, nameKey)) ?? '').trim());
}

function organListIn(raw: VendorValue, rule: FieldRule, spec: MappingSpec): string[] | undefined {
  let items: VendorValue[];
  if (Array.isArray(raw)) items = raw;
  else if (isRecord(raw)) items = [raw];
  else items = (scalarText(raw) ?? '').split(spec.listSeparator);
  const ids: string[] = [];
  for (const item of items) {
    const id = isRecord(item) && rule.item ? scalarText(getPath(item, rule.item.id)) : scalarText(item);
    if (id === undefined) throw new MappingError(rule.field, rule.item ? `fields.${rule.field}.item.id` : 'fields', item, 'expected an OrganId or department code', rule.path);
    if (id.trim() === '') continue;
    ids.push(organIn(id.trim(), rule, spec, id));
  }
  return ids.length ? ids : undefined;
}

export interface VendorShape {
  /** `joined`: lists become one text joined by listSeparator (CSV, key=value). */
  lists: 'array' | 'joined';
  /** `text`: every value is a string (XML, CSV); `typed`: integers stay numbers (JSON). */
  scalars: 'text' | 'typed';
}

export function valuesToVendor(values: LogicalValues, kind: PackageKind, spec: MappingSpec, shape: VendorShape): VendorRecord {
  const record: VendorRecord = {};
  for (const rule of Object.values(spec.fields)) {
    if (!applies(rule.field, kind)) continue;
    const v = values[rule.field];
    if (v === undefined) continue;
    const out = !Array.isArray(v)
      ? scalarOut(v, rule, spec, shape)
      : FIELDS[rule.field].kind === 'organList'
        ? organListOut(v, rule, spec, shape, values['to.organName'])
        : shape.lists === 'joined'
          ? v.join(spec.listSeparator)
          : v;
    if (out !== undefined) setPath(record, rule.path, out);
  }
  for (const { hook, path } of spec.hooks) {
    const out = hook.toVendor(values);
    if (out !== undefined) setPath(record, path, out);
  }
  return record;
}

function reverseLookup(table: Record<string, string>, value: string): string | undefined {
  return Object.entries(table).find(([, v]) => v === value)?.[0];
}

function scalarOut(v: string, rule: FieldRule, spec: MappingSpec, shape: VendorShape): VendorValue {
  const kind = FIELDS[rule.field].kind;
  let out: string = v;
  if (kind === 'date' || kind === 'timestamp') {
    out = formatWithPattern(partsOfModelValue(v), rule.format ?? (kind === 'timestamp' ? spec.timestampFormat : spec.dateFormat));
  } else if (kind === 'organId') {
    out = reverseLookup(spec.organIds, v) ?? v;
  }
  const table = tableOf(spec, rule);
  if (table) {
    const vendor = reverseLookup(spec.codeTables[table]!, v);
    if (vendor === undefined) throw new MappingError(rule.field, `codeTables.${table}`, v, 'no vendor value maps to this edXML value');
    return vendor;
  }
  return kind === 'integer' && shape.scalars === 'typed' ? Number(out) : out;
}

function organListOut(ids: string[], rule: FieldRule, spec: MappingSpec, shape: VendorShape, names: LogicalValue | undefined): VendorValue {
  const vendorIds = ids.map((id) => reverseLookup(spec.organIds, id) ?? id);
  const item = rule.item;
  if (item) {
    return vendorIds.map((id, i) => {
      const entry: VendorRecord = { [item.id]: id };
      const name = Array.isArray(names) ? names[i] : undefined;
      if (item.name && name) entry[item.name] = name;
      return entry;
    });
  }
  return shape.lists === 'joined' ? vendorIds.join(spec.listSeparator) : vendorIds;
}
