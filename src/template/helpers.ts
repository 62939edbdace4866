/**
 * Formatting helpers, and nothing else: no file, environment or network
 * access, no helper that loops or recurses on its own. Errors say what is
 * wrong with the input's shape, never the input (it is a secret value).
 *
 * Strings here are binary strings, as in ESO's Go templates: one char per
 * byte (0–255, latin1), so a value that is not UTF-8 passes through exactly.
 * Helpers that read text (case, JSON, YAML) decode UTF-8 as Go does, each
 * invalid byte becoming U+FFFD, and return binary strings again.
 */
import { parse as parseYaml, stringify as stringifyYaml } from "yaml";
import { HelperError } from "../errors.ts";

const NON_ASCII = /[\x80-\uffff]/;
/** One UTF-8 sequence, else one byte (Go's `range` over a string). */
export const RUNE =
  /[\xc2-\xdf][\x80-\xbf]|\xe0[\xa0-\xbf][\x80-\xbf]|[\xe1-\xec\xee\xef][\x80-\xbf]{2}|\xed[\x80-\x9f][\x80-\xbf]|\xf0[\x90-\xbf][\x80-\xbf]{2}|[\xf1-\xf3][\x80-\xbf]{3}|\xf4[\x80-\x8f][\x80-\xbf]{2}|[\s\S]/g;
const REPLACEMENT = "\xef\xbf\xbd"; // U+FFFD in UTF-8
const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** Text → its UTF-8 bytes as a binary string. */
export function binary(text: string): string {
  return !NON_ASCII.test(text) ? text : Buffer.from(text, "utf8").toString("latin1");
}

/** A binary string → text: UTF-8 decoded, each byte that is not part of a UTF-8 sequence U+FFFD (as Go). */
export function text(bin: string): string {
  if (!NON_ASCII.test(bin)) return bin;
  let bytes = Buffer.from(bin, "latin1");
  try {
    return strictUtf8.decode(bytes);
  } catch {
    bytes = Buffer.from(
      bin.replace(RUNE, (r) => (r.length === 1 && r > "\x7f" ? REPLACEMENT : r)),
      "latin1",
    );
    return bytes.toString("utf8");
  }
}

