/**
 * Go's `time` as Sprig's date functions use it: time.Time values, the
 * reference-time layouts of Format and Parse ("2006-01-02 15:04:05"),
 * time.Duration's ParseDuration and String, and zones by IANA name. Written
 * from Go's time package documentation and behaviour; ESO's container has no
 * local zone, so `Local` is UTC as it is there. Zone offsets come from the
 * ICU data Node carries (no file is read). Errors never repeat the value
 * parsed, only the layout's words, as the value may be a secret.
 */
import { TemplateFuncError } from "./errors.ts";
import { GoObject, type Value } from "./value.ts";

const fail = (msg: string): never => {
  throw new TemplateFuncError(msg);
};

export const SECOND = 1_000_000_000n;
const MIN_INT64 = -(2n ** 63n);
const MAX_INT64 = 2n ** 63n - 1n;
/** Seconds from year 1 to 1970, as Go's zero Time is January 1, year 1, UTC. */
const ZERO_UNIX = -62135596800n;

// ---- zones

export interface Zone {
  readonly name: string;
  /** The zone's abbreviation (undefined if not known here) and offset east of UTC in seconds, at a Unix time. */
  at(unix: number): { abbr: string | undefined; offset: number };
}

const fixed = (name: string, offset: number): Zone => ({ name, at: () => ({ abbr: name, offset }) });
export const UTC: Zone = fixed("UTC", 0);

const offsetFormats = new Map<string, Intl.DateTimeFormat>();
const abbrFormats = new Map<string, Intl.DateTimeFormat>();

function intlFormat(cache: Map<string, Intl.DateTimeFormat>, zone: string, style: "longOffset" | "short") {
  let f = cache.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", { timeZone: zone, timeZoneName: style });
    if (cache.size > 100) cache.clear();
    cache.set(zone, f);
  }
  return f;
}

function zonePart(f: Intl.DateTimeFormat, unix: number): string {
  const ms = unix * 1000;
  if (!(Math.abs(ms) <= 8.64e15)) return fail("time out of the range of zone data");
  return f.formatToParts(new Date(ms)).find((p) => p.type === "timeZoneName")?.value ?? "GMT";
}

/** An IANA zone: offsets from ICU; the abbreviation tzdata gives where ICU agrees with it, else undefined. */
function ianaZone(name: string): Zone {
  const etc = /^Etc\/GMT([+-])(\d{1,2})$/.exec(name);
  return {
    name,
    at(unix) {
      const m = /^GMT(?:([+-])(\d{2}):(\d{2})(?::(\d{2}))?)?$/.exec(
        zonePart(intlFormat(offsetFormats, name, "longOffset"), unix),
      );
      const offset = m?.[1]
        ? (m[1] === "-" ? -1 : 1) * (Number(m[2]) * 3600 + Number(m[3]) * 60 + Number(m[4] ?? 0))
        : 0;
      let abbr: string | undefined;
      if (etc) abbr = `${etc[1] === "+" ? "-" : "+"}${etc[2]!.padStart(2, "0")}`;
      else if (/^(Etc\/)?(GMT0?|Greenwich|GMT[+-]0)$/.test(name)) abbr = "GMT";
      else {
        const short = zonePart(intlFormat(abbrFormats, name, "short"), unix);
        if (/^[A-Z]{3,5}$/.test(short) && short !== "GMT") abbr = short;
      }
      return { abbr, offset };
    },
  };
}

/** time.LoadLocation, falling back to UTC as Sprig does when the name is not a zone. */
export function loadLocation(name: string): Zone {
  if (name === "" || name === "UTC" || name === "Local") return UTC;
  // tzdata's file names: case matters, every segment starts with a capital.
  if (!/^[A-Z][A-Za-z0-9_+-]*(\/[A-Z][A-Za-z0-9_+-]*)*$/.test(name)) return UTC;
  let resolved: string;
  try {
    resolved = new Intl.DateTimeFormat("en-US", { timeZone: name }).resolvedOptions().timeZone;
  } catch {
    return UTC;
  }
  if (resolved.toLowerCase() === name.toLowerCase() && resolved !== name) return UTC;
  return ianaZone(name);
}

// ---- time.Time

const MONTHS = [
  "January",
  "February",
  "March",
  "April",
  "May",
  "June",
  "July",
  "August",
  "September",
  "October",
  "November",
  "December",
];
const DAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];

