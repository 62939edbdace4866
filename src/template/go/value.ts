/**
 * The values a Go template works on, as Go's reflection would see them in
 * ESO: strings are Go strings, i.e. bytes (binary strings here, one char per
 * byte, see ../helpers.ts); `int` is a bigint (int64 arithmetic), `float64`
 * a number (JSON numbers are float64, as encoding/json makes them); `nil` is
 * null; `map[string]…` is a GoMap; `[]interface {}` an array.
 */
import { TemplateFuncError } from "./errors.ts";
import { binary, RUNE, text } from "../helpers.ts";

export type Value = string | bigint | number | boolean | null | GoMap | GoObject | Value[];

/**
 * A value of a Go named type that templates print, marshal and call
 * methods without arguments on (time.Time, *semver.Version): `text` is what
 * its String method returns (fmt's %v), `json` the string its MarshalJSON
 * writes (both Go bytes, as binary strings).
 */
export abstract class GoObject {
  abstract readonly goType: string;
  abstract text(): string;
  abstract json(): string;
  /** The result of the method `name` called without arguments, or undefined if it has none. */
  abstract method(name: string): Value | undefined;
}

/** A Go map with string keys; `elem` is its element type (ESO's data is map[string]string). */
export class GoMap {
  readonly m: Map<string, Value>;
  readonly elem: "string" | "interface {}";
  constructor(m: Map<string, Value> = new Map(), elem: "string" | "interface {}" = "interface {}") {
    this.m = m;
    this.elem = elem;
  }
  /** Keys in Go's printing and ranging order (bytewise). */
  sortedKeys(): string[] {
    return [...this.m.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  }
}

/** Deepest structure fromJson/fromYaml build and printing walks (Go's encoding/json stops at 10,000). */
export const MAX_DEPTH = 1000;

export function typeName(v: Value): string {
  if (v === null) return "<nil>";
  if (typeof v === "string") return "string";
  if (typeof v === "bigint") return "int";
  if (typeof v === "number") return "float64";
  if (typeof v === "boolean") return "bool";
  if (v instanceof GoMap) return `map[string]${v.elem}`;
  if (v instanceof GoObject) return v.goType;
  return "[]interface {}";
}

/** text/template's truth: the zero value of its type (and nil) is false. */
export function truth(v: Value): boolean {
  if (v === null) return false;
  if (typeof v === "string") return v.length > 0;
  if (typeof v === "bigint") return v !== 0n;
  if (typeof v === "number") return v !== 0;
  if (typeof v === "boolean") return v;
  if (v instanceof GoMap) return v.m.size > 0;
  if (v instanceof GoObject) return true; // a struct, or a pointer that is not nil
  return v.length > 0;
}

/** int64 wrap-around, as Go's int arithmetic. */
export const int64 = (n: bigint): bigint => BigInt.asIntN(64, n);

/** The Go value of parsed JSON/YAML (strings already binary): objects → map[string]interface {}, numbers → float64. */
export function fromPlain(v: unknown, depth = 0): Value {
  if (depth > MAX_DEPTH) throw new TemplateFuncError(`structure nested deeper than ${MAX_DEPTH}`);
  if (v === null || v === undefined) return null;
  if (typeof v === "string" || typeof v === "boolean") return v;
  if (typeof v === "number") return v;
  if (typeof v === "bigint") return v;
  if (Array.isArray(v)) return v.map((e) => fromPlain(e, depth + 1));
  if (v instanceof Date) return binary(v.toISOString());
  if (typeof v === "object") {
    const m = new Map<string, Value>();
    for (const [k, e] of Object.entries(v)) m.set(k, fromPlain(e, depth + 1));
    return new GoMap(m);
  }
  throw new TemplateFuncError("unsupported value");
}

/** encoding/json.Unmarshal into interface{}: invalid UTF-8 becomes U+FFFD, numbers float64. */
export function parseJson(bin: string): Value {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text(bin), (_k, v: unknown) => (typeof v === "string" ? binary(v) : v));
  } catch {
    throw new TemplateFuncError("input is not valid JSON");
  }
  // JSON.parse keys are text: the reviver sees values only.
  return keysToBinary(fromPlain(parsed));
}

