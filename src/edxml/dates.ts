/**
 * Dates and timestamps as edXML writes them (SPEC §14). The reader accepts the three date forms
 * seen in the field; the writer always writes `yyyy/MM/dd` and `yyyy/MM/dd HH:mm:ss`. No time zone
 * is ever written: the field means Vietnam local time (UTC+7).
 */
import type { EdDate, EdTimestamp } from './model';

export type DateForm = 'yyyy/MM/dd' | 'dd/MM/yyyy' | 'yyyy-MM-dd';

const VIETNAM_OFFSET_MS = 7 * 3600 * 1000;

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0');
}

function validCalendarDate(y: number, m: number, d: number): boolean {
  if (y < 1 || y > 9999 || m < 1 || m > 12 || d < 1) return false;
  const days = new Date(Date.UTC(2000, m, 0)).getUTCDate(); // leap year for Feb; fixed below
  if (m === 2) {
    const leap = (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
    return d <= (leap ? 29 : 28);
  }
  return d <= days;
}

const DATE_FORMS: Array<{ form: DateForm; re: RegExp; ymd: (m: RegExpExecArray) => [number, number, number] }> = [
  { form: 'yyyy/MM/dd', re: /^(\d{4})\/(\d{1,2})\/(\d{1,2})/, ymd: (m) => [+m[1]!, +m[2]!, +m[3]!] },
  { form: 'dd/MM/yyyy', re: /^(\d{1,2})\/(\d{1,2})\/(\d{4})/, ymd: (m) => [+m[3]!, +m[2]!, +m[1]!] },
  { form: 'yyyy-MM-dd', re: /^(\d{4})-(\d{1,2})-(\d{1,2})/, ymd: (m) => [+m[1]!, +m[2]!, +m[3]!] },
];

const TIME = /^(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?(?:\.\d+)?)?$/;

export interface ParsedDate {
  date: EdDate;
  form: DateForm;
  /** Hours, minutes, seconds when a time followed the date. */
  time?: [number, number, number];
}

/** `yyyy/MM/dd`, then `dd/MM/yyyy`, then `yyyy-MM-dd` (SPEC §15 reader 4); a trailing time is allowed. */
export function parseEdDateDetailed(raw: string): ParsedDate | undefined {
  const s = raw.trim();
  for (const f of DATE_FORMS) {
    const m = f.re.exec(s);
    if (!m) continue;
    const rest = TIME.exec(s.slice(m[0].length));
    if (!rest) continue;
    const [y, mo, d] = f.ymd(m);
    if (!validCalendarDate(y, mo, d)) return undefined;
    const out: ParsedDate = { date: `${pad(y, 4)}-${pad(mo)}-${pad(d)}`, form: f.form };
    if (rest[1] !== undefined) {
      const h = +rest[1];
      const mi = +rest[2]!;
      const se = rest[3] === undefined ? 0 : +rest[3];
      if (h > 23 || mi > 59 || se > 59) return undefined;
      out.time = [h, mi, se];
    }
    return out;
  }
  return undefined;
}

export function parseEdDate(raw: string): EdDate | undefined {
  return parseEdDateDetailed(raw)?.date;
}

/** `yyyy/MM/dd HH:mm:ss` (and the other date forms, with or without seconds) → `YYYY-MM-DDTHH:mm:ss`. */
export function parseEdTimestamp(raw: string): EdTimestamp | undefined {
  const p = parseEdDateDetailed(raw);
  if (!p) return undefined;
  const [h, mi, s] = p.time ?? [0, 0, 0];
  return `${p.date}T${pad(h)}:${pad(mi)}:${pad(s)}`;
}

export function isEdDate(s: unknown): s is EdDate {
  return typeof s === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(s) && parseEdDate(s) === s;
}

export function isEdTimestamp(s: unknown): s is EdTimestamp {
  return typeof s === 'string' && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$/.test(s) && parseEdTimestamp(s) === s;
}

/** `YYYY-MM-DD` → `yyyy/MM/dd`. */
export function formatEdDate(date: EdDate): string {
  return date.replace(/-/g, '/');
}

/** `YYYY-MM-DDTHH:mm:ss` → `yyyy/MM/dd HH:mm:ss`. */
export function formatEdTimestamp(ts: EdTimestamp): string {
  return ts.replace(/-/g, '/').replace('T', ' ');
}

/** An instant → Vietnam local timestamp. */
export function timestampFromDate(d: Date): EdTimestamp {
  const v = new Date(d.getTime() + VIETNAM_OFFSET_MS);
  return (
    `${pad(v.getUTCFullYear(), 4)}-${pad(v.getUTCMonth() + 1)}-${pad(v.getUTCDate())}` +
    `T${pad(v.getUTCHours())}:${pad(v.getUTCMinutes())}:${pad(v.getUTCSeconds())}`
  );
}

/** An instant → Vietnam local calendar date. */
export function dateFromDate(d: Date): EdDate {
  return timestampFromDate(d).slice(0, 10);
}

/** Vietnam local timestamp → instant. */
export function timestampToDate(ts: EdTimestamp): Date {
  return new Date(`${ts}+07:00`);
}