/** Days since 1970-01-01 of a proleptic Gregorian date (month 1-12). */
function daysFromCivil(y: number, m: number, d: number): number {
  const yy = m <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

function civilFromDays(z: number): { year: number; month: number; day: number } {
  const zz = z + 719468;
  const era = Math.floor(zz / 146097);
  const doe = zz - era * 146097;
  const yoe = Math.floor(
    (doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365,
  );
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  return { year: yoe + era * 400 + (month <= 2 ? 1 : 0), month, day };
}

const isLeap = (y: number) => y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
const daysIn = (month: number, year: number) =>
  month === 2 ? (isLeap(year) ? 29 : 28) : [4, 6, 9, 11].includes(month) ? 30 : 31;

interface Civil {
  year: number;
  month: number;
  day: number;
  yday: number;
  weekday: number;
  hour: number;
  minute: number;
  second: number;
  nsec: number;
  abbr: string | undefined;
  offset: number;
}

/** A time.Time: nanoseconds since the Unix epoch and its zone. */
export class GoTime extends GoObject {
  readonly goType = "time.Time";
  readonly unixNs: bigint;
  readonly zone: Zone;
  constructor(unixNs: bigint, zone: Zone = UTC) {
    super();
    this.unixNs = unixNs;
    this.zone = zone;
  }

  unix(): bigint {
    const s = this.unixNs / SECOND;
    return this.unixNs < 0n && s * SECOND !== this.unixNs ? s - 1n : s;
  }

  civil(): Civil {
    const sec = this.unix();
    const nsec = Number(this.unixNs - sec * SECOND);
    const { abbr, offset } = this.zone.at(Number(sec));
    const local = Number(sec) + offset;
    const days = Math.floor(local / 86400);
    const rem = local - days * 86400;
    const { year, month, day } = civilFromDays(days);
    return {
      year,
      month,
      day,
      yday: days - daysFromCivil(year, 1, 1) + 1,
      weekday: (((days + 4) % 7) + 7) % 7,
      hour: Math.floor(rem / 3600),
      minute: Math.floor((rem % 3600) / 60),
      second: rem % 60,
      nsec,
      abbr,
      offset,
    };
  }

  in(zone: Zone): GoTime {
    return new GoTime(this.unixNs, zone);
  }

  add(d: bigint): GoTime {
    return new GoTime(this.unixNs + d, this.zone);
  }

  text(): string {
    return format(this, "2006-01-02 15:04:05.999999999 -0700 MST");
  }

  json(): string {
    const y = this.civil().year;
    if (y < 0 || y > 9999) return fail("Time.MarshalJSON: year outside of range [0,9999]");
    return format(this, "2006-01-02T15:04:05.999999999Z07:00");
  }

  method(name: string): Value | undefined {
    const field = Object.hasOwn(CIVIL_METHODS, name) ? CIVIL_METHODS[name] : undefined;
    if (field) return BigInt(this.civil()[field]);
    switch (name) {
      case "String":
        return this.text();
      case "Unix":
        return this.unix();
      case "UnixMilli":
        return BigInt.asIntN(64, floorDiv(this.unixNs, 1_000_000n));
      case "UnixNano":
        return BigInt.asIntN(64, this.unixNs);
      case "IsZero":
        return this.unixNs === ZERO_UNIX * SECOND;
      case "UTC":
      case "Local":
        return this.in(UTC);
    }
    return undefined;
  }
}

/** time.Time's methods that return a calendar field as an int. */
const CIVIL_METHODS: Record<string, "year" | "yday" | "day" | "hour" | "minute" | "second" | "nsec"> = {
  Year: "year",
  YearDay: "yday",
  Day: "day",
  Hour: "hour",
  Minute: "minute",
  Second: "second",
  Nanosecond: "nsec",
};

const floorDiv = (a: bigint, b: bigint) => (a < 0n && a % b !== 0n ? a / b - 1n : a / b);

/** The zero time.Time (what toDate returns for text it cannot parse). */
export const ZERO_TIME = new GoTime(ZERO_UNIX * SECOND);

/** time.Now, in Local (UTC here). Millisecond precision: Date.now is what tests can mock. */
export const now = (): GoTime => new GoTime(BigInt(Date.now()) * 1_000_000n);

/** time.Unix(sec, 0). */
export const fromUnix = (sec: bigint): GoTime => new GoTime(sec * SECOND);

// ---- layouts

type Std =
  | { k: "lit" }
  | { k: "LongMonth" | "Month" | "NumMonth" | "ZeroMonth" | "LongWeekDay" | "WeekDay" }
  | { k: "Day" | "UnderDay" | "ZeroDay" | "UnderYearDay" | "ZeroYearDay" }
  | { k: "Hour" | "Hour12" | "ZeroHour12" | "Minute" | "ZeroMinute" | "Second" | "ZeroSecond" }
  | { k: "LongYear" | "Year" | "PM" | "pm" | "TZ" }
  | { k: "ISO8601TZ" | "ISO8601SecondsTZ" | "ISO8601ShortTZ" | "ISO8601ColonTZ" | "ISO8601ColonSecondsTZ" }
  | { k: "NumTZ" | "NumSecondsTz" | "NumShortTZ" | "NumColonTZ" | "NumColonSecondsTZ" }
  | { k: "FracSecond0" | "FracSecond9"; n: number; sep: string };

interface Chunk {
  prefix: string;
  std: Std | undefined;
  text: string;
  suffix: string;
}

const isDigitAt = (s: string, i: number) => i < s.length && s[i]! >= "0" && s[i]! <= "9";
const startsWithLower = (s: string) => s.length > 0 && s[0]! >= "a" && s[0]! <= "z";

const ZONE_CHUNKS: [string, Std["k"]][] = [
  ["070000", "NumSecondsTz"],
  ["07:00:00", "NumColonSecondsTZ"],
  ["0700", "NumTZ"],
  ["07:00", "NumColonTZ"],
  ["07", "NumShortTZ"],
];

/** Go's nextStdChunk: the text before the first layout element, the element, and the rest. */
function nextChunk(layout: string): Chunk {
  const at = (i: number, std: Std, len: number): Chunk => ({
    prefix: layout.slice(0, i),
    std,
    text: layout.slice(i, i + len),
    suffix: layout.slice(i + len),
  });
  for (let i = 0; i < layout.length; i++) {
    const c = layout[i]!;
    const rest = layout.slice(i);
    switch (c) {
      case "J":
        if (rest.startsWith("Jan")) {
          if (rest.startsWith("January")) return at(i, { k: "LongMonth" }, 7);
          if (!startsWithLower(rest.slice(3))) return at(i, { k: "Month" }, 3);
        }
        break;
      case "M":
        if (rest.startsWith("Mon")) {
          if (rest.startsWith("Monday")) return at(i, { k: "LongWeekDay" }, 6);
          if (!startsWithLower(rest.slice(3))) return at(i, { k: "WeekDay" }, 3);
        }
        if (rest.startsWith("MST")) return at(i, { k: "TZ" }, 3);
        break;
      case "0": {
        const n = rest[1];
        if (n !== undefined && n >= "1" && n <= "6") {
          const k = (["ZeroMonth", "ZeroDay", "ZeroHour12", "ZeroMinute", "ZeroSecond", "Year"] as const)[
            Number(n) - 1
          ]!;
          return at(i, { k }, 2);
        }
        if (rest.startsWith("002")) return at(i, { k: "ZeroYearDay" }, 3);
        break;
      }
      case "1":
        if (rest[1] === "5") return at(i, { k: "Hour" }, 2);
        return at(i, { k: "NumMonth" }, 1);
      case "2":
        if (rest.startsWith("2006")) return at(i, { k: "LongYear" }, 4);
        return at(i, { k: "Day" }, 1);
      case "_":
        if (rest[1] === "2") {
          // "_2006" is a literal _ and the year
          if (rest.startsWith("_2006")) return { ...at(i + 1, { k: "LongYear" }, 4) };
          return at(i, { k: "UnderDay" }, 2);
        }
        if (rest.startsWith("__2")) return at(i, { k: "UnderYearDay" }, 3);
        break;
      case "3":
        return at(i, { k: "Hour12" }, 1);
      case "4":
        return at(i, { k: "Minute" }, 1);
      case "5":
        return at(i, { k: "Second" }, 1);
      case "P":
        if (rest.startsWith("PM")) return at(i, { k: "PM" }, 2);
        break;
      case "p":
        if (rest.startsWith("pm")) return at(i, { k: "pm" }, 2);
        break;
      case "-":
      case "Z":
        for (const [s, k] of ZONE_CHUNKS)
          if (rest.startsWith(s, 1)) {
            const iso = k.replace("Num", "ISO8601").replace("Tz", "TZ") as Std["k"];
            return at(i, { k: c === "Z" ? iso : k } as Std, s.length + 1);
          }
        break;
      case ".":
      case ",": {
        const d = rest[1];
        if (d === "0" || d === "9") {
          let j = i + 1;
          while (j < layout.length && layout[j] === d) j++;
          if (!isDigitAt(layout, j))
            return at(i, { k: d === "0" ? "FracSecond0" : "FracSecond9", n: j - (i + 1), sep: c }, j - i);
        }
        break;
      }
    }
  }
  return { prefix: layout, std: undefined, text: "", suffix: "" };
}

/** Go's appendInt: at least `width` digits, zero-padded, a minus sign before the padding. */
function pad(x: number, width: number): string {
  const s = String(Math.abs(x)).padStart(width, "0");
  return x < 0 ? "-" + s : s;
}

function formatZone(k: string, offset: number): string {
  if (k.startsWith("ISO8601") && offset === 0) return "Z";
  let zone = Math.trunc(offset / 60);
  let abs = offset;
  let out = "+";
  if (zone < 0) {
    out = "-";
    zone = -zone;
    abs = -abs;
  }
  out += pad(Math.floor(zone / 60), 2);
  const colon = k.includes("Colon");
  if (colon) out += ":";
  if (!k.includes("Short")) out += pad(zone % 60, 2);
  if (/Seconds/i.test(k)) out += (colon ? ":" : "") + pad(abs % 60, 2);
  return out;
}

const h12 = (h: number) => (h % 12 === 0 ? 12 : h % 12);

/** The layout elements that print one calendar field. */
const ELEMENTS: Partial<Record<Std["k"], (c: Civil) => string>> = {
  Year: (c) => pad(((c.year % 100) + 100) % 100, 2),
  LongYear: (c) => pad(c.year, 4),
  Month: (c) => MONTHS[c.month - 1]!.slice(0, 3),
  LongMonth: (c) => MONTHS[c.month - 1]!,
  NumMonth: (c) => String(c.month),
  ZeroMonth: (c) => pad(c.month, 2),
  WeekDay: (c) => DAYS[c.weekday]!.slice(0, 3),
  LongWeekDay: (c) => DAYS[c.weekday]!,
  Day: (c) => String(c.day),
  UnderDay: (c) => String(c.day).padStart(2, " "),
  ZeroDay: (c) => pad(c.day, 2),
  UnderYearDay: (c) => String(c.yday).padStart(3, " "),
  ZeroYearDay: (c) => pad(c.yday, 3),
  Hour: (c) => pad(c.hour, 2),
  Hour12: (c) => String(h12(c.hour)),
  ZeroHour12: (c) => pad(h12(c.hour), 2),
  Minute: (c) => String(c.minute),
  ZeroMinute: (c) => pad(c.minute, 2),
  Second: (c) => String(c.second),
  ZeroSecond: (c) => pad(c.second, 2),
  PM: (c) => (c.hour >= 12 ? "PM" : "AM"),
  pm: (c) => (c.hour >= 12 ? "pm" : "am"),
};

/** Time.Format with a Go reference-time layout. */
export function format(t: GoTime, layout: string): string {
  const c = t.civil();
  let out = "";
  let rest = layout;
  for (;;) {
    const { prefix, std, suffix } = nextChunk(rest);
    out += prefix;
    if (!std) break;
    rest = suffix;
    const simple = ELEMENTS[std.k];
    if (simple) {
      out += simple(c);
      continue;
    }
    switch (std.k) {
      case "TZ":
        if (c.abbr === undefined)
          fail(
            `the abbreviation of zone ${t.zone.name} is not known here: use -0700 or Z07:00 in the layout`,
          );
        // an unnamed zone prints as -0700
        out += c.abbr !== "" ? c.abbr : formatZone("NumTZ", c.offset);
        break;
      case "FracSecond0":
      case "FracSecond9": {
        const trim = std.k === "FracSecond9";
        if (trim && (std.n === 0 || c.nsec === 0)) break;
        let frac = std.sep + pad(c.nsec, 9).slice(0, Math.min(std.n, 9));
        if (trim) frac = frac.replace(/0+$/, "").replace(/[.,]$/, "");
        out += frac;
        break;
      }
      default:
        out += formatZone(std.k, c.offset);
    }
  }
  return out;
}

class ParseFail extends Error {
  readonly elem: string;
  constructor(elem: string, message = "") {
    super(message);
    this.elem = elem;
  }
}

/** Go's getnum: one or two digits (exactly two when fixed). */
function getnum(s: string, fixedWidth: boolean): [number, string] {
  if (!isDigitAt(s, 0)) throw new ParseFail("");
  if (!isDigitAt(s, 1)) {
    if (fixedWidth) throw new ParseFail("");
    return [Number(s[0]), s.slice(1)];
  }
  return [Number(s.slice(0, 2)), s.slice(2)];
}

function getnum3(s: string, fixedWidth: boolean): [number, string] {
  let n = 0;
  let i = 0;
  for (; i < 3 && isDigitAt(s, i); i++) n = n * 10 + Number(s[i]);
  if (i === 0 || (fixedWidth && i !== 3)) throw new ParseFail("");
  return [n, s.slice(i)];
}

/** Go's time atoi: an optional sign and digits, nothing else. */
function atoi(s: string): number {
  const m = /^([+-]?)(\d*)$/.exec(s);
  if (!m) throw new ParseFail("");
  const x = Number(m[2] || "0");
  return m[1] === "-" ? -x : x;
}

function lookup(table: string[], value: string): [number, string] {
  for (let i = 0; i < table.length; i++) {
    const v = table[i]!;
    if (value.length >= v.length && value.slice(0, v.length).toLowerCase() === v.toLowerCase())
      return [i, value.slice(v.length)];
  }
  throw new ParseFail("");
}

const cutspace = (s: string) => s.replace(/^ +/, "");

function skip(value: string, prefix: string): string {
  let v = value;
  let p = prefix;
  while (p.length > 0) {
    if (p[0] === " ") {
      if (v.length > 0 && v[0] !== " ") throw new ParseFail(prefix);
      p = cutspace(p);
      v = cutspace(v);
      continue;
    }
    if (v.length === 0 || v[0] !== p[0]) throw new ParseFail(prefix);
    p = p.slice(1);
    v = v.slice(1);
  }
  return v;
}

function parseNanoseconds(value: string, nbytes: number): number {
  if (value[0] !== "." && value[0] !== ",") throw new ParseFail("");
  const n = Math.min(nbytes, 10);
  const digits = value.slice(1, n);
  if (!/^\d*$/.test(digits)) throw new ParseFail("");
  return Number(digits || "0") * 10 ** (10 - n);
}

function parseSignedOffset(value: string): number {
  const m = /^[+-](\d+)/.exec(value);
  if (!m || Number(m[1]) > 23) return 0;
  return m[0].length;
}

function parseTimeZone(value: string): number {
  if (value.length < 3) return 0;
  if (value.startsWith("ChST") || value.startsWith("MeST")) return 4;
  if (value.startsWith("GMT")) return value.length === 3 ? 3 : 3 + parseSignedOffset(value.slice(3));
  if (value[0] === "+" || value[0] === "-") return parseSignedOffset(value);
  let upper = 0;
  while (upper < 6 && upper < value.length && value[upper]! >= "A" && value[upper]! <= "Z") upper++;
  if (upper === 3) return 3;
  if (upper === 4 && (value[3] === "T" || value.startsWith("WITA"))) return 4;
  if (upper === 5 && value[4] === "T") return 5;
  return 0;
}

/** time.Date: normalises out-of-range fields as Go does. */
function date(y: number, mo: number, d: number, h: number, mi: number, s: number, ns: number): bigint {
  const m0 = mo - 1;
  const year = y + Math.floor(m0 / 12);
  const month = (((m0 % 12) + 12) % 12) + 1;
  const days = daysFromCivil(year, month, 1) + d - 1;
  return (BigInt(days) * 86400n + BigInt(h * 3600 + mi * 60 + s)) * SECOND + BigInt(ns);
}

/**
 * time.ParseInLocation with Local (UTC in ESO's container). The error names
 * the layout element that did not match but never the text being parsed.
 */
export function parse(layout: string, value: string): GoTime {
  const where = (e: ParseFail) =>
    e.message
      ? `parsing time as ${JSON.stringify(layout)}${e.message}`
      : `parsing time as ${JSON.stringify(layout)}: cannot parse the value as ${JSON.stringify(e.elem)}`;
  try {
    return parseTime(layout, value);
  } catch (e) {
    if (e instanceof ParseFail) return fail(where(e));
    throw e;
  }
}

function parseTime(fullLayout: string, fullValue: string): GoTime {
  let layout = fullLayout;
  let value = fullValue;
  let year = 0;
  let month = -1;
  let day = -1;
  let yday = -1;
  let hour = 0;
  let min = 0;
  let sec = 0;
  let nsec = 0;
  let utc = false;
  let zoneOffset: number | undefined;
  let zoneName = "";
  let pmSet = false;
  let amSet = false;
  for (;;) {
    const { prefix, std, text, suffix } = nextChunk(layout);
    value = skip(value, prefix);
    if (!std) {
      if (value.length !== 0) throw new ParseFail("", ": extra text after the layout");
      break;
    }
    layout = suffix;
    let range = "";
    try {
      switch (std.k) {
        case "Year": {
          if (value.length < 2) throw new ParseFail("");
          year = atoi(value.slice(0, 2));
          value = value.slice(2);
          year += year >= 69 ? 1900 : 2000;
          break;
        }
        case "LongYear":
          if (value.length < 4 || !isDigitAt(value, 0)) throw new ParseFail("");
          year = atoi(value.slice(0, 4));
          value = value.slice(4);
          break;
        case "Month":
          [month, value] = lookup(
            MONTHS.map((m) => m.slice(0, 3)),
            value,
          );
          month++;
          break;
        case "LongMonth":
          [month, value] = lookup(MONTHS, value);
          month++;
          break;
        case "NumMonth":
        case "ZeroMonth":
          [month, value] = getnum(value, std.k === "ZeroMonth");
          if (month <= 0 || month > 12) range = "month";
          break;
        case "WeekDay":
          value = lookup(
            DAYS.map((d) => d.slice(0, 3)),
            value,
          )[1];
          break;
        case "LongWeekDay":
          value = lookup(DAYS, value)[1];
          break;
        case "Day":
        case "UnderDay":
        case "ZeroDay":
          if (std.k === "UnderDay" && value[0] === " ") value = value.slice(1);
          [day, value] = getnum(value, std.k === "ZeroDay");
          break;
        case "UnderYearDay":
        case "ZeroYearDay":
          for (let i = 0; i < 2; i++)
            if (std.k === "UnderYearDay" && value[0] === " ") value = value.slice(1);
          [yday, value] = getnum3(value, std.k === "ZeroYearDay");
          break;
        case "Hour":
          [hour, value] = getnum(value, false);
          if (hour >= 24) range = "hour";
          break;
        case "Hour12":
        case "ZeroHour12":
          [hour, value] = getnum(value, std.k === "ZeroHour12");
          if (hour > 12) range = "hour";
          break;
        case "Minute":
        case "ZeroMinute":
          [min, value] = getnum(value, std.k === "ZeroMinute");
          if (min >= 60) range = "minute";
          break;
        case "Second":
        case "ZeroSecond": {
          [sec, value] = getnum(value, std.k === "ZeroSecond");
          if (sec >= 60) {
            range = "second";
            break;
          }
          if (value.length >= 2 && (value[0] === "." || value[0] === ",") && isDigitAt(value, 1)) {
            const next = nextChunk(layout).std?.k;
            if (next === "FracSecond0" || next === "FracSecond9") break;
            let n = 2;
            while (n < value.length && isDigitAt(value, n)) n++;
            nsec = parseNanoseconds(value, n);
            value = value.slice(n);
          }
          break;
        }
        case "PM":
        case "pm": {
          if (value.length < 2) throw new ParseFail("");
          const p = value.slice(0, 2);
          value = value.slice(2);
          const [pm, am] = std.k === "PM" ? ["PM", "AM"] : ["pm", "am"];
          if (p === pm) pmSet = true;
          else if (p === am) amSet = true;
          else throw new ParseFail("");
          break;
        }
        case "TZ": {
          if (value.startsWith("UTC")) {
            utc = true;
            value = value.slice(3);
            break;
          }
          const n = parseTimeZone(value);
          if (n === 0) throw new ParseFail("");
          zoneName = value.slice(0, n);
          value = value.slice(n);
          break;
        }
        case "FracSecond0": {
          const ndigit = 1 + std.n;
          if (value.length < ndigit) throw new ParseFail("");
          nsec = parseNanoseconds(value, ndigit);
          value = value.slice(ndigit);
          break;
        }
        case "FracSecond9": {
          if (value.length < 2 || (value[0] !== "." && value[0] !== ",") || !isDigitAt(value, 1)) break;
          let i = 0;
          while (i + 1 < value.length && isDigitAt(value, i + 1)) i++;
          nsec = parseNanoseconds(value, 1 + i);
          value = value.slice(1 + i);
          break;
        }
        default: {
          if (std.k.startsWith("ISO8601") && value[0] === "Z") {
            value = value.slice(1);
            utc = true;
            break;
          }
          const k = std.k;
          let parts: [string, string, string, string];
          if (k.endsWith("ColonTZ")) {
            if (value.length < 6 || value[3] !== ":") throw new ParseFail("");
            parts = [value[0]!, value.slice(1, 3), value.slice(4, 6), "00"];
            value = value.slice(6);
          } else if (k.endsWith("ShortTZ")) {
            if (value.length < 3) throw new ParseFail("");
            parts = [value[0]!, value.slice(1, 3), "00", "00"];
            value = value.slice(3);
          } else if (k.endsWith("ColonSecondsTZ")) {
            if (value.length < 9 || value[3] !== ":" || value[6] !== ":") throw new ParseFail("");
            parts = [value[0]!, value.slice(1, 3), value.slice(4, 6), value.slice(7, 9)];
            value = value.slice(9);
          } else if (/SecondsT[zZ]$/.test(k)) {
            if (value.length < 7) throw new ParseFail("");
            parts = [value[0]!, value.slice(1, 3), value.slice(3, 5), value.slice(5, 7)];
            value = value.slice(7);
          } else {
            if (value.length < 5) throw new ParseFail("");
            parts = [value[0]!, value.slice(1, 3), value.slice(3, 5), "00"];
            value = value.slice(5);
          }
          const [hr] = getnum(parts[1], true);
          const [mm] = getnum(parts[2], true);
          const [ss] = getnum(parts[3], true);
          if (hr > 24) range = "time zone offset hour";
          if (mm > 60) range = "time zone offset minute";
          if (ss > 60) range = "time zone offset second";
          zoneOffset = (hr * 60 + mm) * 60 + ss;
          if (parts[0] === "-") zoneOffset = -zoneOffset;
          else if (parts[0] !== "+") throw new ParseFail("");
        }
      }
    } catch (e) {
      if (e instanceof ParseFail && e.elem === "" && !e.message) throw new ParseFail(text);
      throw e;
    }
    if (range) throw new ParseFail(text, `: ${range} out of range`);
  }
  if (pmSet && hour < 12) hour += 12;
  else if (amSet && hour === 12) hour = 0;
  if (yday >= 0) {
    let m = 0;
    let d = 0;
    if (isLeap(year)) {
      if (yday === 31 + 29) {
        m = 2;
        d = 29;
      } else if (yday > 31 + 29) yday--;
    }
    if (yday < 1 || yday > 365) throw new ParseFail("", ": day-of-year out of range");
    if (m === 0) {
      const before = (mo: number) => daysFromCivil(2001, mo, 1) - daysFromCivil(2001, 1, 1);
      m = Math.floor((yday - 1) / 31) + 1;
      if (m < 12 && before(m + 1) < yday) m++;
      d = yday - before(m);
    }
    if (month >= 0 && month !== m) throw new ParseFail("", ": day-of-year does not match month");
    month = m;
    if (day >= 0 && day !== d) throw new ParseFail("", ": day-of-year does not match day");
    day = d;
  } else {
    if (month < 0) month = 1;
    if (day < 0) day = 1;
  }
  if (day < 1 || day > daysIn(month, year)) throw new ParseFail("", ": day out of range");
  const wall = date(year, month, day, hour, min, sec, nsec);
  if (utc) return new GoTime(wall, UTC);
  if (zoneOffset !== undefined) {
    const t = wall - BigInt(zoneOffset) * SECOND;
    if (zoneOffset === 0 && (zoneName === "" || zoneName === "UTC")) return new GoTime(t, UTC);
    return new GoTime(t, fixed(zoneName, zoneOffset));
  }
  if (zoneName !== "") {
    const offset = zoneName.length > 3 && zoneName.startsWith("GMT") ? Number(zoneName.slice(3)) * 3600 : 0;
    return new GoTime(wall - BigInt(offset) * SECOND, fixed(zoneName, offset));
  }
  return new GoTime(wall, UTC);
}

// ---- time.Duration

const UNITS = new Map<string, bigint>([
  ["ns", 1n],
  ["us", 1000n],
  ["\xc2\xb5s", 1000n], // U+00B5 micro sign, as UTF-8 bytes
  ["\xce\xbcs", 1000n], // U+03BC Greek mu
  ["ms", 1_000_000n],
  ["s", SECOND],
  ["m", 60n * SECOND],
  ["h", 3600n * SECOND],
]);

/**
 * time.ParseDuration: a signed sequence of decimal numbers with units
 * (ns, us, µs, ms, s, m, h), Go's overflow rules, the input not repeated.
 */
export function parseDuration(orig: string): bigint {
  const invalid = () => fail("time: invalid duration");
  let s = orig;
  let neg = false;
  if (s[0] === "-" || s[0] === "+") {
    neg = s[0] === "-";
    s = s.slice(1);
  }
  if (s === "0") return 0n;
  if (s === "") return invalid();
  const LIMIT = 2n ** 63n;
  let d = 0n;
  while (s !== "") {
    if (!(s[0] === "." || isDigitAt(s, 0))) return invalid();
    const int = /^\d*/.exec(s)![0];
    let v = 0n;
    for (const c of int) {
      if (v > LIMIT / 10n) return invalid();
      v = v * 10n + BigInt(c);
      if (v > LIMIT) return invalid();
    }
    s = s.slice(int.length);
    let f = 0n;
    let scale = 1;
    let post = false;
    if (s[0] === ".") {
      s = s.slice(1);
      const frac = /^\d*/.exec(s)![0];
      post = frac.length > 0;
      let overflow = false;
      for (const c of frac) {
        if (overflow) continue;
        if (f > (LIMIT - 1n) / 10n) {
          overflow = true;
          continue;
        }
        const y = f * 10n + BigInt(c);
        if (y > LIMIT) {
          overflow = true;
          continue;
        }
        f = y;
        scale *= 10;
      }
      s = s.slice(frac.length);
    }
    if (int.length === 0 && !post) return invalid();
    let i = 0;
    while (i < s.length && s[i] !== "." && !isDigitAt(s, i)) i++;
    if (i === 0) return fail("time: missing unit in duration");
    const u = s.slice(0, i);
    s = s.slice(i);
    const unit = UNITS.get(u);
    if (unit === undefined) return fail(`time: unknown unit in duration (units are ns, us, ms, s, m, h)`);
    if (v > LIMIT / unit) return invalid();
    v *= unit;
    if (f > 0n) {
      v += BigInt(Math.trunc(Number(f) * (Number(unit) / scale)));
      if (v > LIMIT) return invalid();
    }
    d += v;
    if (d > LIMIT) return invalid();
  }
  if (neg) return -d;
  if (d > LIMIT - 1n) return invalid();
  return d;
}

/** Go's fmtFrac: the fraction of v/10^prec without trailing zeros (and no point if it is 0), and v/10^prec. */
function frac(v: bigint, prec: number): [string, bigint] {
  let digits = "";
  let print = false;
  let u = v;
  for (let i = 0; i < prec; i++) {
    const digit = u % 10n;
    print ||= digit !== 0n;
    if (print) digits = digit.toString() + digits;
    u /= 10n;
  }
  return [print ? "." + digits : "", u];
}

/** time.Duration.String: "1h2m3.5s", "1.5ms", "0s" (µ as UTF-8 bytes). */
export function durationString(d: bigint): string {
  const neg = d < 0n;
  let u = neg ? -d : d;
  let out: string;
  if (u < SECOND) {
    if (u === 0n) return "0s";
    const [unit, prec] = u < 1000n ? ["ns", 0] : u < 1_000_000n ? ["\xc2\xb5s", 3] : ["ms", 6];
    const [f, whole] = frac(u, prec as number);
    out = whole.toString() + f + unit;
  } else {
    const [f, secs] = frac(u, 9);
    u = secs;
    out = (u % 60n).toString() + f + "s";
    u /= 60n;
    if (u > 0n) {
      out = (u % 60n).toString() + "m" + out;
      u /= 60n;
      if (u > 0n) out = u.toString() + "h" + out;
    }
  }
  return (neg ? "-" : "") + out;
}

/** Duration.Round(m): half away from zero, saturating at the int64 range. */
export function roundDuration(d: bigint, m: bigint): bigint {
  let r = d % m;
  if (d < 0n) {
    r = -r;
    if (r + r < m) return d + r;
    const d1 = d - m + r;
    return d1 >= MIN_INT64 ? d1 : MIN_INT64;
  }
  if (r + r < m) return d - r;
  const d1 = d + m - r;
  return d1 <= MAX_INT64 ? d1 : MAX_INT64;
}

/** time.Since(t), saturating as Go's Sub does. */
export function since(t: GoTime): bigint {
  const d = now().unixNs - t.unixNs;
  return d > MAX_INT64 ? MAX_INT64 : d < MIN_INT64 ? MIN_INT64 : d;
}
