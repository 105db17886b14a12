/**
 * The Vietnamese lunar calendar (âm lịch), for the holidays that follow it: Tết Nguyên Đán and
 * Giỗ Tổ Hùng Vương. Vietnam computes it for UTC+7, which is why its new year sometimes falls a
 * day away from China's (UTC+8). The method is the astronomical one published by Hồ Ngọc Đức
 * (new moons and the sun's longitude after Jean Meeus, "Astronomical Algorithms"): a month starts
 * on the day of a new moon in Vietnam's time zone, month 11 holds the winter solstice, and a year
 * with 13 months repeats the first month that contains no major solar term.
 *
 * Written here rather than taken from npm: the packages for it are single-release or unmaintained
 * (docs/TRAIL.md), and the method is short, old and checked against published dates in
 * test/unit/trail/calendar.test.ts.
 */

const VIETNAM_TIME_ZONE_HOURS = 7;
const SYNODIC_MONTH = 29.530588853;
const NEW_MOON_EPOCH = 2415021.076998695; // Julian day of the new moon of 1900-01-01

/** Julian day number of a Gregorian date. */
export function julianDay(year: number, month: number, day: number): number {
  const a = Math.floor((14 - month) / 12);
  const y = year + 4800 - a;
  const m = month + 12 * a - 3;
  return day + Math.floor((153 * m + 2) / 5) + 365 * y + Math.floor(y / 4) - Math.floor(y / 100) + Math.floor(y / 400) - 32045;
}

/** Gregorian date of a Julian day number. */
export function fromJulianDay(jd: number): { year: number; month: number; day: number } {
  const a = jd + 32044;
  const b = Math.floor((4 * a + 3) / 146097);
  const c = a - Math.floor((b * 146097) / 4);
  const d = Math.floor((4 * c + 3) / 1461);
  const e = c - Math.floor((1461 * d) / 4);
  const m = Math.floor((5 * e + 2) / 153);
  return { day: e - Math.floor((153 * m + 2) / 5) + 1, month: m + 3 - 12 * Math.floor(m / 10), year: b * 100 + d - 4800 + Math.floor(m / 10) };
}

/** Julian day (fractional, UT) of the k-th new moon after 1900-01-01. */
function newMoon(k: number): number {
  const T = k / 1236.85;
  const T2 = T * T;
  const T3 = T2 * T;
  const dr = Math.PI / 180;
  let jd1 = 2415020.75933 + 29.53058868 * k + 0.0001178 * T2 - 0.000000155 * T3;
  jd1 += 0.00033 * Math.sin((166.56 + 132.87 * T - 0.009173 * T2) * dr);
  const M = 359.2242 + 29.10535608 * k - 0.0000333 * T2 - 0.00000347 * T3;
  const Mpr = 306.0253 + 385.81691806 * k + 0.0107306 * T2 + 0.00001236 * T3;
  const F = 21.2964 + 390.67050646 * k - 0.0016528 * T2 - 0.00000239 * T3;
  let c1 = (0.1734 - 0.000393 * T) * Math.sin(M * dr) + 0.0021 * Math.sin(2 * dr * M);
  c1 -= 0.4068 * Math.sin(Mpr * dr) + 0.0161 * Math.sin(dr * 2 * Mpr);
  c1 -= 0.0004 * Math.sin(dr * 3 * Mpr);
  c1 += 0.0104 * Math.sin(dr * 2 * F) - 0.0051 * Math.sin(dr * (M + Mpr));
  c1 -= 0.0074 * Math.sin(dr * (M - Mpr)) + 0.0004 * Math.sin(dr * (2 * F + M));
  c1 -= 0.0004 * Math.sin(dr * (2 * F - M)) - 0.0006 * Math.sin(dr * (2 * F + Mpr));
  c1 += 0.001 * Math.sin(dr * (2 * F - Mpr)) + 0.0005 * Math.sin(dr * (2 * Mpr + M));
  const deltaT = T < -11 ? 0.001 + 0.000839 * T + 0.0002261 * T2 - 0.00000845 * T3 - 0.000000081 * T * T3 : -0.000278 + 0.000265 * T + 0.000262 * T2;
  return jd1 + c1 - deltaT;
}

/** Julian day number, in Vietnam's time zone, of the k-th new moon. */
function newMoonDay(k: number): number {
  return Math.floor(newMoon(k) + 0.5 + VIETNAM_TIME_ZONE_HOURS / 24);
}

/** The sun's longitude at the start of a day in Vietnam, as one of 12 sectors (0 = 0°–30°). */
function sunLongitudeSector(dayNumber: number): number {
  const jdn = dayNumber - 0.5 - VIETNAM_TIME_ZONE_HOURS / 24;
  const T = (jdn - 2451545.0) / 36525;
  const T2 = T * T;
  const dr = Math.PI / 180;
  const M = 357.5291 + 35999.0503 * T - 0.0001559 * T2 - 0.00000048 * T * T2;
  const L0 = 280.46645 + 36000.76983 * T + 0.0003032 * T2;
  let DL = (1.9146 - 0.004817 * T - 0.000014 * T2) * Math.sin(dr * M);
  DL += (0.019993 - 0.000101 * T) * Math.sin(dr * 2 * M) + 0.00029 * Math.sin(dr * 3 * M);
  let L = (L0 + DL) * dr;
  L -= Math.PI * 2 * Math.floor(L / (Math.PI * 2));
  return Math.floor((L / Math.PI) * 6);
}

/** The day lunar month 11 (the solstice month) starts in, for the solar year `year`. */
function lunarMonth11(year: number): number {
  const off = julianDay(year, 12, 31) - 2415021;
  const k = Math.floor(off / SYNODIC_MONTH);
  const nm = newMoonDay(k);
  return sunLongitudeSector(nm) >= 9 ? newMoonDay(k - 1) : nm;
}

/** Months after month 11 until the leap month of a 13-month lunar year. */
function leapMonthOffset(a11: number): number {
  const k = Math.floor((a11 - NEW_MOON_EPOCH) / SYNODIC_MONTH + 0.5);
  let i = 1;
  let arc = sunLongitudeSector(newMoonDay(k + i));
  let last: number;
  do {
    last = arc;
    i += 1;
    arc = sunLongitudeSector(newMoonDay(k + i));
  } while (arc !== last && i < 14);
  return i - 1;
}

/** The Gregorian date of lunar day/month in lunar year `year` (the non-leap month of that number). */
export function lunarToSolar(day: number, month: number, year: number): { year: number; month: number; day: number } {
  const [a11, b11] = month < 11 ? [lunarMonth11(year - 1), lunarMonth11(year)] : [lunarMonth11(year), lunarMonth11(year + 1)];
  const k = Math.floor(0.5 + (a11 - NEW_MOON_EPOCH) / SYNODIC_MONTH);
  let off = month - 11;
  if (off < 0) off += 12;
  if (b11 - a11 > 365 && off >= leapMonthOffset(a11)) off += 1;
  return fromJulianDay(newMoonDay(k + off) + day - 1);
}

/** Julian day number of Tết (lunar 1/1) of the lunar year that starts in Gregorian `year`. */
export function tetJulianDay(year: number): number {
  const { year: y, month, day } = lunarToSolar(1, 1, year);
  return julianDay(y, month, day);
}
