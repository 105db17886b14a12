/**
 * Overdue rules (issue 18 §3): per counterpart, working time until arrival (status 01) and until
 * acceptance (status 03); the document's own DueDate for completion (status 06). Deadlines count
 * working time of the agency's calendar (./calendar/working-time.ts).
 */
import { localMidnight, WorkingCalendar, type CalendarSettings } from './calendar/working-time';
import { julianDayOf } from './calendar/holidays';
import { fromJulianDay } from './calendar/lunar';

export const OVERDUE_STAGES = ['arrival', 'acceptance', 'completion'] as const;
export type OverdueStage = (typeof OVERDUE_STAGES)[number];

export interface StageLimits {
  /** Working minutes from sending (or receiving) to status 01. */
  arrivalWorkingMinutes: number;
  /** Working minutes from sending (or receiving) to status 03. */
  acceptanceWorkingMinutes: number;
}

export interface OverdueSettings extends StageLimits {
  /** Limits for one counterpart OrganId, over the defaults above. */
  counterparts: Record<string, Partial<StageLimits>>;
  calendar: CalendarSettings;
}

export const DEFAULT_STAGE_LIMITS: StageLimits = {
  // Machine to machine a document takes minutes; an hour of working time means something is stuck.
  arrivalWorkingMinutes: 60,
  // One working day (8 h) for a clerk to accept (status 03) what arrived.
  acceptanceWorkingMinutes: 480,
};

export class OverdueRules {
  readonly calendar: WorkingCalendar;

  constructor(private readonly settings: OverdueSettings) {
    this.calendar = new WorkingCalendar(settings.calendar);
  }

  limitsFor(counterpart: string): StageLimits {
    const own = Object.hasOwn(this.settings.counterparts, counterpart) ? this.settings.counterparts[counterpart] : undefined;
    return {
      arrivalWorkingMinutes: own?.arrivalWorkingMinutes ?? this.settings.arrivalWorkingMinutes,
      acceptanceWorkingMinutes: own?.acceptanceWorkingMinutes ?? this.settings.acceptanceWorkingMinutes,
    };
  }

  /** When arrival (01) and acceptance (03) are due for a document sent to / received from `counterpart` at `since`. */
  deadlines(counterpart: string, since: number): { arrival: number; acceptance: number } {
    const limits = this.limitsFor(counterpart);
    return {
      arrival: this.calendar.addWorkingMinutes(since, limits.arrivalWorkingMinutes),
      acceptance: this.calendar.addWorkingMinutes(since, limits.acceptanceWorkingMinutes),
    };
  }

  /** A DueDate (`YYYY-MM-DD`) is met until the end of that day, Vietnam time. */
  completionDeadline(dueDate: string | undefined): number | undefined {
    if (!dueDate || !/^\d{4}-\d{2}-\d{2}$/.test(dueDate)) return undefined;
    const next = fromJulianDay(julianDayOf(dueDate) + 1);
    return localMidnight(`${next.year}-${String(next.month).padStart(2, '0')}-${String(next.day).padStart(2, '0')}`);
  }
}