function isContainer(v: unknown): v is Record<string, unknown> | unknown[] {
  if (Array.isArray(v)) return true;
  if (v === null || typeof v !== "object") return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

/**
 * A copy of a parsed structure with every string (keys too) passed through
 * `f`. Iterative, and shared or cyclic parts (YAML aliases) stay shared.
 */
function mapStrings(root: unknown, f: (s: string) => string): unknown {
  if (typeof root === "string") return f(root);
  if (!isContainer(root)) return root;
  const copies = new Map<object, Record<string, unknown> | unknown[]>();
  const pending: [Record<string, unknown> | unknown[], Record<string, unknown> | unknown[]][] = [];
  const copy = (v: unknown): unknown => {
    if (typeof v === "string") return f(v);
    if (!isContainer(v)) return v;
    let c = copies.get(v);
    if (!c) {
      c = Array.isArray(v) ? [] : {};
      copies.set(v, c);
      pending.push([v, c]);
    }
    return c;
  };
  const out = copy(root);
  for (let next = pending.pop(); next; next = pending.pop()) {
    const [from, to] = next;
    if (Array.isArray(from)) for (const v of from) (to as unknown[]).push(copy(v));
    else
      for (const [k, v] of Object.entries(from)) {
        // defineProperty: a "__proto__" key stays a key, as JSON.parse made it.
        Object.defineProperty(to, f(k), {
          value: copy(v),
          enumerable: true,
          writable: true,
          configurable: true,
        });
      }
  }
  return out;
}

/** JSON of a structure holding binary strings: the text of each, stringified, as UTF-8 bytes. */
function json(v: unknown): string {
  return binary(JSON.stringify(mapStrings(v ?? null, text)) ?? "null");
}

function str(v: unknown): string {
  if (v === undefined || v === null) return "";
  if (typeof v === "string") return v;
  if (typeof v === "object") return json(v);
  return String(v as number | boolean);
}

/** Handlebars passes an options object last; helpers see only their real arguments. */
function args(list: unknown[]): unknown[] {
  return list.slice(0, -1);
}

function wrap64(s: string): string {
  return s.match(/.{1,64}/g)?.join("\n") ?? "";
}

/** Go's unicode.IsSpace runes, as UTF-8 (strings.TrimSpace). */
const SPACES = [
  "\t",
  "\n",
  "\v",
  "\f",
  "\r",
  " ",
  "\xc2\x85",
  "\xc2\xa0",
  "\xe1\x9a\x80",
  ...Array.from({ length: 11 }, (_, i) => `\xe2\x80${String.fromCharCode(0x80 + i)}`),
  "\xe2\x80\xa8",
  "\xe2\x80\xa9",
  "\xe2\x80\xaf",
  "\xe2\x81\x9f",
  "\xe3\x80\x80",
];

export function trimSpace(bin: string): string {
  let start = 0;
  let end = bin.length;
  let found = true;
  while (found && start < end) {
    found = false;
    for (const s of SPACES)
      if (start + s.length <= end && bin.startsWith(s, start)) {
        start += s.length;
        found = true;
        break;
      }
  }
  found = true;
  while (found && start < end) {
    found = false;
    for (const s of SPACES)
      if (end - s.length >= start && bin.endsWith(s, end)) {
        end -= s.length;
        found = true;
        break;
      }
  }
  return bin.slice(start, end);
}

/** Go's unicode.ToUpper/ToLower: one rune to one rune (simple case mapping), never "ß" → "SS". */
const SIMPLE_UPPER = new Map<number, number>([
  ...[0x1f80, 0x1f90, 0x1fa0].flatMap((base) =>
    Array.from({ length: 8 }, (_, i): [number, number] => [base + i, base + i + 8]),
  ),
  [0x1fb3, 0x1fbc],
  [0x1fc3, 0x1fcc],
  [0x1ff3, 0x1ffc],
]);
const SIMPLE_LOWER = new Map<number, number>([[0x130, 0x69]]);

/** One rune's simple upper or lower case (one rune out, as Go's unicode.ToUpper/ToLower). */
export function caseRune(ch: string, upper: boolean): string {
  const full = upper ? ch.toUpperCase() : ch.toLowerCase();
  if (full.length === 1 || (full.length === 2 && full.codePointAt(0)! > 0xffff)) return full;
  const simple = (upper ? SIMPLE_UPPER : SIMPLE_LOWER).get(ch.codePointAt(0)!);
  return simple === undefined ? ch : String.fromCodePoint(simple);
}

/** strings.ToUpper/ToLower: bytes that are not UTF-8 become U+FFFD. */
export function changeCase(bin: string, upper: boolean): string {
  if (!NON_ASCII.test(bin)) return upper ? bin.toUpperCase() : bin.toLowerCase();
  let out = "";
  for (const ch of text(bin)) out += caseRune(ch, upper);
  return binary(out);
}

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n[\s\S]*?-----END \1-----/g;

export const helpers: Record<string, (...a: unknown[]) => unknown> = {
  b64enc: (...a) => Buffer.from(str(args(a)[0]), "latin1").toString("base64"),
  b64dec: (...a) => {
    const s = trimSpace(str(args(a)[0]));
    if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(s)) throw new HelperError("b64dec: input is not base64");
    return Buffer.from(s, "base64").toString("latin1");
  },
  toJson: (...a) => json(args(a)[0]),
  fromJson: (...a) => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text(str(args(a)[0])));
    } catch {
      throw new HelperError("fromJson: input is not valid JSON");
    }
    return mapStrings(parsed, binary);
  },
  toYaml: (...a) => binary(stringifyYaml(mapStrings(args(a)[0] ?? null, text)).trimEnd()),
  fromYaml: (...a) => {
    let parsed: unknown;
    try {
      parsed = parseYaml(text(str(args(a)[0])));
    } catch {
      throw new HelperError("fromYaml: input is not valid YAML");
    }
    return mapStrings(parsed, binary);
  },
  trim: (...a) => trimSpace(str(args(a)[0])),
  upper: (...a) => changeCase(str(args(a)[0]), true),
  lower: (...a) => changeCase(str(args(a)[0]), false),
  /** `{{default value "fallback"}}`: the fallback when value is empty. */
  default: (...a) => {
    const [value, fallback] = args(a);
    return value === undefined || value === null || value === "" ? fallback : value;
  },
  /** `{{join list ","}}` */
  join: (...a) => {
    const [list, sep] = args(a);
    if (!Array.isArray(list)) throw new HelperError("join: first argument is not a list");
    return list.map(str).join(sep === undefined ? "," : str(sep));
  },
  /** `{{split value ","}}`: a list, for join or each; `""` splits into UTF-8 characters (Go's strings.Split). */
  split: (...a) => {
    const [value, sep] = args(a);
    const s = str(value);
    const by = sep === undefined ? "," : str(sep);
    return by === "" ? (s.match(RUNE) ?? []) : s.split(by);
  },
  /** `{{pemEncode "CERTIFICATE" base64Der}}`: a PEM block around base64 DER. */
  pemEncode: (...a) => {
    const [type, b64] = args(a);
    const body = str(b64).replace(/[\t\n\v\f\r ]+/g, "");
    return `-----BEGIN ${str(type)}-----\n${wrap64(body)}\n-----END ${str(type)}-----\n`;
  },
  /** `{{filterPEM "CERTIFICATE" bundle}}`: only the blocks of one type (ESO's filterPEM). */
  filterPEM: (...a) => {
    const [type, pem] = args(a);
    const blocks = [...str(pem).matchAll(PEM_BLOCK)].filter((m) => m[1] === str(type)).map((m) => m[0]);
    return blocks.length ? `${blocks.join("\n")}\n` : "";
  },
  /** `{{pemCount "CERTIFICATE" bundle}}` */
  pemCount: (...a) => {
    const [type, pem] = args(a);
    return [...str(pem).matchAll(PEM_BLOCK)].filter((m) => m[1] === str(type)).length;
  },
};
