/**
 * Sprig's `semver` and `semverCompare` as Masterminds/semver v3.4 (the
 * version ESO builds with) defines them: NewVersion's lenient grammar
 * ("v1", "1.2", leading zeros accepted), Compare with SemVer 2.0 precedence
 * of pre-releases, and constraints: `||` alternatives of comma- or
 * space-separated comparisons (`= != > < >= <= =< => ~ ~> ^`), wildcards
 * (`x X *`), hyphen ranges (`1.2 - 1.4.5`), pre-releases only where the
 * constraint names one. The grammar's regular expressions run on RE2, as
 * Go's regexp, so they match exactly what the library's match.
 */
import { RE2JS } from "re2js";
import { TemplateFuncError } from "./errors.ts";
import { GoObject, type Value } from "./value.ts";

const fail = (msg: string): never => {
  throw new TemplateFuncError(msg);
};

const LOOSE =
  "v?([0-9]+)(\\.[0-9]+)?(\\.[0-9]+)?(-([0-9A-Za-z\\-]+(\\.[0-9A-Za-z\\-]+)*))?(\\+([0-9A-Za-z\\-]+(\\.[0-9A-Za-z\\-]+)*))?";
const CV =
  "v?([0-9|x|X|\\*]+)(\\.[0-9|x|X|\\*]+)?(\\.[0-9|x|X|\\*]+)?(-([0-9A-Za-z\\-]+(\\.[0-9A-Za-z\\-]+)*))?(\\+([0-9A-Za-z\\-]+(\\.[0-9A-Za-z\\-]+)*))?";
const OPS = "=||!=|>|<|>=|=>|<=|=<|~|~>|\\^";

const looseRe = RE2JS.compile(`^${LOOSE}$`);
const constraintRe = RE2JS.compile(`^\\s*(${OPS})\\s*(${CV})\\s*$`);
const rangeRe = RE2JS.compile(`\\s*(${CV})\\s+-\\s+(${CV})\\s*`);
const findRe = RE2JS.compile(`(${OPS})\\s*(${CV})`);
const validRe = RE2JS.compile(`^(\\s*(${OPS})\\s*(${CV})\\s*)((?:\\s+|,\\s*)(${OPS})\\s*(${CV})\\s*)*$`);

const ALLOWED = /^[0-9A-Za-z-]*$/;
const U64_MAX = 2n ** 64n - 1n;

function parseUint(s: string): bigint {
  const n = BigInt(s);
  if (n > U64_MAX)
    return fail(
      `error parsing version segment: strconv.ParseUint: parsing ${JSON.stringify(s)}: value out of range`,
    );
  return n;
}

function validatePrerelease(p: string): void {
  for (const part of p.split(".")) {
    if (part === "") fail("invalid prerelease string");
    else if (/^[0-9]+$/.test(part)) {
      if (part.length > 1 && part[0] === "0") fail("version segment starts with 0");
    } else if (!ALLOWED.test(part)) fail("invalid prerelease string");
  }
}

function validateMetadata(m: string): void {
  for (const part of m.split(".")) if (part === "" || !ALLOWED.test(part)) fail("invalid metadata string");
}

/** A *semver.Version: prints as its canonical form, methods Major, Minor, Patch, Prerelease, Metadata, Original. */
export class Version extends GoObject {
  readonly goType = "*semver.Version";
  readonly major: bigint;
  readonly minor: bigint;
  readonly patch: bigint;
  readonly pre: string;
  readonly metadata: string;
  readonly original: string;
  constructor(major: bigint, minor: bigint, patch: bigint, pre: string, metadata: string, original: string) {
    super();
    this.major = major;
    this.minor = minor;
    this.patch = patch;
    this.pre = pre;
    this.metadata = metadata;
    this.original = original;
  }
  text(): string {
    return `${this.major}.${this.minor}.${this.patch}${this.pre ? `-${this.pre}` : ""}${this.metadata ? `+${this.metadata}` : ""}`;
  }
  json(): string {
    return this.text();
  }
  method(name: string): Value | undefined {
    const methods: Record<string, () => Value> = {
      Major: () => this.major,
      Minor: () => this.minor,
      Patch: () => this.patch,
      Prerelease: () => this.pre,
      Metadata: () => this.metadata,
      Original: () => this.original,
      String: () => this.text(),
    };
    return Object.hasOwn(methods, name) ? methods[name]!() : undefined;
  }
}

/** semver.NewVersion (CoerceNewVersion, the default): the loose grammar, then the pre-release and metadata checks. */
export function newVersion(v: string): Version {
  const m = looseRe.matcher(v);
  if (!m.matches()) return fail("invalid semantic version");
  const g = (i: number) => m.group(i) ?? "";
  const pre = g(5);
  const metadata = g(8);
  const version = new Version(
    parseUint(g(1)),
    g(2) ? parseUint(g(2).slice(1)) : 0n,
    g(3) ? parseUint(g(3).slice(1)) : 0n,
    pre,
    metadata,
    v,
  );
  if (pre) validatePrerelease(pre);
  if (metadata) validateMetadata(metadata);
  return version;
}

const cmp = (a: bigint, b: bigint) => (a < b ? -1 : a > b ? 1 : 0);

function comparePrePart(s: string, o: string): number {
  if (s === o) return 0;
  if (s === "") return -1;
  if (o === "") return 1;
  const sn = /^[0-9]+$/.test(s) && BigInt(s) <= U64_MAX;
  const on = /^[0-9]+$/.test(o) && BigInt(o) <= U64_MAX;
  if (!sn && !on) return s > o ? 1 : -1;
  if (!on) return -1;
  if (!sn) return 1;
  return BigInt(s) > BigInt(o) ? 1 : -1;
}

