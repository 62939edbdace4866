/**
 * Go-style durations as refsync reads them (`1h`, `15m`, `1h30m`, `500ms`:
 * hours, minutes, seconds and milliseconds, fractions allowed): the pattern
 * the schemas check, and their length. validate.ts's parseDuration refuses
 * what does not match; sync windows read durations the schema checked.
 */
export const DURATION = /^(\d+(\.\d+)?(ms|s|m|h))+$/;

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Milliseconds of a duration matching DURATION (what does not match counts 0). */
export function durationMs(value: string): number {
  let total = 0;
  for (const m of value.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g))
    total += Number(m[1]) * (UNIT_MS[m[2] as string] ?? 0);
  return total;
}