function keysToBinary(v: Value): Value {
  if (Array.isArray(v)) return v.map(keysToBinary);
  if (v instanceof GoMap) {
    const m = new Map<string, Value>();
    for (const [k, e] of v.m) m.set(binary(k), keysToBinary(e));
    return new GoMap(m, v.elem);
  }
  return v;
}

const JSON_ESCAPES: Record<string, string> = {
  '"': '\\"',
  "\\": "\\\\",
  "\n": "\\n",
  "\r": "\\r",
  "\t": "\\t",
  "\b": "\\b",
  "\f": "\\f",
};

/** A Go string as encoding/json writes it (bytes in, bytes out): a byte that is not UTF-8 → \\ufffd, <>& escaped unless `raw`. */
function jsonString(bin: string, raw: boolean): string {
  let out = '"';
  for (const r of bin.match(RUNE) ?? []) {
    if (r.length === 1 && r > "\x7f") {
      out += "\\ufffd"; // a byte that is not UTF-8
      continue;
    }
    const ch = text(r);
    const c = ch.codePointAt(0)!;
    if (JSON_ESCAPES[ch]) out += JSON_ESCAPES[ch];
    else if (c < 0x20 || (!raw && (ch === "<" || ch === ">" || ch === "&")) || c === 0x2028 || c === 0x2029)
      out += `\\u${c.toString(16).padStart(4, "0")}`;
    else out += r;
  }
  return out + '"';
}

/** A float64 as encoding/json writes it ('f' format, 'e' outside [1e-6, 1e21), exponent without leading zero). */
function jsonFloat(x: number): string {
  if (!Number.isFinite(x)) throw new TemplateFuncError("unsupported value: a float that is not finite");
  if (x === 0) return Object.is(x, -0) ? "-0" : "0";
  const abs = Math.abs(x);
  if (abs < 1e-6 || abs >= 1e21)
    return x
      .toExponential()
      .replace(/e([+-])(\d)$/, "e$10$2")
      .replace("e+0", "e+")
      .replace("e-0", "e-");
  return String(x); // JS prints in 'f' form in this range, shortest round-trip digits, as Go
}

/** encoding/json.Marshal (map keys sorted); `indent` as MarshalIndent("", indent). */
export function toJson(
  v: Value,
  opts: { raw?: boolean; indent?: string } = {},
  depth = 0,
  prefix = "",
): string {
  if (depth > MAX_DEPTH) throw new TemplateFuncError(`structure nested deeper than ${MAX_DEPTH}`);
  const raw = opts.raw ?? false;
  const ind = opts.indent;
  if (v === null) return "null";
  if (typeof v === "string") return jsonString(v, raw);
  if (typeof v === "bigint") return v.toString();
  if (typeof v === "number") return jsonFloat(v);
  if (typeof v === "boolean") return String(v);
  if (v instanceof GoObject) return jsonString(v.json(), raw);
  const inner = ind === undefined ? "" : prefix + ind;
  const nl = ind === undefined ? "" : "\n";
  if (v instanceof GoMap) {
    if (v.m.size === 0) return "{}";
    const parts = v
      .sortedKeys()
      .map(
        (k) =>
          `${nl}${inner}${jsonString(k, raw)}:${ind === undefined ? "" : " "}${toJson(v.m.get(k)!, opts, depth + 1, inner)}`,
      );
    return `{${parts.join(",")}${nl}${ind === undefined ? "" : prefix}}`;
  }
  if (v.length === 0) return "[]";
  const parts = v.map((e) => `${nl}${inner}${toJson(e, opts, depth + 1, inner)}`);
  return `[${parts.join(",")}${nl}${ind === undefined ? "" : prefix}]`;
}
