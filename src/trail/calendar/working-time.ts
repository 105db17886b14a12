/**
 * Working time in Vietnam (Asia/Ho_Chi_Minh, UTC+7 all year: no daylight saving since 1975):
 * the deadlines of the overdue rules count only working hours of working days, so a document sent
 * on Friday at 16:00 with a day to be accepted is due on Monday at 16:00, and one sent before Tết
 * waits out the holiday.
 */
import { daysOff, isoDate, julianDayOf, weekdayOfJd, type HolidayRules, type IsoDate } from './holidays';

export const VIETNAM_TIME_ZONE = 'Asia/Ho_Chi_Minh';
const OFFSET_MS = 7 * 3_600_000;
const DAY_MS = 86_400_000;
const MINUTE_MS = 60_000;
/** No rule waits longer than this many days for working time (guards a calendar with none). */
const MAX_DAYS_SEARCHED = 3_660;

export interface WorkingInterval {
  /** `HH:MM`, local time. */
  from: string;
  to: string;
}

export interface CalendarSettings extends HolidayRules {
  workingHours: readonly WorkingInterval[];
}

/** Vietnamese state agencies' usual week: Monday to Friday, 08:00–12:00 and 13:00–17:00. */
export const DEFAULT_CALENDAR: CalendarSettings = {
  workingHours: [
    { from: '08:00', to: '12:00' },
    { from: '13:00', to: '17:00' },
  ],
  workingWeekdays: [1, 2, 3, 4, 5],
  vietnamDefaults: true,
  add: [],
  remove: [],
  workOn: [],
};

const minutesOf = (hhmm: string): number => {
  const [h, m] = hhmm.split(':').map(Number) as [number, number];
  return h * 60 + m;
};

/** The local calendar date of an instant. */
export function localDate(ms: number): IsoDate {
  const d = new Date(ms + OFFSET_MS);
  return isoDate(d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate());
}

/** The instant of local midnight starting `date`. */
export function localMidnight(date: IsoDate): number {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  return Date.UTC(y, m - 1, d) - OFFSET_MS;
}

export class WorkingCalendar {
  private readonly intervals: Array<[number, number]>;
  private readonly offByYear = new Map<number, Map<IsoDate, string>>();
  private readonly workOn: Set<IsoDate>;
  private readonly weekdays: Set<number>;

  constructor(readonly settings: CalendarSettings = DEFAULT_CALENDAR) {
    this.intervals = settings.workingHours.map((i) => [minutesOf(i.from), minutesOf(i.to)] as [number, number]).filter(([a, b]) => b > a).sort((a, b) => a[0] - b[0]);
    this.workOn = new Set(settings.workOn);
    this.weekdays = new Set(settings.workingWeekdays);
  }

  /** The day off's name (holiday, make-up day), if `date` is one. */
  holidayName(date: IsoDate): string | undefined {
    const year = Number(date.slice(0, 4));
    let off = this.offByYear.get(year);
    if (!off) this.offByYear.set(year, (off = daysOff(year, this.settings)));
    return off.get(date);
  }

  isWorkingDay(date: IsoDate): boolean {
    if (this.holidayName(date) !== undefined) return false;
    return this.workOn.has(date) || this.weekdays.has(weekdayOfJd(julianDayOf(date)));
  }

  /** The instant when `minutes` of working time have passed since `start`. */
  addWorkingMinutes(start: number, minutes: number): number {
    let left = minutes * MINUTE_MS;
    let day = localMidnight(localDate(start));
    for (let n = 0; n < MAX_DAYS_SEARCHED; n++, day += DAY_MS) {
      if (!this.isWorkingDay(localDate(day + DAY_MS / 2))) continue;
      for (const [from, to] of this.intervals) {
        const begin = Math.max(day + from * MINUTE_MS, start);
        const end = day + to * MINUTE_MS;
        if (end <= begin) continue;
        if (end - begin >= left) return begin + left;
        left -= end - begin;
      }
    }
    return Number.POSITIVE_INFINITY;
  }

  /** Working minutes between two instants (0 if `to` is not after `from`). */
  workingMinutesBetween(from: number, to: number): number {
    if (to <= from) return 0;
    let total = 0;
    let day = localMidnight(localDate(from));
    for (let n = 0; day < to && n < MAX_DAYS_SEARCHED; n++, day += DAY_MS) {
      if (!this.isWorkingDay(localDate(day + DAY_MS / 2))) continue;
      for (const [a, b] of this.intervals) {
        const begin = Math.max(day + a * MINUTE_MS, from);
        const end = Math.min(day + b * MINUTE_MS, to);
        if (end > begin) total += end - begin;
      }
    }
    return total / MINUTE_MS;
  }
}

const displayFormat = new Intl.DateTimeFormat('vi-VN', {
  timeZone: VIETNAM_TIME_ZONE,
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
  hour12: false,
});

/** `dd/MM/yyyy HH:mm:ss` in Asia/Ho_Chi_Minh, as Vietnamese readers write it. */
export function formatVietnamTime(ms: number): string {
  const parts = Object.fromEntries(displayFormat.formatToParts(new Date(ms)).map((p) => [p.type, p.value]));
  return `${parts.day}/${parts.month}/${parts.year} ${parts.hour}:${parts.minute}:${parts.second}`;
}
