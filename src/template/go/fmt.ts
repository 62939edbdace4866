/**
 * Go's fmt for template values: Sprint/Sprintln (`print`, `println`, the
 * text an action writes) and Sprintf (`printf`) with the verbs and flags
 * templates use. Output is bytes (binary strings). Floats are formatted from
 * their exact decimal expansion with Go's rounding (half to even on the exact
 * value), so `%.2f` and `%v` give Go's digits. What Go would print as a
 * formatting error (`%!d(string=…)`, `%!s(MISSING)`) is printed the same way;
 * the few verb/flag combinations not implemented are refused.
 */
import { TemplateFuncError } from "./errors.ts";
import { GoMap, GoObject, MAX_DEPTH, typeName, type Value } from "./value.ts";
import { RUNE, binary, text } from "../helpers.ts";

interface Flags {
  plus: boolean;
  minus: boolean;
  sharp: boolean;
  space: boolean;
  zero: boolean;
  wid?: number;
  prec?: number;
}
const NO_FLAGS: Flags = { plus: false, minus: false, sharp: false, space: false, zero: false };

// ---- runes

function runeCount(bin: string): number {
  return bin.match(RUNE)?.length ?? 0;
}

/** The code point of one RUNE match, or -1 for a byte that is not UTF-8. */
function codePoint(r: string): number {
  if (r.length === 1) return r > "\x7f" ? -1 : r.charCodeAt(0);
  return text(r).codePointAt(0)!;
}

/** The UTF-8 bytes of a code point (invalid ones as U+FFFD, as Go's string(rune)). */
export function runeBytes(cp: bigint | number): string {
  const n = Number(cp);
  if (!Number.isInteger(n) || n < 0 || n > 0x10ffff || (n >= 0xd800 && n <= 0xdfff)) return "\xef\xbf\xbd";
  return binary(String.fromCodePoint(n));
}

const PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u;
const isPrint = (cp: number) => PRINTABLE.test(String.fromCodePoint(cp));
const hex = (n: number, width: number) => n.toString(16).padStart(width, "0");

function escapeRune(cp: number, quote: string, asciiOnly: boolean): string {
  if (cp === quote.charCodeAt(0) || cp === 0x5c) return `\\${String.fromCharCode(cp)}`;
  if (asciiOnly ? cp >= 0x20 && cp < 0x7f : isPrint(cp)) return runeBytes(cp);
  switch (cp) {
    case 7:
      return "\\a";
    case 8:
      return "\\b";
    case 12:
      return "\\f";
    case 10:
      return "\\n";
    case 13:
      return "\\r";
    case 9:
      return "\\t";
    case 11:
      return "\\v";
  }
  if (cp < 0x20 || cp === 0x7f) return `\\x${hex(cp, 2)}`;
  if (cp < 0x10000) return `\\u${hex(cp, 4)}`;
  return `\\U${hex(cp, 8)}`;
}

/** strconv.Quote / QuoteToASCII on bytes. */
export function quote(bin: string, asciiOnly = false): string {
  let out = '"';
  for (const r of bin.match(RUNE) ?? []) {
    const cp = codePoint(r);
    out += cp < 0 ? `\\x${hex(r.charCodeAt(0), 2)}` : escapeRune(cp, '"', asciiOnly);
  }
  return out + '"';
}

function quoteRune(cp: number, asciiOnly: boolean): string {
  if (cp < 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) cp = 0xfffd;
  return `'${escapeRune(cp, "'", asciiOnly)}'`;
}

function canBackquote(bin: string): boolean {
  for (const r of bin.match(RUNE) ?? []) {
    const cp = codePoint(r);
    if (cp < 0 || cp === 0xfeff || cp === 0x60 || (cp < 0x20 && cp !== 9) || cp === 0x7f) return false;
  }
  return true;
}

// ---- floats

interface Digits {
  d: string; // significant digits, no trailing zeros ("" for zero)
  dp: number; // decimal point position
}

/** The exact decimal expansion of a finite positive double. */
function exactDigits(x: number): Digits {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const hi = view.getUint32(0);
  let mant = (BigInt(hi & 0xfffff) << 32n) | BigInt(view.getUint32(4));
  let exp = (hi >>> 20) & 0x7ff;
  if (exp === 0) exp = 1;
  else mant |= 1n << 52n;
  const e2 = exp - 1075;
  let s: string;
  let dp: number;
  if (e2 >= 0) {
    s = (mant << BigInt(e2)).toString();
    dp = s.length;
  } else {
    s = (mant * 5n ** BigInt(-e2)).toString();
    dp = s.length + e2;
  }
  return { d: s.replace(/0+$/, ""), dp };
}

