/**
 * Kubernetes JSONPath (k8s.io/client-go/util/jsonpath, what `kubectl -o
 * jsonpath` and argocd-vault-plugin's `| jsonPath` modifier run), written
 * here because no npm package implements this dialect: it is a *template*
 * (literal text around `{…}` actions, `{range …}…{end}` loops, quoted
 * literals such as `{'['}`), not the query language of jsonpath-plus or
 * RFC 9535, and it prints its results the way Go does (several results
 * joined by a space, maps and lists as Go's compact JSON with sorted keys).
 *
 * Supported: `.field` (`\.` escapes a dot), `['key']`, `[n]`, `[-1]`,
 * `[start:end:step]`, `[*]`, `.*`, `[a,b]` unions, `..` recursive descent,
 * filters `[?(@.x == "y")]` (`==` `!=` `<` `>` `<=` `>=`, or existence),
 * `{range …}{end}`, and string, number and boolean literals. As with
 * AVP (AllowMissingKeys(false)), a missing field is an error. Errors name
 * the expression's fields and indexes, never a value.
 */
import { JsonPathError } from "../errors.ts";

type Step =
  | { kind: "field"; name: string }
  | { kind: "wildcard" }
  | { kind: "recursive" }
  | { kind: "slice"; start?: number; end?: number; endFromStart: boolean; step?: number }
  | { kind: "union"; branches: Step[][] }
  | { kind: "filter"; left: Step[]; operator: string; right: Step[] }
  | { kind: "literal"; value: string | number | boolean }
  | { kind: "range" }
  | { kind: "end" };

type Segment =
  | { kind: "text"; text: string }
  | { kind: "action"; steps: Step[] }
  | { kind: "range"; steps: Step[]; body: Segment[] };

const TERMINATORS = new Set([" ", "\t", "\r", "\n", ".", ",", "[", "]", "$", "@", "{", "}"]);
const SLICE = /^(-?\d*)(:-?\d*)?(:-?\d*)?$/;
const FILTER = /^([^!<>=]+)([!<>=]+)(.+?)$/;
const DICT_KEY = /^'([^']*)'$/;

const isAlphaNumeric = (ch: string) => /^[\p{L}\p{Nd}_]$/u.test(ch);

/** Reads the steps of one action, from just after `{` (or of a sub-expression) to `}` or the end. */
class ActionParser {
  pos = 0;
  readonly text: string;
  /** True for a template's action, which ends at `}`; false for a sub-expression, which ends with its text. */
  readonly closing: boolean;
  constructor(text: string, closing: boolean) {
    this.text = text;
    this.closing = closing;
  }

