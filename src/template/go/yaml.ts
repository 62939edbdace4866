/**
 * ESO's toYaml: sigs.k8s.io/yaml.Marshal, that is Go's encoding/json and
 * then go-yaml v2's emitter (map keys in its natural order, sequences not
 * indented under a key, YAML 1.1 quoting, literal blocks for multi-line
 * strings), less the final newline. What this module cannot write exactly
 * as that emitter would (a long line it would fold at 80 columns, control
 * characters, very long keys, multi-line strings with edge spacing) is an
 * error naming it rather than a different document.
 */
import { TemplateFuncError } from "./errors.ts";
import { formatValue } from "./fmt.ts";
import { toJson, type Value } from "./value.ts";
import { binary, text } from "../helpers.ts";

/** A JSON number as its text. */
class Num {
  readonly source: string;
  constructor(source: string) {
    this.source = source;
  }
}
type Json = null | boolean | string | Num | Json[] | Map<string, Json>;

const refuse = (what: string): never => {
  throw new TemplateFuncError(
    `toYaml: ${what} is not supported (Go's YAML writer would lay it out differently)`,
  );
};

/** Go's JSON text read back, numbers kept as their text (as go-yaml reads them). */
function parse(json: string): Json {
  const revive = (_k: string, v: unknown, ctx?: { source?: string }): unknown =>
    typeof v === "number" ? new Num(ctx?.source ?? String(v)) : v;
  const toJsonValue = (v: unknown): Json => {
    if (Array.isArray(v)) return v.map(toJsonValue);
    if (v !== null && typeof v === "object" && !(v instanceof Num))
      return new Map(Object.entries(v).map(([k, e]) => [k, toJsonValue(e)]));
    return v as Json;
  };
  return toJsonValue(JSON.parse(json, revive as (k: string, v: unknown) => unknown));
}

const INT64_MAX = 2n ** 63n - 1n;

/** go-yaml's int or float of a JSON number. */
function number(source: string): string {
  if (/^-?\d+$/.test(source)) {
    const n = BigInt(source);
    if (n <= INT64_MAX && n >= -INT64_MAX - 1n) return n.toString();
  }
  return formatValue(Number(source));
}

const RESERVED = new Set(
  "~ null Null NULL y Y yes Yes YES on On ON n N no No NO off Off OFF true True TRUE false False FALSE .nan .NaN .NAN .inf .Inf .INF +.inf +.Inf +.INF -.inf -.Inf -.INF <<".split(
    " ",
  ),
);
const INT = /^[-+]?(0[xX][0-9a-fA-F]+|0[bB][01]+|0[oO][0-7]+|[0-9]+)$/;
const FLOAT = /^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/;
const BASE60 = /^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$/;
const TIMESTAMP =
  /^(\d{4})-(\d{1,2})-(\d{1,2})(?:(?:[Tt]|[ \t]+)(\d{1,2}):(\d{1,2}):(\d{1,2})(?:\.\d*)?(?:[ \t]*(?:Z|[-+]\d{1,2}(?::?\d{2})?))?)?$/;

/** Whether go-yaml v2 would read `s`, unquoted, as something else than a string. */
function resolvesNonString(s: string): boolean {
  if (s === "" || RESERVED.has(s)) return true;
  const plain = s.replaceAll("_", "");
  if (INT.test(plain) || FLOAT.test(plain) || BASE60.test(s)) return true;
  const t = TIMESTAMP.exec(s);
  if (!t) return false;
  const [, , month = "", day = "", hour = "0", min = "0", sec = "0"] = t;
  return +month >= 1 && +month <= 12 && +day >= 1 && +day <= 31 && +hour < 24 && +min < 60 && +sec < 60;
}

/** libyaml's printable characters (with unicode output on). */
const PRINTABLE = /^[\n\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufefe\uff00-\ufffd\u{10000}-\u{10ffff}]*$/u;

