/**
 * Vietnam's public holidays by default (Bộ luật Lao động 2019, Điều 112), as calendar dates:
 * - Tết Dương lịch: 1 January;
 * - Tết Âm lịch: 5 days, here the last day of the lunar year and lunar 1/1 to 4/1;
 * - Giỗ Tổ Hùng Vương: lunar 10/3;
 * - Ngày Chiến thắng: 30 April; Quốc tế lao động: 1 May;
 * - Quốc khánh: 2 September and the day before it;
 * and, as the law provides, a holiday that falls on a weekly rest day is made up on the next
 * working day. The government fixes the exact Tết and Quốc khánh days, and any swapped working
 * Saturday, each year: `trail.calendar.holidays` adds and removes dates (docs/TRAIL.md).
 */
import { fromJulianDay, julianDay, lunarToSolar, tetJulianDay } from './lunar';

/** `YYYY-MM-DD`. */
export type IsoDate = string;

export const isoDate = (y: number, m: number, d: number): IsoDate => `${y}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
const fromJd = (jd: number): IsoDate => {
  const { year, month, day } = fromJulianDay(jd);
  return isoDate(year, month, day);
};
/** 0 Sunday … 6 Saturday, of a Julian day number. */
export const weekdayOfJd = (jd: number): number => (jd + 1) % 7;

export interface HolidayRules {
  /** Weekdays that are working days (0 Sunday … 6 Saturday). */
  workingWeekdays: readonly number[];
  /** Use the statutory Vietnamese holidays above (default true). */
  vietnamDefaults: boolean;
  /** Extra days off (the year's announced Tết days, a provincial holiday). */
  add: readonly IsoDate[];
  /** Default days off that are working days after all (a default the year's decree moved). */
  remove: readonly IsoDate[];
  /** Rest days worked instead (a Saturday swapped for a day off next to Tết). */
  workOn: readonly IsoDate[];
}

/** The statutory holidays of one year, before make-up days. */
export function statutoryHolidays(year: number): Map<IsoDate, string> {
  const days = new Map<IsoDate, string>();
  days.set(isoDate(year, 1, 1), 'Tết Dương lịch');
  const tet = tetJulianDay(year);
  for (let jd = tet - 1; jd <= tet + 3; jd++) days.set(fromJd(jd), 'Tết Nguyên Đán');
  const gioTo = lunarToSolar(10, 3, year);
  days.set(isoDate(gioTo.year, gioTo.month, gioTo.day), 'Giỗ Tổ Hùng Vương');
  days.set(isoDate(year, 4, 30), 'Ngày Chiến thắng');
  days.set(isoDate(year, 5, 1), 'Ngày Quốc tế Lao động');
  days.set(isoDate(year, 9, 1), 'Quốc khánh');
  days.set(isoDate(year, 9, 2), 'Quốc khánh');
  return days;
}

/** Days off of one year under the rules: holidays, make-up days, additions, minus removals. */
export function daysOff(year: number, rules: HolidayRules): Map<IsoDate, string> {
  const off = new Map<IsoDate, string>();
  const working = new Set(rules.workingWeekdays);
  if (rules.vietnamDefaults) {
    // The previous year's late holidays can push a make-up day into January; none of ours do.
    const statutory = statutoryHolidays(year);
    for (const [date, name] of statutory) off.set(date, name);
    for (const [date, name] of [...statutory].sort(([a], [b]) => a.localeCompare(b))) {
      const jd = julianDayOf(date);
      if (working.has(weekdayOfJd(jd))) continue;
      let makeUp = jd + 1;
      while (!working.has(weekdayOfJd(makeUp)) || off.has(fromJd(makeUp))) makeUp += 1;
      off.set(fromJd(makeUp), `Nghỉ bù ${name}`);
    }
  }
  for (const date of rules.add) if (date.startsWith(`${year}-`)) off.set(date, off.get(date) ?? 'Ngày nghỉ');
  for (const date of rules.remove) off.delete(date);
  return off;
}

export function julianDayOf(date: IsoDate): number {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  return julianDay(y, m, d);
}
