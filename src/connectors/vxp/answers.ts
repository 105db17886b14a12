/**
 * Answers in the shapes the VXP SDK's model classes read (BasicResult: status, ErrorCode,
 * ErrorDesc; then DocId, data or count per call). A missing field makes the SDK throw, so every
 * answer carries all three, and a refusal is `FAIL` with the typed reason as ErrorCode.
 */
export interface VxpAnswer {
  status: 'OK' | 'FAIL';
  ErrorCode: string;
  ErrorDesc: string;
  [field: string]: unknown;
}

export function ok(fields: Record<string, unknown> = {}): VxpAnswer {
  return { status: 'OK', ErrorCode: '0', ErrorDesc: 'Success', ...fields };
}

/** `code` is the typed reason (auth failure code, rejection reason, `not-found`, …); `desc` says what is wrong. */
export function fail(code: string, desc: string, fields: Record<string, unknown> = {}): VxpAnswer {
  return { status: 'FAIL', ErrorCode: code, ErrorDesc: desc, ...fields };
}

/**
 * One formatter per zone: making an Intl.DateTimeFormat costs about 0.5 ms, which for a list of
 * 10,000 waiting packages held the event loop for seconds.
 */
const LIST_TIME_FORMATS = new Map<string, Intl.DateTimeFormat>();

/** `dd/MM/yyyy HH:mm:ss` in `timeZone`, the axis's list time format (SPEC §12.1). */
export function listTime(at: Date | number, timeZone: string): string {
  let format = LIST_TIME_FORMATS.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-GB', { timeZone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' });
    LIST_TIME_FORMATS.set(timeZone, format);
  }
  const parts: Record<string, string> = {};
  for (const p of format.formatToParts(new Date(at))) parts[p.type] = p.value;
  return `${parts.day}/${parts.month}/${parts.year} ${parts.hour}:${parts.minute}:${parts.second}`;
}
