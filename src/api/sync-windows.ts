/**
 * `spec.syncWindows` as ESO evaluates it (in UTC): a window opens at each
 * firing of its cron schedule and stays open for its duration, both ends
 * included; `allow` lets periodic refreshes run only while some window is
 * open, `deny` stops them while any is. ESO looks only at the latest firing
 * at most duration + 1 s before the time asked (robfig/cron's Next from
 * there), and so does `windowOpen`.
 *
 * Schedules: five cron fields (minute hour day-of-month month day-of-week,
 * names and `?` allowed, day-of-month and day-of-week ORed when both are
 * restricted) or a descriptor, `@yearly` … `@hourly`, `@every <duration>`
 * (robfig's constant delay: one firing every duration, whole seconds,
 * counted from the time asked). ESO skips a schedule it cannot parse; here
 * the spec is refused instead (schema.ts), so a typo is an error.
 */
import { Cron } from "croner";
import { DURATION, durationMs } from "./duration.ts";

export interface SyncWindowsSpec {
  kind: "allow" | "deny";
  windows: { schedule: string; duration: string }[];
}

const DESCRIPTORS: Record<string, string> = {
  "@yearly": "0 0 1 1 *",
  "@annually": "0 0 1 1 *",
  "@monthly": "0 0 1 * *",
  "@weekly": "0 0 * * 0",
  "@daily": "0 0 * * *",
  "@midnight": "0 0 * * *",
  "@hourly": "0 * * * *",
};

/** A schedule's next firing strictly after a whole second `t` (robfig's Next), ms; undefined for none. */
type Next = (t: number) => number | undefined;

const SECOND = 1000;
const floorSecond = (ms: number) => Math.floor(ms / SECOND) * SECOND;

const PART = /^(\*|\?|[0-9]+|[A-Za-z]{3})(-([0-9]+|[A-Za-z]{3}))?(\/[0-9]+)?$/;
const FIELD_NAMES = ["minute", "hour", "day of month", "month", "day of week"];

/**
 * What robfig/cron accepts and croner would read otherwise: values, ranges,
 * steps, `*`, `?` and three-letter names only (no `L`, `W` or `#`), and a day
 * of week from 0 to 6 (croner takes 7 for Sunday). Value bounds and names
 * are left to croner, which checks them as robfig does.
 */
function robfigGrammar(fields: string[]): void {
  if (fields.length !== 5) throw new Error("a cron schedule has 5 fields");
  fields.forEach((field, i) => {
    for (const part of field.split(",")) {
      if (!PART.test(part)) throw new Error(`${FIELD_NAMES[i]}: "${part}" is not a value, range or step`);
      if (i === 4 && /(^|-)7(\/|-|$)/.test(part))
        throw new Error(`day of week: 7 is out of range (0-6, Sunday is 0)`);
    }
  });
}

/** The schedule's `next`; throws an Error saying what is wrong. */
export function parseSchedule(schedule: string): Next {
  const every = /^@every (.+)$/.exec(schedule);
  if (every) {
    const spec = (every[1] as string).trim();
    if (!DURATION.test(spec)) throw new Error(`"${spec}" is not a duration like 1h or 30m`);
    const delay = Math.max(SECOND, floorSecond(durationMs(spec)));
    return (t) => floorSecond(t) + delay;
  }
  const fields = DESCRIPTORS[schedule] ?? schedule;
  if (fields.startsWith("@")) throw new Error(`unknown descriptor ${schedule}`);
  robfigGrammar(fields.trim().split(/\s+/));
  // robfig reads `?` as `*`; croner would put the current time there.
  const cron = new Cron(fields.replaceAll("?", "*"), { timezone: "UTC", mode: "5-part", paused: true });
  return (t) => cron.nextRun(new Date(floorSecond(t)))?.getTime();
}

/** Whether a window (schedule `next`, open `durationMs`) is open at `at` (ESO's isWithinSyncWindow). */
function windowOpen(next: Next, duration: number, at: number): boolean {
  const opened = next(at - duration - SECOND);
  return opened !== undefined && opened <= at && at <= opened + duration;
}

interface Window {
  next: Next;
  duration: number;
}

function windowsOf(spec: SyncWindowsSpec): Window[] {
  return spec.windows.map((w) => ({ next: parseSchedule(w.schedule), duration: durationMs(w.duration) }));
}

function allowedAt(kind: SyncWindowsSpec["kind"], windows: Window[], at: number): boolean {
  const open = windows.some((w) => windowOpen(w.next, w.duration, at));
  return kind === "allow" ? open : !open;
}

/** Whether a periodic refresh may run at `at`. */
export function refreshAllowed(spec: SyncWindowsSpec | undefined, at: number): boolean {
  return !spec || allowedAt(spec.kind, windowsOf(spec), at);
}

/**
 * The first time at or after `from` when a periodic refresh may run, ms;
 * undefined when none is found within a year (a schedule that never fires,
 * an `@every` window that never opens).
 */
export function nextAllowed(spec: SyncWindowsSpec | undefined, from: number): number | undefined {
  if (!spec) return from;
  const windows = windowsOf(spec);
  const limit = from + 366 * 24 * 3_600_000;
  let at = from;
  for (let i = 0; i < 1000 && at <= limit; i++) {
    if (allowedAt(spec.kind, windows, at)) return at;
    // Candidates: where a window opens (allow) or closes (deny) next.
    const candidates = windows.flatMap((w) => {
      if (spec.kind === "allow") return [w.next(at)];
      const opened = w.next(at - w.duration - SECOND);
      return opened !== undefined && opened <= at ? [opened + w.duration + 1] : [];
    });
    const later = candidates.filter((t): t is number => t !== undefined && t > at);
    if (later.length === 0) return undefined;
    at = Math.min(...later);
  }
  return undefined;
}