/** The shortest digits that read back as x (JavaScript's and Go's shortest agree). */
function shortestDigits(x: number): Digits {
  const [m, e] = x.toExponential().split("e") as [string, string];
  return { d: m.replace(".", "").replace(/0+$/, ""), dp: Number(e) + 1 };
}

/** strconv's decimal.Round to `n` digits: half to even on the exact value. */
function round(x: Digits, n: number): Digits {
  const { d, dp } = x;
  if (n < 0 || n >= d.length) return x;
  const up = d[n] === "5" && n + 1 === d.length ? n > 0 && Number(d[n - 1]) % 2 === 1 : d[n]! >= "5";
  if (!up) return { d: d.slice(0, n).replace(/0+$/, ""), dp };
  let i = n - 1;
  while (i >= 0 && d[i] === "9") i--;
  if (i < 0) return { d: "1", dp: dp + 1 };
  return { d: d.slice(0, i) + String(Number(d[i]) + 1), dp };
}

function fmtE(x: Digits, prec: number, e: string): string {
  let out = x.d[0] ?? "0";
  if (prec > 0) out += "." + x.d.slice(1, prec + 1).padEnd(prec, "0");
  let exp = x.d.length === 0 ? 0 : x.dp - 1;
  const sign = exp < 0 ? "-" : "+";
  exp = Math.abs(exp);
  return `${out}${e}${sign}${exp < 10 ? "0" : ""}${exp}`;
}

function fmtF(x: Digits, prec: number): string {
  let out = x.dp > 0 ? x.d.slice(0, x.dp).padEnd(x.dp, "0") : "0";
  if (prec > 0) {
    out += ".";
    for (let i = 0; i < prec; i++) {
      const j = x.dp + i;
      out += j >= 0 && j < x.d.length ? x.d[j] : "0";
    }
  }
  return out;
}

/** strconv.FormatFloat(abs, verb, prec, 64) for a finite non-negative value; prec -1 is shortest. */
export function formatFloat(abs: number, verb: "e" | "E" | "f" | "g" | "G", prec: number): string {
  const shortest = prec < 0;
  let digs: Digits = abs === 0 ? { d: "", dp: 0 } : shortest ? shortestDigits(abs) : exactDigits(abs);
  if (shortest) {
    if (verb === "e" || verb === "E") prec = digs.d.length - 1;
    else if (verb === "f") prec = Math.max(digs.d.length - digs.dp, 0);
    else prec = digs.d.length;
  } else if (verb === "e" || verb === "E") digs = round(digs, prec + 1);
  else if (verb === "f") digs = round(digs, digs.dp + prec);
  else {
    if (prec === 0) prec = 1;
    digs = round(digs, prec);
  }
  if (verb === "e" || verb === "E") return fmtE(digs, prec, verb);
  if (verb === "f") return fmtF(digs, prec);
  let eprec = prec;
  if (eprec > digs.d.length && digs.d.length >= digs.dp) eprec = digs.d.length;
  if (shortest) eprec = 6;
  const exp = digs.dp - 1;
  if (exp < -4 || exp >= eprec) {
    if (prec > digs.d.length) prec = digs.d.length;
    return fmtE(digs, prec - 1, verb === "g" ? "e" : "E");
  }
  if (prec > digs.dp) prec = digs.d.length;
  return fmtF(digs, Math.max(prec - digs.dp, 0));
}

// ---- padding and numbers

function pad(s: string, f: Flags): string {
  if (f.wid === undefined) return s;
  const n = f.wid - runeCount(s);
  if (n <= 0) return s;
  if (f.minus) return s + " ".repeat(n);
  return (f.zero ? "0" : " ").repeat(n) + s;
}

function fmtInteger(v: bigint, base: number, verb: string, f: Flags): string {
  const negative = v < 0n;
  const u = negative ? -v : v;
  let prec = 0;
  if (f.prec !== undefined) {
    prec = f.prec;
    if (prec === 0 && u === 0n) return pad("", { ...f, zero: false });
  } else if (f.zero && !f.minus && f.wid !== undefined) {
    prec = f.wid;
    if (negative || f.plus || f.space) prec--;
  }
  let digits = u.toString(base);
  if (verb === "X") digits = digits.toUpperCase();
  digits = digits.padStart(prec, "0");
  if (f.sharp) {
    if (base === 2) digits = "0b" + digits;
    else if (base === 8 && digits[0] !== "0") digits = "0" + digits;
    else if (base === 16) digits = (verb === "X" ? "0X" : "0x") + digits;
  }
  if (verb === "O") digits = "0o" + digits;
  const sign = negative ? "-" : f.plus ? "+" : f.space ? " " : "";
  return pad(sign + digits, { ...f, zero: false });
}

