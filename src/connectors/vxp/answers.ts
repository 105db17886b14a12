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

/** `dd/MM/yyyy HH:mm:ss` in `timeZone`, the axis's list time format (SPEC §12.1). */
export function listTime(at: Date | number, timeZone: string): string {
  const parts = new Intl.DateTimeFormat('en-GB', { timeZone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' }).formatToParts(new Date(at));
  const get = (t: string) => parts.find((p) => p.type === t)!.value;
  return `${get('day')}/${get('month')}/${get('year')} ${get('hour')}:${get('minute')}:${get('second')}`;
}
