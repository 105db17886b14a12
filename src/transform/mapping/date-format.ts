/**
 * Vendor date patterns: `dd/MM/yyyy`, `yyyy-MM-dd`, `dd/MM/yyyy HH:mm:ss`, `yyyyMMdd`… Tokens are
 * yyyy, MM, dd, HH, mm, ss; anything else is literal. Parsing is strict: the whole input must
 * match, and the calendar date must exist.
 */
const TOKEN = /yyyy|MM|dd|HH|mm|ss/g;
const WIDTH: Record<string, number> = { yyyy: 4, MM: 2, dd: 2, HH: 2, mm: 2, ss: 2 };

export interface DateParts {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export function parseWithPattern(input: string, pattern: string): DateParts | undefined {
  const order: string[] = [];
  let source = '';
  let last = 0;
  for (const m of pattern.matchAll(TOKEN)) {
    source += escapeRegex(pattern.slice(last, m.index));
    // Day, month and time parts may drop their leading zero (1/9/2025); the year may not.
    source += m[0] === 'yyyy' ? '(\\d{4})' : '(\\d{1,2})';
    order.push(m[0]);
    last = m.index + m[0].length;
  }
  source += escapeRegex(pattern.slice(last));
  const match = new RegExp(`^${source}$`).exec(input.trim());
  if (!match) return undefined;
  const parts: DateParts = { year: 0, month: 1, day: 1, hour: 0, minute: 0, second: 0 };
  const key: Record<string, keyof DateParts> = { yyyy: 'year', MM: 'month', dd: 'day', HH: 'hour', mm: 'minute', ss: 'second' };
  order.forEach((token, i) => (parts[key[token]!] = Number(match[i + 1])));
  if (!validParts(parts)) return undefined;
  return parts;
}

function validParts(p: DateParts): boolean {
  if (p.month < 1 || p.month > 12 || p.day < 1 || p.hour > 23 || p.minute > 59 || p.second > 59) return false;
  const daysInMonth = new Date(Date.UTC(p.year, p.month, 0)).getUTCDate();
  return p.day <= daysInMonth && p.year >= 1;
}

export function formatWithPattern(parts: DateParts, pattern: string): string {
  const value: Record<string, number> = { yyyy: parts.year, MM: parts.month, dd: parts.day, HH: parts.hour, mm: parts.minute, ss: parts.second };
  return pattern.replace(TOKEN, (t) => String(value[t]).padStart(WIDTH[t]!, '0'));
}

/** `YYYY-MM-DD` or `YYYY-MM-DDTHH:mm:ss` (the model's forms) → parts. */
export function partsOfModelValue(value: string): DateParts {
  const [date, time = '00:00:00'] = value.split('T');
  const [year, month, day] = date!.split('-').map(Number);
  const [hour, minute, second] = time.split(':').map(Number);
  return { year: year!, month: month!, day: day!, hour: hour!, minute: minute!, second: second ?? 0 };
}

export function modelDate(p: DateParts): string {
  return `${String(p.year).padStart(4, '0')}-${String(p.month).padStart(2, '0')}-${String(p.day).padStart(2, '0')}`;
}

export function modelTimestamp(p: DateParts): string {
  return `${modelDate(p)}T${String(p.hour).padStart(2, '0')}:${String(p.minute).padStart(2, '0')}:${String(p.second).padStart(2, '0')}`;
}