function fmtFloat(v: number, verb: string, prec: number, f: Flags): string {
  if (f.sharp) throw new TemplateFuncError("printf: the # flag on a float is not supported");
  if (f.prec !== undefined) prec = f.prec;
  let num: string;
  if (Number.isNaN(v)) num = "+NaN";
  else if (!Number.isFinite(v)) num = v > 0 ? "+Inf" : "-Inf";
  else {
    const neg = v < 0 || Object.is(v, -0);
    const g = verb === "v" ? "g" : verb === "F" ? "f" : (verb as "e" | "E" | "f" | "g" | "G");
    num = (neg ? "-" : "+") + formatFloat(Math.abs(v), g, prec);
  }
  if (f.space && num[0] === "+" && !f.plus) num = " " + num.slice(1);
  if (num === "+NaN" || num === " NaN") num = f.plus ? "+NaN" : f.space ? " NaN" : "+NaN";
  const finite = Number.isFinite(v);
  const flags = finite ? f : { ...f, zero: false };
  if (f.plus || num[0] !== "+") {
    if (flags.zero && !f.minus && f.wid !== undefined && f.wid > num.length)
      return num[0] + "0".repeat(f.wid - num.length) + num.slice(1);
    return pad(num, flags);
  }
  return pad(num.slice(1), flags);
}

// ---- values

function noZero(f: Flags): void {
  if (f.zero && !f.minus && f.wid !== undefined)
    throw new TemplateFuncError("printf: the 0 flag on a string is not supported");
}

function fmtString(s: string, verb: string, f: Flags): string {
  if (verb === "x" || verb === "X") {
    let length = s.length;
    if (f.prec !== undefined && f.prec < length) length = f.prec;
    let out = "";
    for (let i = 0; i < length; i++) {
      if (f.space && i > 0) out += " ";
      if (f.sharp && (f.space || i === 0)) out += verb === "X" ? "0X" : "0x";
      const h = hex(s.charCodeAt(i), 2);
      out += verb === "X" ? h.toUpperCase() : h;
    }
    noZero(f);
    return pad(out, f);
  }
  if (f.prec !== undefined) s = (s.match(RUNE) ?? []).slice(0, f.prec).join("");
  noZero(f);
  if (verb === "q") return pad(f.sharp && canBackquote(s) ? "`" + s + "`" : quote(s, f.plus), f);
  return pad(s, f);
}

function badVerb(v: Value, verb: string, f: Flags): string {
  if (v === null) return `%!${verb}(<nil>)`;
  return `%!${verb}(${typeName(v)}=${formatArg(v, "v", f)})`;
}

function formatArg(v: Value, verb: string, f: Flags, depth = 0): string {
  if (depth > MAX_DEPTH) throw new TemplateFuncError(`structure nested deeper than ${MAX_DEPTH}`);
  if (verb === "T") return fmtString(typeName(v), "s", f);
  if (v === null) return verb === "v" ? pad("<nil>", { ...f, zero: false }) : badVerb(v, verb, f);
  if (typeof v === "boolean") return verb === "t" || verb === "v" ? pad(String(v), f) : badVerb(v, verb, f);
  if (typeof v === "bigint") {
    switch (verb) {
      case "v":
      case "d":
        return fmtInteger(v, 10, verb, f);
      case "b":
        return fmtInteger(v, 2, verb, f);
      case "o":
      case "O":
        return fmtInteger(v, 8, verb, f);
      case "x":
      case "X":
        return fmtInteger(v, 16, verb, f);
      case "c":
        return pad(runeBytes(v), f);
      case "q":
        return pad(quoteRune(Number(v), f.plus), f);
      case "U": {
        if (v < 0n) return badVerb(v, verb, f);
        const s = `U+${v.toString(16).toUpperCase().padStart(4, "0")}`;
        return pad(f.sharp && isPrint(Number(v)) ? `${s} '${runeBytes(v)}'` : s, f);
      }
      default:
        return badVerb(v, verb, f);
    }
  }
  if (typeof v === "number") {
    switch (verb) {
      case "v":
      case "g":
      case "G":
        return fmtFloat(v, verb, -1, f);
      case "e":
      case "E":
      case "f":
      case "F":
        return fmtFloat(v, verb, 6, f);
      case "x":
      case "X":
      case "b":
        throw new TemplateFuncError(`printf: %${verb} on a float is not supported`);
      default:
        return badVerb(v, verb, f);
    }
  }
  if (typeof v === "string") {
    if (verb === "v" || verb === "s" || verb === "q" || verb === "x" || verb === "X")
      return fmtString(v, verb, f);
    return badVerb(v, verb, f);
  }
  if (v instanceof GoObject) return formatArg(v.text(), verb === "v" ? "s" : verb, f, depth);
  if (v instanceof GoMap) {
    const parts = v
      .sortedKeys()
      .map((k) => `${formatArg(k, verb, f, depth + 1)}:${formatArg(v.m.get(k)!, verb, f, depth + 1)}`);
    return `map[${parts.join(" ")}]`;
  }
  return `[${v.map((e) => formatArg(e, verb, f, depth + 1)).join(" ")}]`;
}

