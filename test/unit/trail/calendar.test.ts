import { strict as assert } from 'node:assert';
import { lunarToSolar, tetJulianDay, fromJulianDay } from '../../../src/trail/calendar/lunar';
import { daysOff } from '../../../src/trail/calendar/holidays';
import { DEFAULT_CALENDAR, WorkingCalendar, formatVietnamTime } from '../../../src/trail/calendar/working-time';

/** An instant given as Vietnam local time. */
const vn = (local: string) => Date.parse(`${local}+07:00`);
const iso = (ms: number) => new Date(ms).toISOString();
const date = (jd: number) => {
  const d = fromJulianDay(jd);
  return `${d.year}-${String(d.month).padStart(2, '0')}-${String(d.day).padStart(2, '0')}`;
};

describe('trail calendar: the Vietnamese lunar calendar and working time', () => {
  it('puts Tết on the published dates, 2020–2030 (UTC+7, not China’s UTC+8)', () => {
    const published: Record<number, string> = {
      2020: '2020-01-25', 2021: '2021-02-12', 2022: '2022-02-01', 2023: '2023-01-22', 2024: '2024-02-10', 2025: '2025-01-29',
      2026: '2026-02-17', 2027: '2027-02-06', 2028: '2028-01-26', 2029: '2029-02-13',
    };
    for (const [year, expected] of Object.entries(published)) assert.equal(date(tetJulianDay(Number(year))), expected, `Tết ${year}`);
    // The new moon fell between 23:00 and midnight Vietnam time: Vietnam's new year comes a day
    // before China's (18 February 2007, 3 February 2030).
    assert.equal(date(tetJulianDay(2007)), '2007-02-17');
    assert.equal(date(tetJulianDay(2030)), '2030-02-02');
  });

  it('puts Giỗ Tổ Hùng Vương (lunar 10/3) on the published dates', () => {
    const published: Record<number, string> = { 2023: '2023-04-29', 2024: '2024-04-18', 2025: '2025-04-07', 2026: '2026-04-26' };
    for (const [year, expected] of Object.entries(published)) {
      const d = lunarToSolar(10, 3, Number(year));
      assert.equal(`${d.year}-${String(d.month).padStart(2, '0')}-${String(d.day).padStart(2, '0')}`, expected);
    }
  });

  it('gives the statutory days off of 2025 with the make-up day of a holiday on a weekend', () => {
    const off = daysOff(2025, DEFAULT_CALENDAR);
    for (const d of ['2025-01-01', '2025-01-28', '2025-01-29', '2025-01-30', '2025-01-31', '2025-02-01', '2025-04-07', '2025-04-30', '2025-05-01', '2025-09-01', '2025-09-02']) {
      assert.ok(off.has(d), `${d} is a day off`);
    }
    // Tết's fifth day, 1 February 2025, is a Saturday: made up on Monday 3 February.
    assert.match(off.get('2025-02-03') ?? '', /^Nghỉ bù/);
    assert.ok(!off.has('2025-02-04'));
  });

  it('counts working hours only: Friday 16:00 plus one working day is Monday 16:00', () => {
    const calendar = new WorkingCalendar();
    assert.equal(iso(calendar.addWorkingMinutes(vn('2026-11-27T16:00:00'), 480)), iso(vn('2026-11-30T16:00:00')));
    // Lunch does not count: 11:30 plus one hour is 13:30.
    assert.equal(iso(calendar.addWorkingMinutes(vn('2026-11-30T11:30:00'), 60)), iso(vn('2026-11-30T13:30:00')));
    // Sent on Saturday night: the clock starts on Monday at 08:00.
    assert.equal(iso(calendar.addWorkingMinutes(vn('2026-11-28T22:00:00'), 30)), iso(vn('2026-11-30T08:30:00')));
    assert.equal(calendar.workingMinutesBetween(vn('2026-11-27T16:00:00'), vn('2026-11-30T09:00:00')), 120);
  });

  it('waits out Tết: sent on Monday 27 January 2025 at 16:00, a working day later is Tuesday 4 February 16:00', () => {
    const calendar = new WorkingCalendar();
    assert.equal(iso(calendar.addWorkingMinutes(vn('2025-01-27T16:00:00'), 480)), iso(vn('2025-02-04T16:00:00')));
  });

  it('takes the year’s decree over the defaults: added days off, removed ones, a working Saturday', () => {
    const calendar = new WorkingCalendar({ ...DEFAULT_CALENDAR, add: ['2026-11-30'], remove: ['2026-09-01'], workOn: ['2026-11-28'] });
    assert.equal(calendar.isWorkingDay('2026-11-30'), false);
    assert.equal(calendar.isWorkingDay('2026-09-01'), true);
    assert.equal(calendar.isWorkingDay('2026-11-28'), true, 'a Saturday worked instead');
    assert.equal(iso(calendar.addWorkingMinutes(vn('2026-11-27T16:00:00'), 120)), iso(vn('2026-11-28T09:00:00')));
  });

  it('shows times in Asia/Ho_Chi_Minh whatever the machine’s zone', () => {
    assert.equal(formatVietnamTime(Date.parse('2026-11-30T17:05:09Z')), '01/12/2026 00:05:09');
  });
});