function comparePrerelease(v: string, o: string): number {
  const sp = v.split(".");
  const op = o.split(".");
  for (let i = 0; i < Math.max(sp.length, op.length); i++) {
    const d = comparePrePart(sp[i] ?? "", op[i] ?? "");
    if (d !== 0) return d;
  }
  return 0;
}

function compare(v: Version, o: Version): number {
  const d = cmp(v.major, o.major) || cmp(v.minor, o.minor) || cmp(v.patch, o.patch);
  if (d !== 0) return d;
  if (v.pre === "" && o.pre === "") return 0;
  if (v.pre === "") return 1;
  if (o.pre === "") return -1;
  return comparePrerelease(v.pre, o.pre);
}

interface Constraint {
  con: Version;
  op: string;
  dirty: boolean;
  minorDirty: boolean;
  patchDirty: boolean;
}

const isX = (s: string) => s === "x" || s === "X" || s === "*";

function parseConstraint(c: string): Constraint {
  if (c.length === 0)
    return { con: newVersion("0.0.0"), op: "", dirty: true, minorDirty: false, patchDirty: false };
  const m = constraintRe.matcher(c);
  if (!m.matches()) return fail("improper constraint");
  const g = (i: number) => m.group(i) ?? "";
  let ver = g(2);
  let dirty = false;
  let minorDirty = false;
  let patchDirty = false;
  if (isX(g(3)) || g(3) === "") {
    ver = `0.0.0${g(6)}`;
    dirty = true;
  } else if (isX(g(4).replace(/^\./, "")) || g(4) === "") {
    minorDirty = true;
    dirty = true;
    ver = `${g(3)}.0.0${g(6)}`;
  } else if (isX(g(5).replace(/^\./, "")) || g(5) === "") {
    dirty = true;
    patchDirty = true;
    ver = `${g(3)}${g(4)}.0${g(6)}`;
  }
  let con: Version;
  try {
    con = newVersion(ver);
  } catch {
    return fail("constraint parser error");
  }
  return { con, op: g(1), dirty, minorDirty, patchDirty };
}

function tilde(v: Version, c: Constraint): boolean {
  if (compare(v, c.con) < 0) return false;
  if (c.con.major === 0n && c.con.minor === 0n && c.con.patch === 0n && !c.minorDirty && !c.patchDirty)
    return true;
  if (v.major !== c.con.major) return false;
  return v.minor === c.con.minor || c.minorDirty;
}

function check(v: Version, c: Constraint, includePre: boolean): boolean {
  if (v.pre !== "" && !includePre) return false;
  const con = c.con;
  switch (c.op) {
    case "":
    case "=":
      return c.dirty ? tilde(v, c) : compare(v, con) === 0;
    case "!=":
      if (c.dirty) {
        if (con.major !== v.major) return true;
        if (con.minor !== v.minor && !c.minorDirty) return true;
        if (c.minorDirty) return false;
        if (con.patch !== v.patch && !c.patchDirty) return true;
        if (c.patchDirty) return (v.pre !== "" || con.pre !== "") && comparePrerelease(v.pre, con.pre) !== 0;
      }
      return compare(v, con) !== 0;
    case ">":
      if (!c.dirty) return compare(v, con) === 1;
      if (v.major > con.major) return true;
      if (v.major < con.major || c.minorDirty) return false;
      if (c.patchDirty) return v.minor > con.minor;
      return compare(v, con) === 1;
    case "<":
      return compare(v, con) < 0;
    case ">=":
    case "=>":
      return compare(v, con) >= 0;
    case "<=":
    case "=<":
      if (!c.dirty) return compare(v, con) <= 0;
      if (v.major > con.major) return false;
      return !(v.major === con.major && v.minor > con.minor && !c.minorDirty);
    case "~":
    case "~>":
      return tilde(v, c);
    default: {
      // ^
      if (compare(v, con) < 0) return false;
      if (con.major > 0n || c.minorDirty) return v.major === con.major;
      if (v.major > 0n) return false;
      if (con.minor > 0n || c.patchDirty) return v.minor === con.minor;
      if (v.minor > 0n) return false;
      return con.patch === v.patch;
    }
  }
}

/** Go's FindAllString / FindAllStringSubmatch: non-overlapping matches left to right. */
function findAll(re: RE2JS, s: string): { text: string; groups: string[] }[] {
  const out: { text: string; groups: string[] }[] = [];
  const m = re.matcher(s);
  let pos = 0;
  let prevEnd = -1;
  while (pos <= s.length && m.find(pos)) {
    const start = m.start();
    const end = m.end();
    if (end === start && start === prevEnd) {
      pos = start + 1;
      continue;
    }
    const groups: string[] = [];
    for (let g = 0; g <= m.groupCount(); g++) groups.push(m.group(g) ?? "");
    out.push({ text: s.slice(start, end), groups });
    prevEnd = end;
    pos = end > start ? end : end + 1;
  }
  return out;
}

/** semver's rewriteRange: "a - b" becomes ">= a, <= b ". */
function rewriteRange(c: string): string {
  let out = c;
  for (const { text, groups } of findAll(rangeRe, c))
    out = out.replace(text, `>= ${groups[1]}, <= ${groups[11]} `);
  return out;
}

/** semverCompare constraint version. */
export function semverCompare(constraint: string, version: string): boolean {
  const ors = rewriteRange(constraint).split("||");
  const parsed = ors.map((or) => {
    if (!validRe.matcher(or).matches()) return fail("improper constraint");
    const found = findAll(findRe, or).map((f) => f.text);
    const cs = (found.length ? found : [or]).map(parseConstraint);
    return { cs, pre: cs.some((c) => c.con.pre !== "") };
  });
  const v = newVersion(version);
  return parsed.some(({ cs, pre }) => cs.every((c) => check(v, c, pre)));
}