/** fmt.Sprint(v) of one value: `%v`. */
export function formatValue(v: Value): string {
  return formatArg(v, "v", NO_FLAGS);
}

/** fmt.Sprint: a space between operands when neither is a string. */
export function sprint(args: Value[]): string {
  let out = "";
  args.forEach((a, i) => {
    if (i > 0 && typeof a !== "string" && typeof args[i - 1] !== "string") out += " ";
    out += formatValue(a);
  });
  return out;
}

/** fmt.Sprintln: spaces between all operands, a newline at the end. */
export function sprintln(args: Value[]): string {
  return args.map(formatValue).join(" ") + "\n";
}

/** fmt.Sprintf. */
export function sprintf(format: string, args: Value[]): string {
  let out = "";
  let argNum = 0;
  let i = 0;
  const end = format.length;
  const intArg = (): number | undefined => {
    const a = args[argNum++];
    if (typeof a !== "bigint") return undefined;
    if (a > 1_000_000n || a < -1_000_000n) return undefined;
    return Number(a);
  };
  while (i < end) {
    const next = format.indexOf("%", i);
    if (next < 0) {
      out += format.slice(i);
      break;
    }
    out += format.slice(i, next);
    i = next + 1;
    const f: Flags = { ...NO_FLAGS };
    for (; i < end; i++) {
      const c = format[i];
      if (c === "#") f.sharp = true;
      else if (c === "0") f.zero = !f.minus;
      else if (c === "+") f.plus = true;
      else if (c === "-") {
        f.minus = true;
        f.zero = false;
      } else if (c === " ") f.space = true;
      else break;
    }
    if (format[i] === "[") throw new TemplateFuncError("printf: explicit argument indexes are not supported");
    let badWidth = false;
    if (format[i] === "*") {
      i++;
      const w = intArg();
      if (w === undefined) badWidth = true;
      else if (w < 0) {
        f.minus = true;
        f.zero = false;
        f.wid = -w;
      } else f.wid = w;
    } else {
      const m = /^\d+/.exec(format.slice(i, i + 8));
      if (m) {
        f.wid = Number(m[0]);
        i += m[0].length;
      }
    }
    if (f.wid !== undefined && f.wid > 1_000_000) throw new TemplateFuncError("printf: width too large");
    let badPrec = false;
    if (format[i] === ".") {
      i++;
      if (format[i] === "*") {
        i++;
        const p = intArg();
        if (p === undefined || p < 0) badPrec = true;
        else f.prec = p;
      } else {
        const m = /^\d+/.exec(format.slice(i, i + 8));
        f.prec = m ? Number(m[0]) : 0;
        if (m) i += m[0].length;
      }
      if (f.prec !== undefined && f.prec > 1_000_000)
        throw new TemplateFuncError("printf: precision too large");
    }
    if (badWidth) out += "%!(BADWIDTH)";
    if (badPrec) out += "%!(BADPREC)";
    if (i >= end) {
      out += "%!(NOVERB)";
      break;
    }
    const verbMatch = (format.slice(i, i + 4).match(RUNE) ?? [""])[0];
    const verb = verbMatch;
    i += verb.length;
    if (verb === "%") {
      out += "%";
      continue;
    }
    if (argNum >= args.length) {
      out += `%!${verb}(MISSING)`;
      continue;
    }
    if (!/^[vTtbcdoOqxXUeEfFgGs]$/.test(verb)) {
      if (verb === "w" || verb === "p") throw new TemplateFuncError(`printf: verb %${verb} is not supported`);
      out += badVerb(args[argNum++]!, verb, f);
      continue;
    }
    out += formatArg(args[argNum++]!, verb, f);
  }
  if (argNum < args.length) {
    out += "%!(EXTRA ";
    out += args
      .slice(argNum)
      .map((a) => (a === null ? "<nil>" : `${typeName(a)}=${formatValue(a)}`))
      .join(", ");
    out += ")";
  }
  return out;
}
