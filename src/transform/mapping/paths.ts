/**
 * Field paths into a vendor record: `VanBan.TrichYeu`, `noi_nhan`, `attachments`. A record is what
 * a profile parsed (JSON object, flat XML tree, one CSV row): objects, arrays and scalars. A key
 * that itself contains dots (a CSV column named `so.ky.hieu`) is found before the path is split.
 */
export type VendorScalar = string | number | boolean | null;
export type VendorValue = VendorScalar | VendorRecord | VendorValue[];
export interface VendorRecord {
  [key: string]: VendorValue;
}

export function isRecord(v: unknown): v is VendorRecord {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function getPath(record: VendorRecord, path: string): VendorValue | undefined {
  if (Object.prototype.hasOwnProperty.call(record, path)) return record[path];
  let current: VendorValue | undefined = record;
  for (const segment of path.split('.')) {
    if (!isRecord(current) || !Object.prototype.hasOwnProperty.call(current, segment)) return undefined;
    current = current[segment];
  }
  return current;
}

export function setPath(record: VendorRecord, path: string, value: VendorValue): void {
  const segments = path.split('.');
  let current = record;
  for (const segment of segments.slice(0, -1)) {
    const next = current[segment];
    if (isRecord(next)) current = next;
    else {
      const created: VendorRecord = {};
      current[segment] = created;
      current = created;
    }
  }
  current[segments[segments.length - 1]!] = value;
}

/** A scalar as text; objects and arrays are not text. */
export function scalarText(v: VendorValue | undefined): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return undefined;
}