/** Whether libyaml allows `s` as a plain scalar in block context. */
function plainAllowed(s: string): boolean {
  if (s.startsWith("---") || s.startsWith("...")) return false;
  if (/^\s|\s$/.test(s)) return false;
  if (/^[#,[\]{}&*!|>'"%@`]/.test(s)) return false;
  if (/^[-?:](\s|$)/.test(s)) return false;
  if (/:(\s|$)/.test(s) || /\s#/.test(s)) return false;
  return true;
}

/** A scalar string starting at `column`; folding at 80 columns is refused. */
function scalar(s: string, column: number, key: boolean): string {
  if (!PRINTABLE.test(s) || s.includes("\t")) refuse("a string with control characters");
  const length = [...s].length;
  if (key && length > 128) refuse("a map key longer than 128 characters");
  if (s.includes(" ") && column + length > 80) refuse("a string with spaces past column 80");
  if (resolvesNonString(s)) return `"${s.replace(/[\\"]/g, "\\$&")}"`;
  if (plainAllowed(s)) return s;
  return `'${s.replaceAll("'", "''")}'`;
}

/** A literal block (`|-`, `|`, `|+` by trailing newlines) indented by `indent`. */
function literal(s: string, indent: number): string {
  const lines = s.split("\n");
  let trailing = 0;
  while (lines.length > 1 && lines[lines.length - 1] === "") {
    lines.pop();
    trailing++;
  }
  if (!PRINTABLE.test(s) || s.includes("\t")) refuse("a string with control characters");
  if (/^ /.test(lines[0] ?? "") || lines.some((l) => / $/.test(l)) || lines.every((l) => l === ""))
    refuse("a multi-line string with leading or trailing spaces");
  if (trailing > 1) refuse("a multi-line string ending in several newlines");
  const pad = " ".repeat(indent);
  const body = lines.map((l) => (l === "" ? "" : pad + l)).join("\n");
  return `|${trailing === 0 ? "-" : ""}\n${body}`;
}

/** go-yaml v2's keyList.Less: runs of digits compare as numbers, letters after other characters. */
function naturalLess(a: string, b: string): boolean {
  const ar = [...a];
  const br = [...b];
  const letter = (c: string) => /\p{L}/u.test(c);
  const digit = (c: string | undefined) => c !== undefined && /\p{Nd}/u.test(c);
  for (let i = 0; i < ar.length && i < br.length; i++) {
    if (ar[i] === br[i]) continue;
    const al = letter(ar[i]!);
    const bl = letter(br[i]!);
    if (al && bl) return ar[i]! < br[i]!;
    if (al || bl) return bl;
    let an = 0n;
    let bn = 0n;
    if (ar[i] === "0" || br[i] === "0") {
      for (let j = i - 1; j >= 0 && digit(ar[j]); j--) {
        if (ar[j] !== "0") {
          an = 1n;
          bn = 1n;
          break;
        }
      }
    }
    let ai = i;
    let bi = i;
    for (; ai < ar.length && digit(ar[ai]); ai++) an = an * 10n + BigInt(ar[ai]!.charCodeAt(0) - 48);
    for (; bi < br.length && digit(br[bi]); bi++) bn = bn * 10n + BigInt(br[bi]!.charCodeAt(0) - 48);
    if (an !== bn) return an < bn;
    if (ai !== bi) return ai < bi;
    return ar[i]! < br[i]!;
  }
  return ar.length < br.length;
}

const isCollection = (v: Json): v is Json[] | Map<string, Json> =>
  (Array.isArray(v) || v instanceof Map) && (Array.isArray(v) ? v.length > 0 : v.size > 0);

/** The value after `key:` or `- ` at `column`, for a node whose children are indented by `indent`. */
function inline(v: Json, column: number, indent: number): string {
  if (v === null) return "null";
  if (typeof v === "boolean") return String(v);
  if (typeof v === "string") return v.includes("\n") ? literal(v, indent) : scalar(v, column, false);
  if (Array.isArray(v)) return "[]";
  if (v instanceof Map) return "{}";
  return number(v.source);
}

function emit(v: Json, indent: number): string[] {
  const pad = " ".repeat(indent);
  if (Array.isArray(v)) {
    return v.flatMap((item) => {
      if (!isCollection(item)) return [`${pad}- ${inline(item, indent + 2, indent + 2)}`];
      const nested = emit(item, indent + 2);
      return [`${pad}- ${(nested[0] ?? "").slice(indent + 2)}`, ...nested.slice(1)];
    });
  }
  if (!(v instanceof Map)) return [pad + inline(v, indent, indent)];
  const keys = [...v.keys()].sort((a, b) => (naturalLess(a, b) ? -1 : naturalLess(b, a) ? 1 : 0));
  return keys.flatMap((k) => {
    const value = v.get(k) ?? null;
    const key = `${pad}${scalar(k, indent, true)}:`;
    if (Array.isArray(value) && value.length) return [key, ...emit(value, indent)];
    if (value instanceof Map && value.size) return [key, ...emit(value, indent + 2)];
    return [`${key} ${inline(value, [...key].length + 1, indent + 2)}`];
  });
}

/** toYaml: the value as sigs.k8s.io/yaml writes it, without the final newline; "" when JSON cannot hold it. */
export function toYaml(v: Value): string {
  let json: string;
  try {
    json = text(toJson(v, {}));
  } catch (e) {
    if (e instanceof TemplateFuncError && !/nested deeper/.test(e.message)) return "";
    throw e;
  }
  const doc = parse(json);
  const lines = isCollection(doc) ? emit(doc, 0) : [inline(doc, 0, 2)];
  return binary(lines.join("\n"));
}
