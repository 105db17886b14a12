/**
 * The two legacy metadata layouts: CSV (a header row and one data row, RFC 4180 quoting) and
 * key=value lines. Both give a flat record of column → text.
 */
import type { VendorRecord } from '../mapping';

export function parseCsvRows(text: string, delimiter: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"' && field === '') quoted = true;
    else if (c === delimiter) {
      row.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      field = '';
      if (row.some((f) => f !== '')) rows.push(row);
      row = [];
    } else field += c;
  }
  if (quoted) throw new Error('a quoted CSV field is not closed');
  row.push(field);
  if (row.some((f) => f !== '')) rows.push(row);
  return rows;
}

export function parseCsvRecord(text: string, delimiter: string): VendorRecord {
  const rows = parseCsvRows(text, delimiter);
  if (rows.length !== 2) throw new Error(`expected a header row and one data row, found ${rows.length} row(s)`);
  const [header, data] = rows as [string[], string[]];
  if (data.length !== header.length) throw new Error(`the header has ${header.length} columns, the data row ${data.length}`);
  const record: VendorRecord = {};
  header.forEach((name, i) => (record[name.trim()] = data[i]!));
  return record;
}

function csvField(s: string, delimiter: string): string {
  return s.includes(delimiter) || s.includes('"') || s.includes('\n') || s.includes('\r') ? `"${s.replace(/"/g, '""')}"` : s;
}

export function printCsvRecord(record: Record<string, string>, delimiter: string): string {
  const names = Object.keys(record);
  return `${names.map((n) => csvField(n, delimiter)).join(delimiter)}\r\n${names.map((n) => csvField(record[n]!, delimiter)).join(delimiter)}\r\n`;
}

export function parseKeyValueRecord(text: string): VendorRecord {
  const record: VendorRecord = {};
  text.split(/\r?\n/).forEach((line, i) => {
    if (line.trim() === '' || line.trimStart().startsWith('#')) return;
    const eq = line.indexOf('=');
    if (eq <= 0) throw new Error(`line ${i + 1} is not key=value`);
    record[line.slice(0, eq).trim()] = line.slice(eq + 1).trim().replace(/\\n/g, '\n');
  });
  return record;
}

export function printKeyValueRecord(record: Record<string, string>): string {
  return Object.entries(record)
    .map(([k, v]) => `${k}=${v.replace(/\r?\n/g, '\\n')}`)
    .join('\r\n') + '\r\n';
}