  parse(): Step[] {
    const steps: Step[] = [];
    for (;;) {
      const rest = this.text.slice(this.pos);
      if (rest === "") {
        if (this.closing) throw new JsonPathError("unclosed action");
        return steps;
      }
      if (rest.startsWith("}") && this.closing) {
        this.pos++;
        return steps;
      }
      if (rest.startsWith("[?(")) steps.push(this.#filter());
      else if (rest.startsWith("..")) {
        if (steps.at(-1)?.kind === "recursive") throw new JsonPathError("invalid multiple recursive descent");
        this.pos += 2;
        steps.push({ kind: "recursive" });
        if (isAlphaNumeric(this.text[this.pos] ?? "")) steps.push(this.#field());
      } else {
        const ch = rest[0] as string;
        if (ch === "\r" || ch === "\n") throw new JsonPathError("unclosed action");
        if (ch === " " || ch === "@" || ch === "$") this.pos++;
        else if (ch === "[") steps.push(...this.#bracket());
        else if (ch === '"' || ch === "'") steps.push({ kind: "literal", value: this.#quoted(ch) });
        else if (ch === ".") {
          this.pos++;
          steps.push(this.#field());
        } else if (ch === "+" || ch === "-" || /\d/.test(ch)) steps.push(this.#number());
        else if (isAlphaNumeric(ch)) steps.push(this.#identifier());
        else throw new JsonPathError(`unrecognized character in action: ${JSON.stringify(ch)}`);
      }
    }
  }

  #field(): Step {
    let name = "";
    while (this.pos < this.text.length) {
      const ch = this.text[this.pos] as string;
      if (ch === "\\") {
        name += this.text[this.pos + 1] ?? "";
        this.pos += 2;
        continue;
      }
      if (TERMINATORS.has(ch)) break;
      name += ch;
      this.pos++;
    }
    return name === "*" ? { kind: "wildcard" } : { kind: "field", name };
  }

  #identifier(): Step {
    let word = "";
    while (this.pos < this.text.length && !TERMINATORS.has(this.text[this.pos] as string))
      word += this.text[this.pos++];
    if (word === "true" || word === "false") return { kind: "literal", value: word === "true" };
    if (word === "range" || word === "end") return { kind: word };
    throw new JsonPathError(`unrecognized identifier ${word}`);
  }

  #number(): Step {
    const m = /^[+-]?[\d.]*/.exec(this.text.slice(this.pos)) as RegExpExecArray;
    this.pos += m[0].length;
    const value = Number(m[0]);
    if (m[0] === "" || Number.isNaN(value)) throw new JsonPathError(`cannot parse number ${m[0]}`);
    return { kind: "literal", value };
  }

  #quoted(quote: string): string {
    const start = this.pos;
    for (this.pos++; ; this.pos++) {
      const ch = this.text[this.pos];
      if (ch === undefined || ch === "\n") throw new JsonPathError("unterminated quoted string");
      if (ch === quote && this.text[this.pos - 1] !== "\\") break;
    }
    this.pos++;
    return unquote(this.text.slice(start + 1, this.pos - 1));
  }

  #bracket(): Step[] {
    const close = this.text.indexOf("]", this.pos);
    const newline = this.text.indexOf("\n", this.pos);
    if (close === -1 || (newline !== -1 && newline < close)) throw new JsonPathError("unterminated array");
    let inner = this.text.slice(this.pos + 1, close);
    this.pos = close + 1;
    if (inner === "*") inner = ":";
    const parts = inner.split(",");
    if (parts.length > 1) {
      return [
        { kind: "union", branches: parts.map((p) => new ActionParser(`[${p.trim()}]`, false).parse()) },
      ];
    }
    const key = DICT_KEY.exec(inner);
    // As in Kubernetes, ['a.b'] reads like .a.b: escape dots in keys (['a\.b']).
    if (key) return new ActionParser(`.${key[1] as string}`, false).parse();
    const slice = SLICE.exec(inner);
    if (!slice) throw new JsonPathError(`invalid array index ${inner}`);
    const number = (s: string | undefined, what: string): number | undefined => {
      if (s === undefined || s === "") return undefined;
      if (!/^-?\d+$/.test(s)) throw new JsonPathError(`array index ${what} is not a number`);
      return Number(s);
    };
    const start = number(slice[1], "start");
    const end = number(slice[2]?.slice(1), "end");
    const step = number(slice[3]?.slice(1), "step");
    // `[n]` selects one element: its end is derived from its start.
    const endFromStart = slice[2] === undefined;
    return [
      {
        kind: "slice",
        ...(start === undefined ? {} : { start }),
        ...(endFromStart ? { end: (start ?? 0) + 1 } : end === undefined ? {} : { end }),
        endFromStart,
        ...(step === undefined ? {} : { step }),
      },
    ];
  }

  #filter(): Step {
    this.pos += 3;
    const start = this.pos;
    // A ")" inside the quoted operand does not end the filter.
    let quote: string | undefined;
    let closedQuote = false;
    for (;;) {
      const ch = this.text[this.pos++];
      if (ch === undefined || ch === "\n") throw new JsonPathError("unterminated filter");
      if (ch === '"' || ch === "'") {
        if (quote === undefined) quote = ch;
        else if (ch === quote && this.text[this.pos - 2] !== "\\") closedQuote = true;
      } else if (ch === ")" && (quote === undefined || closedQuote)) break;
    }
    if (this.text[this.pos++] !== "]") throw new JsonPathError("unclosed array expect ]");
    const body = this.text.slice(start, this.pos - 2);
    const m = FILTER.exec(body);
    if (!m)
      return { kind: "filter", left: new ActionParser(body, false).parse(), operator: "exists", right: [] };
    const operator = m[2] as string;
    if (!["==", "!=", "<", ">", "<=", ">="].includes(operator))
      throw new JsonPathError(`unrecognized filter operator ${operator}`);
    return {
      kind: "filter",
      left: new ActionParser(m[1] as string, false).parse(),
      operator,
      right: new ActionParser(m[3] as string, false).parse(),
    };
  }
}

const ESCAPES: Record<string, string> = { n: "\n", t: "\t", r: "\r", "\\": "\\", '"': '"', "'": "'" };

/** A quoted literal's text: Go escapes (`\n`, `\t`, `\uXXXX`, an escaped quote). */
function unquote(body: string): string {
  return body.replace(/\\(u[0-9a-fA-F]{4}|.)/g, (_all, esc: string) => {
    if (esc.length === 5) return String.fromCharCode(parseInt(esc.slice(1), 16));
    const out = ESCAPES[esc];
    if (out === undefined) throw new JsonPathError(`invalid escape \\${esc} in a quoted string`);
    return out;
  });
}

/** The template: text and actions, `{range}` bodies nested up to their `{end}` (or the end of the template). */
function parseTemplate(template: string): Segment[] {
  const root: Segment[] = [];
  const open: Segment[][] = [root];
  let pos = 0;
  while (pos < template.length) {
    const brace = template.indexOf("{", pos);
    const current = open.at(-1) as Segment[];
    if (brace === -1) {
      current.push({ kind: "text", text: template.slice(pos) });
      break;
    }
    if (brace > pos) current.push({ kind: "text", text: template.slice(pos, brace) });
    const action = new ActionParser(template.slice(brace + 1), true);
    const steps = action.parse();
    pos = brace + 1 + action.pos;
    if (steps.some((s) => s.kind === "end")) {
      if (open.length === 1) throw new JsonPathError("not in range, nothing to end");
      open.pop();
    } else if (steps.some((s) => s.kind === "range")) {
      const body: Segment[] = [];
      current.push({ kind: "range", steps: steps.filter((s) => s.kind !== "range"), body });
      open.push(body);
    } else current.push({ kind: "action", steps });
  }
  return root;
}

type Json = unknown;
const isMap = (v: Json): v is Record<string, Json> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

function typeName(v: Json): string {
  if (Array.isArray(v)) return "a list";
  if (v === null) return "null";
  return isMap(v) ? "a map" : `a ${typeof v}`;
}

function children(v: Json): Json[] {
  if (Array.isArray(v)) return v;
  return isMap(v) ? Object.values(v) : [];
}

function slice(list: Json[], step: Extract<Step, { kind: "slice" }>): Json[] {
  const length = list.length;
  let start = step.start ?? 0;
  if (start < 0) start += length;
  let end = step.end ?? length;
  if (end < 0 || (end === 0 && step.endFromStart)) end += length;
  if (end === start) return [];
  if (start >= length || start < 0)
    throw new JsonPathError(`array index out of bounds: index ${start}, length ${length}`);
  if (end > length || end < 0)
    throw new JsonPathError(`array index out of bounds: index ${end - 1}, length ${length}`);
  if (start > end) throw new JsonPathError(`starting index ${start} is greater than ending index ${end}`);
  if (step.step !== undefined && step.step <= 0) throw new JsonPathError("step must be > 0");
  const out: Json[] = [];
  for (let i = start; i < end; i += step.step ?? 1) out.push(list[i]);
  return out;
}

function compare(left: Json, operator: string, right: Json): boolean {
  const comparable =
    (typeof left === "number" && typeof right === "number") ||
    (typeof left === "string" && typeof right === "string");
  if (operator === "==" || operator === "!=") {
    if (!comparable && typeof left !== typeof right)
      throw new JsonPathError("incompatible types for comparison");
    return (left === right) === (operator === "==");
  }
  if (!comparable) throw new JsonPathError(`invalid type for ${operator} comparison`);
  const [l, r] = [left as number | string, right as number | string];
  return operator === "<" ? l < r : operator === ">" ? l > r : operator === "<=" ? l <= r : l >= r;
}

function evaluate(input: Json[], steps: Step[]): Json[] {
  let current = input;
  for (const step of steps) current = evaluateStep(current, step);
  return current;
}

function evaluateStep(input: Json[], step: Step): Json[] {
  const present = input.filter((v) => v !== null && v !== undefined);
  switch (step.kind) {
    case "field": {
      if (input.length === 0) return [];
      const found = present
        .filter((v) => isMap(v) && Object.hasOwn(v, step.name))
        .map((v) => (v as Record<string, Json>)[step.name]);
      if (found.length === 0) throw new JsonPathError(`${step.name} is not found`);
      return found;
    }
    case "wildcard":
      return present.flatMap(children);
    case "recursive": {
      const out: Json[] = [];
      const visit = (v: Json) => {
        const inner = children(v);
        if (inner.length === 0) return;
        out.push(v);
        inner.forEach(visit);
      };
      present.forEach(visit);
      return out;
    }
    case "slice":
      return present.flatMap((v) => {
        if (!Array.isArray(v)) throw new JsonPathError(`${typeName(v)} is not an array, so it has no index`);
        return slice(v, step);
      });
    case "union":
      return step.branches.flatMap((branch) => evaluate(input, branch));
    case "filter":
      return input.flatMap((v) => {
        if (!Array.isArray(v))
          throw new JsonPathError(`${typeName(v)} is not an array and cannot be filtered`);
        return v.filter((element) => {
          if (step.operator === "exists") {
            try {
              return evaluate([element], step.left).length > 0;
            } catch {
              return false;
            }
          }
          const lefts = evaluate([element], step.left);
          if (lefts.length === 0) return false;
          const rights = evaluate([element], step.right);
          if (rights.length === 0) return false;
          if (lefts.length > 1 || rights.length > 1)
            throw new JsonPathError("can only compare one element at a time");
          return compare(lefts[0], step.operator, rights[0]);
        });
      });
    case "literal":
      return input.map(() => step.value);
    case "range":
    case "end":
      return input;
  }
}

/** Go's `%v` of a float64: shortest digits, exponent form below 1e-4 or from 1e6 (`1e+06`). */
function goFloat(n: number): string {
  if (!Number.isFinite(n)) return n > 0 ? "+Inf" : n < 0 ? "-Inf" : "NaN";
  if (n === 0) return Object.is(n, -0) ? "-0" : "0";
  const [mantissa = "", exponentText = "0"] = n.toExponential().split("e");
  const exponent = Number(exponentText);
  if (exponent < -4 || exponent >= 6) {
    const digits = Math.abs(exponent) < 10 ? `0${Math.abs(exponent)}` : String(Math.abs(exponent));
    return `${mantissa}e${exponent < 0 ? "-" : "+"}${digits}`;
  }
  return String(n);
}

/** Go's encoding/json: HTML-safe escapes, map keys sorted. */
export function goJson(value: Json): string {
  const sorted = (v: Json): Json =>
    Array.isArray(v)
      ? v.map(sorted)
      : isMap(v)
        ? Object.fromEntries(
            Object.keys(v)
              .sort()
              .map((k) => [k, sorted(v[k])]),
          )
        : v;
  return JSON.stringify(sorted(value)).replace(
    /[<>&\u2028\u2029]/g,
    (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

function print(value: Json, floats: boolean): string {
  if (typeof value === "string") return value;
  if (value === null || value === undefined) return "<nil>";
  if (typeof value === "number") return floats ? goFloat(value) : String(value);
  if (typeof value === "boolean") return String(value);
  return goJson(value);
}

function run(segments: Segment[], data: Json, floats: boolean): string {
  let out = "";
  for (const segment of segments) {
    if (segment.kind === "text") out += segment.text;
    else if (segment.kind === "action")
      out += evaluate([data], segment.steps)
        .map((v) => print(v, floats))
        .join(" ");
    else {
      const items = evaluate([data], segment.steps);
      // An empty range still evaluates its body once, so that its errors surface.
      if (items.length === 0) run(segment.body, null, floats);
      for (const item of items) out += run(segment.body, item, floats);
    }
  }
  return out;
}

export interface CompiledJsonPath {
  /** The template's output for `data`; `floats`: numbers print as Go float64s (data parsed from JSON text). */
  execute(data: Json, floats: boolean): string;
}

/** Parses a template once; throws JsonPathError when it is malformed. */
export function compileJsonPath(template: string): CompiledJsonPath {
  const segments = parseTemplate(template);
  return { execute: (data, floats) => run(segments, data, floats) };
}
