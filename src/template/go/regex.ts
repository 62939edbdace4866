/**
 * Sprig's regular-expression functions with Go's `regexp` semantics: RE2
 * syntax and linear-time matching (re2js, a port of RE2, so a pattern Go
 * rejects, such as a lookahead or a backreference, is rejected here too, and
 * no pattern can backtrack), run on the string's UTF-8 bytes as Go does.
 * The loops that Go's FindAll, ReplaceAll and Split add around a match
 * (empty matches next to a previous match, `$1`/`${name}` expansion) are
 * written from Go's regexp package.
 */
import { RE2JS } from "re2js";
import { TemplateFuncError } from "./errors.ts";

const utf8 = new TextDecoder("utf-8", { fatal: true });
const compiled = new Map<string, RE2JS>();

/** regexp.Compile of a template string (bytes as a binary string); errors as Go words them. */
export function compile(pattern: string): RE2JS {
  let re = compiled.get(pattern);
  if (re) return re;
  let source: string;
  try {
    source = utf8.decode(Buffer.from(pattern, "latin1"));
  } catch {
    throw new TemplateFuncError("error parsing regexp: invalid UTF-8");
  }
  try {
    re = RE2JS.compile(source);
  } catch (e) {
    throw new TemplateFuncError((e as Error).message);
  }
  if (compiled.size >= 256) compiled.clear();
  compiled.set(pattern, re);
  return re;
}

/** regexp.MustCompile: the panic text templates report. */
export function mustCompile(pattern: string): RE2JS {
  try {
    return compile(pattern);
  } catch (e) {
    throw new TemplateFuncError(`regexp: Compile(\`${pattern}\`): ${(e as Error).message}`);
  }
}

/** Byte offsets of each group of a match: [start0, end0, start1, end1, …], -1 for a group that did not take part. */
type Match = number[];

function matchAt(re: RE2JS, bytes: Uint8Array, pos: number): Match | undefined {
  const m = re.matcher(bytes);
  if (!m.find(pos)) return undefined;
  const out: Match = [];
  for (let g = 0; g <= m.groupCount(); g++) out.push(m.start(g), m.end(g));
  return out;
}

/** The width of the UTF-8 sequence at `pos` (1 for an invalid byte, as Go steps). */
function runeWidth(bytes: Uint8Array, pos: number): number {
  const b = bytes[pos] ?? 0;
  const width = b < 0x80 ? 1 : b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
  if (width === 1 || pos + width > bytes.length) return 1;
  try {
    utf8.decode(bytes.subarray(pos, pos + width));
    return width;
  } catch {
    return 1;
  }
}

/** Go's allMatches: at most n (all when n < 0), skipping an empty match right after a previous one. */
function allMatches(re: RE2JS, s: string, n: number): Match[] {
  const bytes = Buffer.from(s, "latin1");
  const out: Match[] = [];
  let prevEnd = -1;
  for (let pos = 0; (n < 0 || out.length < n) && pos <= bytes.length; ) {
    const m = matchAt(re, bytes, pos);
    if (!m) break;
    let accept = true;
    const [start = 0, end = 0] = m;
    if (end === pos) {
      if (start === prevEnd) accept = false;
      pos += pos < bytes.length ? runeWidth(bytes, pos) : 1;
    } else pos = end;
    prevEnd = end;
    if (accept) out.push(m);
  }
  return out;
}

/** Go's extract: a `$name`/`${name}` reference at the start of `str`. */
function extractName(str: string): { name: string; num: number; rest: string } | undefined {
  let s = str;
  const brace = s.startsWith("{");
  if (brace) s = s.slice(1);
  const m = /^[\p{L}\p{Nd}_]+/u.exec(Buffer.from(s, "latin1").toString("utf8"));
  if (!m) return undefined;
  const name = Buffer.from(m[0], "utf8").toString("latin1");
  let i = name.length;
  if (brace) {
    if (s[i] !== "}") return undefined;
    i++;
  }
  let num = /^[0-9]+$/.test(name) && name.length < 9 ? Number(name) : -1;
  if (name.startsWith("0") && name.length > 1) num = -1;
  return { name, num, rest: s.slice(i) };
}

/** Go's Regexp.ExpandString of `template` for one match. */
function expand(re: RE2JS, template: string, src: string, match: Match): string {
  const names = re.namedGroups();
  let out = "";
  let t = template;
  for (;;) {
    const dollar = t.indexOf("$");
    if (dollar < 0) break;
    out += t.slice(0, dollar);
    t = t.slice(dollar + 1);
    if (t.startsWith("$")) {
      out += "$";
      t = t.slice(1);
      continue;
    }
    const ref = extractName(t);
    if (!ref) {
      out += "$";
      continue;
    }
    t = ref.rest;
    const group = ref.num >= 0 ? ref.num : names[ref.name];
    const start = group === undefined ? -1 : (match[2 * group] ?? -1);
    if (start >= 0) out += src.slice(start, match[2 * (group as number) + 1]);
  }
  return out + t;
}

/** Go's replaceAll: every match replaced, but not an empty match right after another. */
function replaceAll(re: RE2JS, src: string, replace: (m: Match) => string): string {
  const bytes = Buffer.from(src, "latin1");
  let out = "";
  let lastEnd = 0;
  for (let pos = 0; pos <= bytes.length; ) {
    const m = matchAt(re, bytes, pos);
    if (!m) break;
    const [start = 0, end = 0] = m;
    out += src.slice(lastEnd, start);
    if (end > lastEnd || start === 0) out += replace(m);
    lastEnd = end;
    const width = pos < bytes.length ? runeWidth(bytes, pos) : 1;
    if (pos + width > end) pos += width;
    else if (pos + 1 > end) pos++;
    else pos = end;
  }
  return out + src.slice(lastEnd);
}

export const regexMatch = (re: RE2JS, s: string): boolean => allMatches(re, s, 1).length > 0;

export const regexFind = (re: RE2JS, s: string): string => {
  const [m] = allMatches(re, s, 1);
  return m ? s.slice(m[0], m[1]) : "";
};

/** FindAllString: nil (no matches) prints as [] like an empty list. */
export const regexFindAll = (re: RE2JS, s: string, n: number): string[] =>
  allMatches(re, s, n).map((m) => s.slice(m[0], m[1]));

export const regexReplaceAll = (re: RE2JS, s: string, repl: string): string =>
  replaceAll(re, s, (m) => expand(re, repl, s, m));

export const regexReplaceAllLiteral = (re: RE2JS, s: string, repl: string): string =>
  replaceAll(re, s, () => repl);

/** Go's Regexp.Split. */
export function regexSplit(re: RE2JS, s: string, n: number): string[] {
  if (n === 0) return [];
  if (re.pattern() !== "" && s === "") return [""];
  const out: string[] = [];
  let beg = 0;
  let end = 0;
  for (const m of allMatches(re, s, n)) {
    if (n > 0 && out.length === n - 1) break;
    end = m[0] ?? 0;
    if (m[1] !== 0) out.push(s.slice(beg, end));
    beg = m[1] ?? 0;
  }
  if (end !== s.length) out.push(s.slice(beg));
  return out;
}

/** regexp.QuoteMeta. */
export const regexQuoteMeta = (s: string): string => s.replace(/[\\.+*?()|[\]{}^$]/g, "\\$&");
