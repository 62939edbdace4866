/**
 * The functions a Go template may call: text/template's builtins and the
 * Sprig and ESO functions ESO registers, each written from its documented
 * behaviour on Go strings (bytes). Nothing here reads a file, the
 * environment, the network or a random source; the date functions read the
 * clock (`now`, `ago`, `date` of a value that is not a time), as in ESO.
 *
 * Refused (a parse error naming the function): the functions whose result
 * is random on every render (random values, generated keys and
 * certificates, bcrypt/htpasswd salts, AES with a random IV, uuidv4), which
 * would rewrite the Secret and restart its workloads at every refresh;
 * `call`; and the rest of ESO's list not written yet (see NOT_YET). The
 * regular-expression family runs on RE2 (./regex.ts), linear in time as Go's.
 */
import {
  createDecipheriv,
  createHash,
  createHmac,
  createPrivateKey,
  createPublicKey,
  scryptSync,
  X509Certificate,
} from "node:crypto";
import { parse as parseYaml } from "yaml";
import { TemplateFuncError } from "./errors.ts";
import type { Func, Param } from "./exec.ts";
import { formatValue, quote, sprint, sprintf, sprintln } from "./fmt.ts";
import * as decimal from "./decimal.ts";
import {
  fromPlain,
  GoMap,
  GoObject,
  int64,
  parseJson,
  toJson,
  truth,
  typeName,
  type Value,
} from "./value.ts";
import { binary, caseRune, changeCase, RUNE, text, trimSpace } from "../helpers.ts";
import { b64decode, pemDecode, pemEncode } from "./pem.ts";
import {
  filterCertChain,
  fullPemToPkcs12Pass,
  pemToPkcs12Pass,
  pemTruststoreToPKCS12Pass,
  pkcs12certPass,
  pkcs12keyPass,
  rsaDecrypt,
} from "./pki.ts";
import type { RE2JS } from "re2js";
import * as re from "./regex.ts";
import { toYaml } from "./yaml.ts";
import * as gotime from "./gotime.ts";
import { GoTime } from "./gotime.ts";
import * as paths from "./paths.ts";
import { newVersion, semverCompare } from "./semver.ts";
import { toKebabCase, toPascalCase, toSnakeCase } from "./xstrings.ts";
import { merge } from "./merge.ts";

const err = (msg: string): never => {
  throw new TemplateFuncError(msg);
};

function fn(params: Param[], body: (...a: never[]) => Value, variadic?: Param): Func {
  return { params, variadic, fn: body as (...a: Value[]) => Value };
}

// ---- helpers on Go values

/** sprig's strval: a string as it is, anything else as fmt's %v. */
const strval = (v: Value): string => (typeof v === "string" ? v : formatValue(v));

/** sprig's empty: nil, false, 0, "" and empty collections. */
const empty = (v: Value): boolean => !truth(v);

/** cast.ToInt64 as Sprig uses it: numbers, numeric strings (Go syntax, base prefixes), bools; else 0. */
function toInt64(v: Value): bigint {
  if (typeof v === "bigint") return v;
  if (typeof v === "number") return Number.isFinite(v) ? int64(BigInt(Math.trunc(v))) : 0n;
  if (typeof v === "boolean") return v ? 1n : 0n;
  if (typeof v === "string") {
    let s = v;
    if (/^[+-]?\d+\.0*$/.test(s)) s = s.replace(/\.0*$/, "");
    return parseGoInt(s) ?? 0n;
  }
  return 0n;
}

function parseGoInt(s: string): bigint | undefined {
  let t = s;
  let neg = false;
  if (t[0] === "+" || t[0] === "-") {
    neg = t[0] === "-";
    t = t.slice(1);
  }
  if (/_/.test(t) && !/^0[xXbBoO]?[0-9a-fA-F]+(_[0-9a-fA-F]+)*$/.test(t) && !/^[0-9]+(_[0-9]+)+$/.test(t))
    return undefined;
  t = t.replace(/_/g, "");
  let v: bigint;
  if (/^0[xX][0-9a-fA-F]+$/.test(t) || /^0[bB][01]+$/.test(t) || /^0[oO][0-7]+$/.test(t)) v = BigInt(t);
  else if (/^0[0-7]+$/.test(t)) v = BigInt("0o" + t.slice(1));
  else if (/^[0-9]+$/.test(t)) v = BigInt(t);
  else return undefined;
  v = neg ? -v : v;
  return v === int64(v) ? v : undefined;
}

function toFloat64(v: Value): number {
  if (typeof v === "number") return v;
  if (typeof v === "bigint") return Number(v);
  if (typeof v === "boolean") return v ? 1 : 0;
  if (typeof v === "string" && /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(v)) return Number(v);
  return 0;
}

function list(v: Value, name: string): Value[] {
  if (Array.isArray(v)) return v;
  return err(`Cannot ${name} on type ${typeName(v)}`);
}

/** sprig's strslice: a list's elements as strings, nils dropped; a single value as a one-element list. */
function strslice(v: Value): string[] {
  if (Array.isArray(v)) return v.filter((e) => e !== null).map(strval);
  if (v === null) return [];
  return [strval(v)];
}

function runes(s: string): string[] {
  return s.match(RUNE) ?? [];
}

/** Deep equality of Go values (reflect.DeepEqual on what templates build). */
function deepEqual(a: Value, b: Value): boolean {
  if (Array.isArray(a) && Array.isArray(b))
    return a.length === b.length && a.every((e, i) => deepEqual(e, b[i]!));
  if (a instanceof GoMap && b instanceof GoMap)
    return (
      a.elem === b.elem &&
      a.m.size === b.m.size &&
      [...a.m].every(([k, v]) => b.m.has(k) && deepEqual(v, b.m.get(k)!))
    );
  if (a instanceof GoObject && b instanceof GoObject)
    return a.goType === b.goType && a.text() === b.text() && a.json() === b.json();
  return typeof a === typeof b && a === b;
}

/** reflect.Value.Kind().String() of a template value. */
function kindOf(v: Value): string {
  if (v === null) return "invalid";
  if (v instanceof GoMap) return "map";
  if (Array.isArray(v)) return "slice";
  if (v instanceof GoObject) return v.goType.startsWith("*") ? "ptr" : "struct";
  return typeName(v);
}

/** copystructure.Copy: lists and maps copied all the way down (Go objects are immutable here). */
function deepCopy(v: Value): Value {
  if (Array.isArray(v)) return v.map(deepCopy);
  if (v instanceof GoMap) return new GoMap(new Map([...v.m].map(([k, e]) => [k, deepCopy(e)])), v.elem);
  return v;
}

/** Sprig's slice (it replaces text/template's): a list from start to end (toInt), nil for an empty list. */
function sliceList(v: Value, ...indices: Value[]): Value {
  if (!Array.isArray(v)) return err(`list should be type of slice or array but ${kindOf(v)}`);
  if (v.length === 0) return null;
  const start = indices.length > 0 ? Number(toInt64(indices[0]!)) : 0;
  const end = indices.length > 1 ? Number(toInt64(indices[1]!)) : v.length;
  if (start < 0 || end < start || end > v.length) return err("reflect: slice index out of range");
  return v.slice(start, end);
}

/** Sprig's chunk: lists of `size` elements, the last one shorter. */
function chunk(size: bigint, v: Value): Value {
  if (!Array.isArray(v)) return err(`Cannot chunk type ${kindOf(v)}`);
  if (size <= 0n) return err("chunk size must be positive");
  const n = Number(size);
  const out: Value[] = [];
  for (let i = 0; i < v.length; i += n) out.push(v.slice(i, i + n));
  return out;
}

/** Sprig's untilStep: integers from start towards stop (excluded) by step; none when step points away. */
function untilStep(start: bigint, stop: bigint, step: bigint): bigint[] {
  if (step === 0n || stop < start !== step < 0n || stop === start) return [];
  if ((stop - start) / step > 100_000n) return err("count too large");
  const out: bigint[] = [];
  for (let i = start; step > 0n ? i < stop : i > stop; i += step) out.push(i);
  return out;
}

/** Sprig's seq: "1 2 3" like the Unix command (end included), with an optional step. */
function seq(...params: bigint[]): string {
  let start: bigint;
  let end: bigint;
  let step: bigint;
  if (params.length === 1) [start, end, step] = [1n, params[0]!, params[0]! < 1n ? -1n : 1n];
  else if (params.length === 2)
    [start, end, step] = [params[0]!, params[1]!, params[1]! < params[0]! ? -1n : 1n];
  else if (params.length === 3) {
    [start, step, end] = [params[0]!, params[1]!, params[2]!];
    if (end < start && step > 0n) return "";
  } else return "";
  const increment = end < start ? -1n : 1n;
  return untilStep(start, end + increment, step).join(" ");
}

/** Sprig's round: to `places` decimals, up from `roundOn` (default .5) of the last one, on float64s. */
function round(a: Value, places: bigint, ...roundOn: Value[]): number {
  const on = roundOn.length ? toFloat64(roundOn[0]!) : 0.5;
  const pow = Math.pow(10, Number(places));
  const digit = pow * toFloat64(a);
  const frac = digit - Math.trunc(digit);
  return (frac >= on ? Math.ceil(digit) : Math.floor(digit)) / pow;
}

/** Sprig's addf/subf/mulf/divf: shopspring/decimal arithmetic on the floats, folded left. */
function decimalFold(op: (a: decimal.Decimal, b: decimal.Decimal) => decimal.Decimal) {
  return (first: Value, ...rest: Value[]): number =>
    decimal.toFloat(
      rest.reduce((acc, v) => op(acc, decimal.fromFloat(toFloat64(v))), decimal.fromFloat(toFloat64(first))),
    );
}

/** goutils.AbbreviateFull: "..." on the side(s) cut, `maxWidth` bytes in all. */
function abbreviate(s: string, offset: number, maxWidth: number): string {
  if (s === "" || s.length <= maxWidth) return s;
  let at = Math.min(offset, s.length);
  if (s.length - at < maxWidth - 3) at = s.length - (maxWidth - 3);
  if (at <= 4) return s.slice(0, maxWidth - 3) + "...";
  if (at + maxWidth - 3 < s.length) return "..." + abbreviate(s.slice(at), 0, maxWidth - 3);
  return "..." + s.slice(s.length - (maxWidth - 3));
}

/** unicode.IsSpace. */
const isSpace = (ch: string) =>
  /^[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]$/.test(ch);

/** goutils.Initials: the first byte of each word, each byte read as the rune of its value (as goutils does). */
function initials(bin: string): string {
  let out = "";
  let gap = true;
  for (const ch of bin) {
    if (isSpace(ch)) gap = true;
    else if (gap) {
      out += binary(ch);
      gap = false;
    }
  }
  return out;
}

/** goutils.SwapCase: upper and title case to lower; lower to title case after a space, else to upper. */
function swapCase(bin: string): string {
  let out = "";
  let space = true;
  for (const ch of text(bin)) {
    if (/^[\p{Lu}\p{Lt}]$/u.test(ch)) {
      out += caseRune(ch, false);
      space = false;
    } else if (/^\p{Ll}$/u.test(ch)) {
      const digraph = space ? TITLE_DIGRAPHS.get(ch.codePointAt(0)!) : undefined;
      out += digraph === undefined ? caseRune(ch, true) : String.fromCodePoint(digraph);
      space = false;
    } else {
      out += ch;
      space = isSpace(ch);
    }
  }
  return binary(out);
}

/** goutils.Uncapitalize: the first rune of each word (words split at spaces) in lower case. */
function untitle(bin: string): string {
  let out = "";
  let next = true;
  for (const ch of text(bin)) {
    if (isSpace(ch)) next = true;
    else if (next) {
      out += caseRune(ch, false);
      next = false;
      continue;
    }
    out += ch;
  }
  return bin === "" ? bin : binary(out);
}

/** encoding/hex.DecodeString; Sprig returns the error's text as the result. */
function hexdec(s: string): string {
  const isHex = (c: string | undefined) => c !== undefined && /^[0-9a-fA-F]$/.test(c);
  const invalid = (c: string) => `encoding/hex: invalid byte: ${sprintf("%#U", [BigInt(c.charCodeAt(0))])}`;
  for (let j = 1; j < s.length; j += 2) {
    if (!isHex(s[j - 1])) return invalid(s[j - 1]!);
    if (!isHex(s[j])) return invalid(s[j]!);
  }
  if (s.length % 2 === 1)
    return isHex(s[s.length - 1]) ? "encoding/hex: odd length hex string" : invalid(s[s.length - 1]!);
  return Buffer.from(s, "hex").toString("latin1");
}

const BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/** base32.StdEncoding.EncodeToString. */
function b32enc(s: string): string {
  let out = "";
  let bits = 0;
  let acc = 0;
  for (let i = 0; i < s.length; i++) {
    acc = ((acc << 8) | s.charCodeAt(i)) & 0xffff;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(acc >> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += BASE32[(acc << (5 - bits)) & 31];
  return out + "=".repeat((8 - (out.length % 8)) % 8);
}

/** base32.StdEncoding.DecodeString (newlines ignored); Sprig returns the error's text as the result. */
function b32dec(input: string): string {
  const src = input.replace(/[\r\n]/g, "");
  const corrupt = (at: number) => `illegal base32 data at input byte ${at}`;
  let out = "";
  let i = 0;
  while (i < src.length) {
    const groups: number[] = [];
    let end = false;
    while (groups.length < 8) {
      if (i >= src.length) return corrupt(i - groups.length);
      const c = src[i++]!;
      const rest = src.length - i;
      if (c === "=" && groups.length >= 2 && rest < 8) {
        const j = groups.length;
        if (rest + j < 7) return corrupt(src.length);
        for (let k = 0; k < 7 - j; k++) if (k < rest && src[i + k] !== "=") return corrupt(i + k - 1);
        if (j === 1 || j === 3 || j === 6) return corrupt(i - 1);
        end = true;
        break;
      }
      const v = BASE32.indexOf(c);
      if (v < 0) return corrupt(i - 1);
      groups.push(v);
    }
    let bits = 0;
    let acc = 0;
    for (const g of groups) {
      acc = ((acc << 5) | g) & 0xffff;
      bits += 5;
      if (bits >= 8) {
        out += String.fromCharCode((acc >> (bits - 8)) & 0xff);
        bits -= 8;
      }
    }
    if (end) break;
  }
  return out;
}

/** goutils.WrapCustom: lines of at most `width` bytes broken at spaces; long words cut only when asked. */
function wrap(s: string, width: number, newline: string, cutLongWords: boolean): string {
  if (s === "") return "";
  const nl = newline === "" ? "\n" : newline;
  const w = Math.max(1, width);
  let out = "";
  let offset = 0;
  while (s.length - offset > w) {
    if (s[offset] === " ") {
      offset++;
      continue;
    }
    const space = s.slice(offset, w + offset + 1).lastIndexOf(" ");
    if (space >= 0) {
      out += s.slice(offset, offset + space) + nl;
      offset += space + 1;
    } else if (cutLongWords) {
      out += s.slice(offset, offset + w) + nl;
      offset += w;
    } else {
      const next = s.indexOf(" ", offset + w);
      if (next < 0) {
        out += s.slice(offset);
        offset = s.length;
      } else {
        out += s.slice(offset, next) + nl;
        offset = next + 1;
      }
    }
  }
  return out + s.slice(offset);
}

// The Master Password algorithm (v3, Lyndir) that Sprig's derivePassword follows: its scope, the
// password templates of each type and the characters of each template letter.
const MPW_SCOPE = "com.lyndir.masterpassword";
const MPW_TEMPLATES: Record<string, string[]> = {
  maximum: ["anoxxxxxxxxxxxxxxxxx", "axxxxxxxxxxxxxxxxxno"],
  long: [
    ..."CvcvnoCvcvCvcv CvcvCvcvnoCvcv CvcvCvcvCvcvno CvccnoCvcvCvcv CvccCvcvnoCvcv CvccCvcvCvcvno".split(" "),
    ..."CvcvnoCvccCvcv CvcvCvccnoCvcv CvcvCvccCvcvno CvcvnoCvcvCvcc CvcvCvcvnoCvcc CvcvCvcvCvccno".split(" "),
    ..."CvccnoCvccCvcv CvccCvccnoCvcv CvccCvccCvcvno CvcvnoCvccCvcc CvcvCvccnoCvcc CvcvCvccCvccno".split(" "),
    ..."CvccnoCvcvCvcc CvccCvcvnoCvcc CvccCvcvCvccno".split(" "),
  ],
  medium: ["CvcnoCvc", "CvcCvcno"],
  short: ["Cvcn"],
  basic: ["aaanaaan", "aannaaan", "aaannaaa"],
  pin: ["nnnn"],
};
const MPW_CHARACTERS: Record<string, string> = {
  V: "AEIOU",
  C: "BCDFGHJKLMNPQRSTVWXYZ",
  v: "aeiou",
  c: "bcdfghjklmnpqrstvwxyz",
  A: "AEIOUBCDFGHJKLMNPQRSTVWXYZ",
  a: "AEIOUaeiouBCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz",
  n: "0123456789",
  o: "@&%?,=[]_:-+*$#!'^~;()/.",
  x: "AEIOUaeiouBCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz0123456789!@#$%^&*()",
};

/** Sprig's derivePassword counter type user site: Master Password v3 (scrypt N=32768 r=8 p=2, HMAC-SHA-256). */
function derivePassword(counter: bigint, type: string, password: string, user: string, site: string): string {
  const templates = Object.hasOwn(MPW_TEMPLATES, type) ? MPW_TEMPLATES[type]! : undefined;
  if (!templates) return `cannot find password template ${type}`;
  if (counter < 0n || counter > 0xffffffffn) return err("counter overflows uint32");
  const u32 = (n: number | bigint) => {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(Number(n));
    return b;
  };
  const bytes = (s: string) => Buffer.from(s, "latin1");
  const salt = Buffer.concat([bytes(MPW_SCOPE), u32(user.length), bytes(user)]);
  const key = scryptSync(bytes(password), salt, 64, { N: 32768, r: 8, p: 2, maxmem: 64 * 1024 * 1024 });
  const seed = createHmac("sha256", key)
    .update(Buffer.concat([bytes(MPW_SCOPE), u32(site.length), bytes(site), u32(counter)]))
    .digest();
  const template = templates[seed[0]! % templates.length]!;
  return [...template]
    .map((letter, i) => {
      const chars = MPW_CHARACTERS[letter]!;
      return chars[seed[i + 1]! % chars.length];
    })
    .join("");
}

/** Sprig's decryptAES: AES-256-CBC, the key the password's bytes zero-padded to 32, the IV first, PKCS #7 padding cut. */
function decryptAES(ciphertext: string, password: string): string {
  const data = b64decode(ciphertext);
  if (typeof data !== "string") return err(data.error);
  if (data.length < 16) return err("ciphertext too short");
  if (data.length % 16 !== 0) return err("ciphertext is not a multiple of the block size");
  const key = Buffer.alloc(32);
  Buffer.from(password, "latin1").copy(key, 0, 0, 32);
  const decipher = createDecipheriv("aes-256-cbc", key, Buffer.from(data.slice(0, 16), "latin1"));
  decipher.setAutoPadding(false);
  const plain = Buffer.concat([decipher.update(Buffer.from(data.slice(16), "latin1")), decipher.final()]);
  const padding = plain.length ? plain[plain.length - 1]! : 0;
  if (padding > plain.length) return err("runtime error: slice bounds out of range");
  return plain.subarray(0, plain.length - padding).toString("latin1");
}

/** strings.Split: "" splits into UTF-8 sequences. */
function split(s: string, sep: string, n = -1): string[] {
  if (n === 0) return [];
  if (sep === "") {
    const r = runes(s);
    if (n > 0 && r.length > n) return [...r.slice(0, n - 1), r.slice(n - 1).join("")];
    return r;
  }
  const parts = s.split(sep);
  if (n > 0 && parts.length > n) return [...parts.slice(0, n - 1), parts.slice(n - 1).join(sep)];
  return parts;
}

function indexMap(parts: string[]): GoMap {
  return new GoMap(new Map(parts.map((p, i) => [`_${i}`, p])), "string");
}

/** unicode.ToTitle differs from ToUpper only on the Latin digraphs (ǆ → ǅ). */
const TITLE_DIGRAPHS = new Map([
  [0x1c4, 0x1c5],
  [0x1c5, 0x1c5],
  [0x1c6, 0x1c5],
  [0x1c7, 0x1c8],
  [0x1c8, 0x1c8],
  [0x1c9, 0x1c8],
  [0x1ca, 0x1cb],
  [0x1cb, 0x1cb],
  [0x1cc, 0x1cb],
  [0x1f1, 0x1f2],
  [0x1f2, 0x1f2],
  [0x1f3, 0x1f2],
]);

/** strings.Title's isSeparator. */
function isSeparator(ch: string): boolean {
  if (ch.codePointAt(0)! <= 0x7f) return !/[0-9A-Za-z_]/.test(ch);
  if (/[\p{L}\p{Nd}]/u.test(ch)) return false;
  return /^[\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]$/.test(ch);
}

/** strings.Title: the first letter of each word in title case (bytes that are not UTF-8 become U+FFFD). */
function title(bin: string): string {
  let prev = " ";
  let out = "";
  for (const ch of text(bin)) {
    if (isSeparator(prev)) {
      const digraph = TITLE_DIGRAPHS.get(ch.codePointAt(0)!);
      out += digraph === undefined ? caseRune(ch, true) : String.fromCodePoint(digraph);
    } else out += ch;
    prev = ch;
  }
  return binary(out);
}

function filterPEM(pemType: string, input: string): string {
  const begin = input.indexOf("-----BEGIN");
  let data = begin < 0 ? input : input.slice(begin);
  let blocks = "";
  let found = false;
  for (;;) {
    const [block, rest] = pemDecode(data);
    data = rest;
    if (!block) break;
    if (block.type.toLowerCase() !== pemType.toLowerCase()) continue;
    if (block.headers) err("PEM headers are not supported");
    found = true;
    blocks += pemEncode(block.type, block.bytes);
  }
  if (!found && data.length !== 0) err("error filtering pem: found junk");
  return blocks;
}

function firstBlockDer(input: string, what: string): Buffer {
  const begin = input.indexOf("-----BEGIN");
  const [block] = pemDecode(begin < 0 ? input : input.slice(begin));
  if (!block) return err(`failed to decode PEM block`);
  if (what && block.type !== what) return err(`failed to parse certificate`);
  return Buffer.from(block.bytes, "latin1");
}

function certSANs(input: string): Value {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(firstBlockDer(input, ""));
  } catch (e) {
    if (e instanceof TemplateFuncError) throw e;
    return err("failed to parse certificate");
  }
  const raw = cert.subjectAltName ?? "";
  if (raw.includes('"')) return err("subject alternative names with quoted characters are not supported");
  const by: Record<string, string[]> = { DNS: [], IP: [], email: [], URI: [] };
  for (const part of raw ? raw.split(", ") : []) {
    const colon = part.indexOf(":");
    const kind = part.slice(0, colon);
    const value = part.slice(colon + 1);
    if (kind === "DNS") by.DNS!.push(value);
    else if (kind === "IP Address") {
      if (!/^\d+\.\d+\.\d+\.\d+$/.test(value)) return err("IPv6 subject alternative names are not supported");
      by.IP!.push(value);
    } else if (kind === "email") by.email!.push(value);
    else if (kind === "URI") by.URI!.push(value);
  }
  return [...by.DNS!, ...by.IP!, ...by.email!, ...by.URI!].map(binary);
}

function jwk(input: string, priv: boolean): string {
  let key: Record<string, unknown>;
  try {
    const parsed = JSON.parse(text(input)) as unknown;
    if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) throw new Error();
    key = parsed as Record<string, unknown>;
  } catch {
    return err("failed to parse JWK");
  }
  const isPrivate = "d" in key;
  if (priv !== isPrivate || key.kty === "oct")
    return err(priv ? "x509: unknown key type while marshaling PKCS#8" : "x509: unsupported public key type");
  try {
    if (priv) {
      const der = createPrivateKey({ key: key as never, format: "jwk" }).export({
        type: "pkcs8",
        format: "der",
      });
      return pemEncode("PRIVATE KEY", der.toString("latin1"));
    }
    const der = createPublicKey({ key: key as never, format: "jwk" }).export({ type: "spki", format: "der" });
    return pemEncode("PUBLIC KEY", der.toString("latin1"));
  } catch {
    return err("failed to parse JWK");
  }
}

// ---- dates (Sprig's date.go over Go's time; Local is UTC, as in ESO's container)

/** An integer argument: a Go int and int64 behave differently in duration/durationRound, and both are a bigint here. */
const ambiguousInt = (name: string): never =>
  err(
    `${name} of an integer is not supported (ESO gives 0s for an int, the duration for an int64): pass a string`,
  );

/** Sprig's dateInZone: a time, or Unix seconds, else now; an unknown zone is UTC. */
function dateInZone(layout: string, date: Value, zone: string): string {
  const t = date instanceof GoTime ? date : typeof date === "bigint" ? gotime.fromUnix(date) : gotime.now();
  return gotime.format(t.in(gotime.loadLocation(zone)), layout);
}

function dateModify(modifier: string, date: GoTime): GoTime {
  let d: bigint;
  try {
    d = gotime.parseDuration(modifier);
  } catch {
    return date;
  }
  return date.add(d);
}

function ago(date: Value): string {
  const t = date instanceof GoTime ? date : typeof date === "bigint" ? gotime.fromUnix(date) : gotime.now();
  return gotime.durationString(gotime.roundDuration(gotime.since(t), gotime.SECOND));
}

function duration(sec: Value): string {
  let n = 0n;
  if (typeof sec === "string") {
    // strconv.ParseInt(s, 10, 64): a sign and decimal digits; out of range saturates
    if (/^[+-]?\d+$/.test(sec)) n = BigInt(sec);
    n = n > 2n ** 63n - 1n ? 2n ** 63n - 1n : n < -(2n ** 63n) ? -(2n ** 63n) : n;
  } else if (typeof sec === "bigint") return ambiguousInt("duration");
  return gotime.durationString(BigInt.asIntN(64, n * gotime.SECOND));
}

const DURATION_UNITS: [bigint, string][] = [
  [3600n * 24n * 365n * gotime.SECOND, "y"],
  [3600n * 24n * 30n * gotime.SECOND, "mo"],
  [3600n * 24n * gotime.SECOND, "d"],
  [3600n * gotime.SECOND, "h"],
  [60n * gotime.SECOND, "m"],
  [gotime.SECOND, "s"],
];

function durationRound(v: Value): string {
  let d = 0n;
  if (typeof v === "string") {
    try {
      d = gotime.parseDuration(v);
    } catch {
      d = 0n;
    }
  } else if (typeof v === "bigint") return ambiguousInt("durationRound");
  else if (v instanceof GoTime) d = gotime.since(v);
  const u = d < 0n ? -d : d;
  for (const [size, unit] of DURATION_UNITS) if (u > size) return `${u / size}${unit}`;
  return "0s";
}

function toDate(layout: string, s: string): GoTime {
  try {
    return gotime.parse(layout, s);
  } catch (e) {
    if (e instanceof TemplateFuncError) return gotime.ZERO_TIME;
    throw e;
  }
}

// ---- text/template builtins

type Kind = "bool" | "int" | "float" | "string" | "invalid" | "other";
const kind = (v: Value): Kind =>
  v === null
    ? "invalid"
    : typeof v === "boolean"
      ? "bool"
      : typeof v === "bigint"
        ? "int"
        : typeof v === "number"
          ? "float"
          : typeof v === "string"
            ? "string"
            : "other";

function eq(a: Value, ...others: Value[]): boolean {
  if (others.length === 0) return err("missing argument for comparison");
  const k1 = kind(a);
  for (const b of others) {
    const k2 = kind(b);
    if (k1 !== k2) {
      if (k1 !== "invalid" && k2 !== "invalid") err("incompatible types for comparison");
      continue;
    }
    if (k1 === "other") err("non-comparable types");
    if (a === b) return true;
  }
  return false;
}

function lt(a: Value, b: Value): boolean {
  const k1 = kind(a);
  const k2 = kind(b);
  if (k1 === "invalid" || k1 === "other" || k2 === "invalid" || k2 === "other")
    return err("invalid type for comparison");
  if (k1 !== k2) return err("incompatible types for comparison");
  if (k1 === "bool") return err("invalid type for comparison");
  return (a as string | number | bigint) < (b as string | number | bigint);
}

function indexArg(i: Value, len: number): number {
  if (i === null) return err("cannot index slice/array with nil");
  if (typeof i !== "bigint") return err(`cannot index slice/array with type ${typeName(i)}`);
  if (i < 0n || i >= BigInt(len)) return err("index out of range");
  return Number(i);
}

function index(item: Value, ...indexes: Value[]): Value {
  if (item === null) return err("index of untyped nil");
  for (const i of indexes) {
    if (item === null) return err("index of nil pointer");
    if (typeof item === "string") item = BigInt(item.charCodeAt(indexArg(i, item.length)));
    else if (Array.isArray(item)) item = item[indexArg(i, item.length)]!;
    else if (item instanceof GoMap) {
      if (typeof i !== "string") return err(`value has type ${typeName(i)}; should be string`);
      const v: Value | undefined = item.m.get(i);
      item = v !== undefined ? v : item.elem === "string" ? "" : null;
    } else return err(`can't index item of type ${typeName(item)}`);
  }
  return item;
}

function htmlEscape(s: string): string {
  return s.replace(/[<>&'"\0]/g, (c) =>
    c === "<"
      ? "&lt;"
      : c === ">"
        ? "&gt;"
        : c === "&"
          ? "&amp;"
          : c === "'"
            ? "&#39;"
            : c === '"'
              ? "&#34;"
              : "\xef\xbf\xbd",
  );
}

function jsEscape(s: string): string {
  let out = "";
  for (const r of runes(s)) {
    if (r.length > 1 || r > "\x7f") {
      const cp = r.length === 1 ? 0xfffd : text(r).codePointAt(0)!;
      out += /^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u.test(String.fromCodePoint(cp))
        ? r.length === 1
          ? "\xef\xbf\xbd"
          : r
        : `\\u${cp.toString(16).toUpperCase().padStart(4, "0")}`;
      continue;
    }
    const c = r.charCodeAt(0);
    if (r === "\\") out += "\\\\";
    else if (r === "'") out += "\\'";
    else if (r === '"') out += '\\"';
    else if (r === "<" || r === ">" || r === "&" || r === "=" || c < 0x20)
      out += `\\u${c.toString(16).toUpperCase().padStart(4, "0")}`;
    else out += r;
  }
  return out;
}

function queryEscape(s: string): string {
  let out = "";
  for (const c of s) {
    if (/[A-Za-z0-9\-_.~]/.test(c)) out += c;
    else if (c === " ") out += "+";
    else out += "%" + c.charCodeAt(0).toString(16).toUpperCase().padStart(2, "0");
  }
  return out;
}

/** The string the escaper builtins work on: one string argument as it is, else fmt.Sprint of all. */
const escaperArg = (args: Value[]) =>
  args.length === 1 && typeof args[0] === "string" ? args[0] : sprint(args);

// ---- JSON and YAML

function mustToJson(v: Value, opts: { raw?: boolean; indent?: string } = {}): string {
  return toJson(v, opts);
}

function swallow(f: () => string): string {
  try {
    return f();
  } catch (e) {
    if (e instanceof TemplateFuncError && !/nested deeper/.test(e.message)) return "";
    throw e;
  }
}

function fromYaml(s: string): Value {
  let parsed: unknown;
  try {
    parsed = parseYaml(text(s), {
      version: "1.1",
      customTags: (tags) =>
        tags.filter((t) => typeof t === "object" && t.tag !== "tag:yaml.org,2002:timestamp"),
      maxAliasCount: 100,
    });
  } catch {
    return err("input is not valid YAML");
  }
  if (parsed === null || parsed === undefined) return new GoMap();
  if (typeof parsed !== "object" || Array.isArray(parsed)) return err("input is not a YAML mapping");
  // sigs.k8s.io/yaml goes through JSON: numbers become float64, strings stay bytes.
  const toBinary = (v: unknown): unknown =>
    typeof v === "string"
      ? binary(v)
      : typeof v === "bigint"
        ? Number(v)
        : Array.isArray(v)
          ? v.map(toBinary)
          : v !== null && typeof v === "object"
            ? Object.fromEntries(Object.entries(v).map(([k, e]) => [binary(k), toBinary(e)]))
            : v;
  return fromPlain(toBinary(parsed));
}

// ---- the table

const hash = (algo: string) =>
  fn(["string"], (s: string) => createHash(algo).update(s, "latin1").digest("hex"));

function adler32(s: string): string {
  let a = 1;
  let b = 0;
  for (let i = 0; i < s.length; i++) {
    a = (a + s.charCodeAt(i)) % 65521;
    b = (b + a) % 65521;
  }
  return String((b * 65536 + a) >>> 0);
}

function arith(op: (a: bigint, b: bigint) => bigint) {
  return (a: Value, b: Value): bigint => int64(op(toInt64(a), toInt64(b)));
}

function divide(a: bigint, b: bigint): bigint {
  if (b === 0n) return err("integer divide by zero");
  return a / b;
}

function modulo(a: bigint, b: bigint): bigint {
  if (b === 0n) return err("integer divide by zero");
  return a % b;
}

function dig(...args: Value[]): Value {
  const m = args[args.length - 1];
  const dflt = args[args.length - 2] ?? null;
  if (!(m instanceof GoMap))
    return err(`wrong type for value; expected map[string]interface {}; got ${typeName(m ?? null)}`);
  const keys = args.slice(0, -2);
  let cur: Value = m;
  for (const k of keys) {
    if (typeof k !== "string") return err("keys must be strings");
    if (!(cur instanceof GoMap))
      return err("interface conversion: interface {} is not map[string]interface {}");
    const next = cur.m.get(k);
    if (next === undefined) return dflt;
    cur = next;
  }
  return cur;
}

/**
 * A Sprig regex function taking the pattern first, and its must… form: the plain one fails with Go's
 * MustCompile panic text, the must… one with the compile error (both end the render here).
 */
function regexFuncs(
  name: string,
  params: Param[],
  body: (compiled: RE2JS, ...args: never[]) => Value,
): [string, Func][] {
  const call =
    (compile: (pattern: string) => RE2JS) =>
    (pattern: string, ...args: never[]) =>
      body(compile(pattern), ...args);
  const must = `must${name[0]!.toUpperCase()}${name.slice(1)}`;
  return [
    [name, fn(["string", ...params], call(re.mustCompile))],
    [must, fn(["string", ...params], call(re.compile))],
  ];
}

export const FUNCS = new Map<string, Func>([
  // text/template builtins (and/or are evaluated lazily by the executor)
  ["not", fn(["value"], (v: Value) => !truth(v))],
  [
    "len",
    fn(["value"], (v: Value) => {
      if (v === null) return err("len of nil pointer");
      if (typeof v === "string" || Array.isArray(v)) return BigInt(v.length);
      if (v instanceof GoMap) return BigInt(v.m.size);
      return err(`len of type ${typeName(v)}`);
    }),
  ],
  ["index", fn(["value"], index, "value")],
  ["print", fn([], (...a: Value[]) => sprint(a), "any")],
  ["printf", fn(["string"], (f: string, ...a: Value[]) => sprintf(f, a), "any")],
  ["println", fn([], (...a: Value[]) => sprintln(a), "any")],
  ["eq", fn(["value"], eq, "value")],
  ["ne", fn(["value", "value"], (a: Value, b: Value) => !eq(a, b))],
  ["lt", fn(["value", "value"], lt)],
  ["le", fn(["value", "value"], (a: Value, b: Value) => lt(a, b) || eq(a, b))],
  ["gt", fn(["value", "value"], (a: Value, b: Value) => !(lt(a, b) || eq(a, b)))],
  ["ge", fn(["value", "value"], (a: Value, b: Value) => !lt(a, b))],
  ["html", fn([], (...a: Value[]) => htmlEscape(escaperArg(a)), "any")],
  ["js", fn([], (...a: Value[]) => jsEscape(escaperArg(a)), "any")],
  ["urlquery", fn([], (...a: Value[]) => queryEscape(escaperArg(a)), "any")],

  // Sprig: strings
  ["b64enc", fn(["string"], (s: string) => Buffer.from(s, "latin1").toString("base64"))],
  [
    "b64dec",
    fn(["string"], (s: string) => {
      const d = b64decode(s);
      return typeof d === "string" ? d : d.error;
    }),
  ],
  ["upper", fn(["string"], (s: string) => changeCase(s, true))],
  ["title", fn(["string"], title)],
  ["lower", fn(["string"], (s: string) => changeCase(s, false))],
  ["trim", fn(["string"], trimSpace)],
  [
    "trimAll",
    fn(["string", "string"], (cut: string, s: string) => {
      const set = new Set(runes(cut));
      const r = runes(s);
      let a = 0;
      let b = r.length;
      while (a < b && set.has(r[a]!)) a++;
      while (b > a && set.has(r[b - 1]!)) b--;
      return r.slice(a, b).join("");
    }),
  ],
  [
    "trimPrefix",
    fn(["string", "string"], (p: string, s: string) => (s.startsWith(p) ? s.slice(p.length) : s)),
  ],
  [
    "trimSuffix",
    fn(["string", "string"], (p: string, s: string) => (p && s.endsWith(p) ? s.slice(0, -p.length) : s)),
  ],
  [
    "trunc",
    fn(["int", "string"], (c: bigint, s: string) => {
      const n = Number(c);
      if (n < 0 && s.length + n > 0) return s.slice(s.length + n);
      if (n >= 0 && s.length > n) return s.slice(0, n);
      return s;
    }),
  ],
  [
    "substr",
    fn(["int", "int", "string"], (start: bigint, end: bigint, s: string) => {
      const a = Number(start);
      const b = Number(end);
      if (a < 0) return b > s.length || b < 0 ? err("slice bounds out of range") : s.slice(0, b);
      if (b < 0 || b > s.length) return a > s.length ? err("slice bounds out of range") : s.slice(a);
      if (a > b) return err("slice bounds out of range");
      return s.slice(a, b);
    }),
  ],
  [
    "repeat",
    fn(["int", "string"], (n: bigint, s: string) => {
      if (n < 0n) return err("strings: negative Repeat count");
      if (BigInt(s.length) * n > 16n * 1024n * 1024n) return err("result too large");
      return s.repeat(Number(n));
    }),
  ],
  [
    "nospace",
    fn(["string"], (s: string) =>
      runes(s)
        .filter((r) => trimSpace(r) !== "")
        .join(""),
    ),
  ],
  ["contains", fn(["string", "string"], (sub: string, s: string) => s.includes(sub))],
  ["hasPrefix", fn(["string", "string"], (p: string, s: string) => s.startsWith(p))],
  ["hasSuffix", fn(["string", "string"], (p: string, s: string) => s.endsWith(p))],
  [
    "quote",
    fn(
      [],
      (...a: Value[]) =>
        a
          .filter((v) => v !== null)
          .map((v) => quote(strval(v)))
          .join(" "),
      "any",
    ),
  ],
  [
    "squote",
    fn(
      [],
      (...a: Value[]) =>
        a
          .filter((v) => v !== null)
          .map((v) => `'${formatValue(v)}'`)
          .join(" "),
      "any",
    ),
  ],
  [
    "cat",
    fn(
      [],
      (...a: Value[]) =>
        a
          .filter((v) => v !== null)
          .map(formatValue)
          .join(" "),
      "any",
    ),
  ],
  [
    "indent",
    fn(["int", "string"], (n: bigint, s: string) => {
      if (n > 1_000_000n) return err("indent too large");
      const pad = " ".repeat(Math.max(0, Number(n)));
      return pad + s.split("\n").join("\n" + pad);
    }),
  ],
  [
    "nindent",
    fn(["int", "string"], (n: bigint, s: string) => {
      if (n > 1_000_000n) return err("indent too large");
      const pad = " ".repeat(Math.max(0, Number(n)));
      return "\n" + pad + s.split("\n").join("\n" + pad);
    }),
  ],
  [
    "replace",
    fn(["string", "string", "string"], (old: string, rep: string, s: string) =>
      old === "" ? rep + runes(s).join(rep) + (s.length ? rep : "") : s.split(old).join(rep),
    ),
  ],
  [
    "plural",
    fn(["string", "string", "int"], (one: string, many: string, n: bigint) => (n === 1n ? one : many)),
  ],
  ["sha1sum", hash("sha1")],
  ["sha256sum", hash("sha256")],
  ["sha512sum", hash("sha512")],
  ["adler32sum", fn(["string"], adler32)],
  ["toString", fn(["any"], strval)],
  ["toStrings", fn(["any"], (v: Value) => strslice(v))],
  ["split", fn(["string", "string"], (sep: string, s: string) => indexMap(split(s, sep)))],
  ["splitList", fn(["string", "string"], (sep: string, s: string) => split(s, sep))],
  [
    "splitn",
    fn(["string", "int", "string"], (sep: string, n: bigint, s: string) =>
      indexMap(split(s, sep, Number(n))),
    ),
  ],
  ["join", fn(["string", "any"], (sep: string, v: Value) => strslice(v).join(sep))],

  // Sprig: numbers
  [
    "atoi",
    fn(["string"], (s: string) =>
      /^[+-]?\d+$/.test(s) ? (parseGoInt(s.replace(/^([+-]?)0+(?=\d)/, "$1")) ?? 0n) : 0n,
    ),
  ],
  ["int", fn(["any"], toInt64)],
  ["int64", fn(["any"], toInt64)],
  ["float64", fn(["any"], toFloat64)],
  ["add", fn([], (...a: Value[]) => int64(a.reduce<bigint>((s, v) => s + toInt64(v), 0n)), "any")],
  ["add1", fn(["any"], (v: Value) => int64(toInt64(v) + 1n))],
  [
    "sub",
    fn(
      ["any", "any"],
      arith((a, b) => a - b),
    ),
  ],
  [
    "mul",
    fn(
      ["any"],
      (a: Value, ...r: Value[]) => r.reduce<bigint>((p, v) => int64(p * toInt64(v)), toInt64(a)),
      "any",
    ),
  ],
  ["div", fn(["any", "any"], arith(divide))],
  ["mod", fn(["any", "any"], arith(modulo))],
  [
    "max",
    fn(
      ["any"],
      (a: Value, ...r: Value[]) => r.reduce<bigint>((m, v) => (toInt64(v) > m ? toInt64(v) : m), toInt64(a)),
      "any",
    ),
  ],
  [
    "min",
    fn(
      ["any"],
      (a: Value, ...r: Value[]) => r.reduce<bigint>((m, v) => (toInt64(v) < m ? toInt64(v) : m), toInt64(a)),
      "any",
    ),
  ],
  [
    "until",
    fn(["int"], (n: bigint) => {
      if (n > 100_000n || n < -100_000n) return err("count too large");
      const c = Number(n);
      return Array.from({ length: Math.abs(c) }, (_, i) => BigInt(c < 0 ? -i : i));
    }),
  ],

  // Sprig: defaults and flow
  [
    "default",
    fn(
      ["any"],
      (d: Value, ...given: Value[]) => (given.length === 0 || empty(given[0]!) ? d : given[0]!),
      "any",
    ),
  ],
  ["empty", fn(["any"], empty)],
  ["coalesce", fn([], (...a: Value[]) => a.find((v) => !empty(v)) ?? null, "any")],
  ["all", fn([], (...a: Value[]) => a.every((v) => !empty(v)), "any")],
  ["any", fn([], (...a: Value[]) => a.some((v) => !empty(v)), "any")],
  ["ternary", fn(["any", "any", "bool"], (t: Value, f: Value, c: boolean) => (c ? t : f))],
  ["compact", fn(["any"], (v: Value) => list(v, "compact").filter((e) => !empty(e)))],

  // Sprig: JSON; ESO: YAML
  [
    "fromJson",
    fn(["string"], (s: string) => {
      try {
        return parseJson(s);
      } catch (e) {
        if (e instanceof TemplateFuncError && /nested deeper/.test(e.message)) throw e;
        return null;
      }
    }),
  ],
  ["mustFromJson", fn(["string"], parseJson)],
  ["toJson", fn(["any"], (v: Value) => swallow(() => mustToJson(v)))],
  ["mustToJson", fn(["any"], (v: Value) => mustToJson(v))],
  ["toPrettyJson", fn(["any"], (v: Value) => swallow(() => mustToJson(v, { indent: "  " })))],
  ["mustToPrettyJson", fn(["any"], (v: Value) => mustToJson(v, { indent: "  " }))],
  ["toRawJson", fn(["any"], (v: Value) => mustToJson(v, { raw: true }))],
  ["mustToRawJson", fn(["any"], (v: Value) => mustToJson(v, { raw: true }))],
  ["fromYaml", fn(["string"], fromYaml)],
  ["toYaml", fn(["any"], toYaml)],

  // Sprig: dicts and lists
  [
    "dict",
    fn(
      [],
      (...a: Value[]) => {
        const m = new Map<string, Value>();
        for (let k = 0; k < a.length; k += 2) m.set(strval(a[k]!), k + 1 < a.length ? a[k + 1]! : "");
        return new GoMap(m);
      },
      "any",
    ),
  ],
  ["list", fn([], (...a: Value[]) => a, "any")],
  ["tuple", fn([], (...a: Value[]) => a, "any")],
  ["get", fn(["map", "string"], (m: GoMap, k: string) => m.m.get(k) ?? "")],
  [
    "set",
    fn(["map", "string", "any"], (m: GoMap, k: string, v: Value) => {
      m.m.set(k, v);
      return m;
    }),
  ],
  [
    "unset",
    fn(["map", "string"], (m: GoMap, k: string) => {
      m.m.delete(k);
      return m;
    }),
  ],
  ["merge", fn(["map"], (d: GoMap, ...s: GoMap[]) => merge(false, false, d, ...s), "map")],
  ["mustMerge", fn(["map"], (d: GoMap, ...s: GoMap[]) => merge(false, true, d, ...s), "map")],
  ["mergeOverwrite", fn(["map"], (d: GoMap, ...s: GoMap[]) => merge(true, false, d, ...s), "map")],
  ["mustMergeOverwrite", fn(["map"], (d: GoMap, ...s: GoMap[]) => merge(true, true, d, ...s), "map")],
  ["hasKey", fn(["map", "string"], (m: GoMap, k: string) => m.m.has(k))],
  ["keys", fn([], (...ms: Value[]) => ms.flatMap((m) => (m as GoMap).sortedKeys()), "map")],
  ["values", fn(["map"], (m: GoMap) => m.sortedKeys().map((k) => m.m.get(k)!))],
  [
    "pluck",
    fn(
      ["string"],
      (k: string, ...ms: Value[]) =>
        ms.filter((m) => (m as GoMap).m.has(k)).map((m) => (m as GoMap).m.get(k)!),
      "map",
    ),
  ],
  [
    "pick",
    fn(
      ["map"],
      (m: GoMap, ...ks: Value[]) => new GoMap(new Map([...m.m].filter(([k]) => ks.includes(k)))),
      "string",
    ),
  ],
  [
    "omit",
    fn(
      ["map"],
      (m: GoMap, ...ks: Value[]) => new GoMap(new Map([...m.m].filter(([k]) => !ks.includes(k)))),
      "string",
    ),
  ],
  ["dig", fn(["any", "any"], dig, "any")],
  [
    "first",
    fn(["any"], (v: Value) => {
      const l = list(v, "find first");
      return l.length ? l[0]! : null;
    }),
  ],
  [
    "last",
    fn(["any"], (v: Value) => {
      const l = list(v, "find last");
      return l.length ? l[l.length - 1]! : null;
    }),
  ],
  [
    "rest",
    fn(["any"], (v: Value) => {
      const l = list(v, "find rest");
      return l.length ? l.slice(1) : null;
    }),
  ],
  [
    "initial",
    fn(["any"], (v: Value) => {
      const l = list(v, "find initial");
      return l.length ? l.slice(0, -1) : null;
    }),
  ],
  ["append", fn(["any", "any"], (v: Value, e: Value) => [...list(v, "push"), e])],
  ["push", fn(["any", "any"], (v: Value, e: Value) => [...list(v, "push"), e])],
  ["prepend", fn(["any", "any"], (v: Value, e: Value) => [e, ...list(v, "prepend")])],
  ["reverse", fn(["any"], (v: Value) => [...list(v, "reverse")].reverse())],
  [
    "uniq",
    fn(["any"], (v: Value) => {
      const out: Value[] = [];
      for (const e of list(v, "uniq")) if (!out.some((o) => deepEqual(o, e))) out.push(e);
      return out;
    }),
  ],
  [
    "without",
    fn(
      ["any"],
      (v: Value, ...omit: Value[]) => list(v, "without").filter((e) => !omit.some((o) => deepEqual(o, e))),
      "any",
    ),
  ],
  [
    "has",
    fn(["any", "any"], (needle: Value, hay: Value) =>
      hay === null ? false : list(hay, "has").some((e) => deepEqual(e, needle)),
    ),
  ],
  [
    "concat",
    fn(
      [],
      (...ls: Value[]) =>
        ls.flatMap((l) => (Array.isArray(l) ? l : err(`Cannot concat type ${typeName(l)} as list`))),
      "any",
    ),
  ],
  [
    "sortAlpha",
    fn(["any"], (v: Value) => {
      if (!Array.isArray(v)) return [strval(v)];
      return strslice(v).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    }),
  ],

  // Sprig: dates
  ["now", fn([], gotime.now)],
  ["date", fn(["string", "any"], (f: string, d: Value) => dateInZone(f, d, "Local"))],
  ["dateInZone", fn(["string", "any", "string"], dateInZone)],
  ["date_in_zone", fn(["string", "any", "string"], dateInZone)],
  ["htmlDate", fn(["any"], (d: Value) => dateInZone("2006-01-02", d, "Local"))],
  ["htmlDateInZone", fn(["any", "string"], (d: Value, z: string) => dateInZone("2006-01-02", d, z))],
  ["dateModify", fn(["string", "time"], dateModify)],
  ["date_modify", fn(["string", "time"], dateModify)],
  ["mustDateModify", fn(["string", "time"], (m: string, d: GoTime) => d.add(gotime.parseDuration(m)))],
  ["must_date_modify", fn(["string", "time"], (m: string, d: GoTime) => d.add(gotime.parseDuration(m)))],
  ["toDate", fn(["string", "string"], toDate)],
  ["mustToDate", fn(["string", "string"], gotime.parse)],
  ["unixEpoch", fn(["time"], (d: GoTime) => d.unix().toString())],
  ["ago", fn(["any"], ago)],
  ["duration", fn(["any"], duration)],
  ["durationRound", fn(["any"], durationRound)],

  // Sprig: semantic versions (Masterminds/semver v3)
  ["semver", fn(["string"], newVersion)],
  ["semverCompare", fn(["string", "string"], semverCompare)],

  // Sprig: paths (path and path/filepath, the same on Linux)
  ["base", fn(["string"], paths.base)],
  ["osBase", fn(["string"], paths.base)],
  ["dir", fn(["string"], paths.dir)],
  ["osDir", fn(["string"], paths.dir)],
  ["clean", fn(["string"], paths.clean)],
  ["osClean", fn(["string"], paths.clean)],
  ["ext", fn(["string"], paths.ext)],
  ["osExt", fn(["string"], paths.ext)],
  ["isAbs", fn(["string"], paths.isAbs)],
  ["osIsAbs", fn(["string"], paths.isAbs)],

  // Sprig: more strings, numbers, lists, reflection, crypto
  ["hello", fn([], () => "Hello!")],
  ["abbrev", fn(["int", "string"], (w: bigint, s: string) => (w < 4n ? s : abbreviate(s, 0, Number(w))))],
  [
    "abbrevboth",
    fn(["int", "int", "string"], (left: bigint, right: bigint, s: string) =>
      right < 4n || (left > 0n && right < 7n) ? s : abbreviate(s, Number(left), Number(right)),
    ),
  ],
  ["initials", fn(["string"], initials)],
  ["swapcase", fn(["string"], swapCase)],
  ["untitle", fn(["string"], untitle)],
  ["snakecase", fn(["string"], toSnakeCase)],
  ["camelcase", fn(["string"], toPascalCase)],
  ["kebabcase", fn(["string"], toKebabCase)],
  ["b32enc", fn(["string"], b32enc)],
  ["hexdec", fn(["string"], hexdec)],
  ["b32dec", fn(["string"], b32dec)],
  ["wrap", fn(["int", "string"], (w: bigint, s: string) => wrap(s, Number(w), "", false))],
  [
    "wrapWith",
    fn(["int", "string", "string"], (w: bigint, nl: string, s: string) => wrap(s, Number(w), nl, true)),
  ],
  ["seq", fn([], seq, "int")],
  ["untilStep", fn(["int", "int", "int"], untilStep)],
  [
    "toDecimal",
    fn(["any"], (v: Value) => {
      // strconv.ParseInt(fmt.Sprint(v), 8, 64), 0 on any error
      const m = /^([+-]?)([0-7]+)$/.exec(formatValue(v));
      const n = m ? BigInt(`${m[1]}0o${m[2]}`) : 0n;
      return n === int64(n) ? n : 0n;
    }),
  ],
  [
    "maxf",
    fn(
      ["any"],
      (a: Value, ...r: Value[]) => r.reduce<number>((m, v) => Math.max(m, toFloat64(v)), toFloat64(a)),
      "any",
    ),
  ],
  [
    "minf",
    fn(
      ["any"],
      (a: Value, ...r: Value[]) => r.reduce<number>((m, v) => Math.min(m, toFloat64(v)), toFloat64(a)),
      "any",
    ),
  ],
  ["ceil", fn(["any"], (v: Value) => Math.ceil(toFloat64(v)))],
  ["floor", fn(["any"], (v: Value) => Math.floor(toFloat64(v)))],
  ["round", fn(["any", "int"], round, "float64")],
  ["add1f", fn(["any"], (v: Value) => decimalFold(decimal.add)(v, 1n))],
  ["addf", fn([], (...a: Value[]) => decimalFold(decimal.add)(0, ...a), "any")],
  ["subf", fn(["any"], decimalFold(decimal.sub), "any")],
  ["mulf", fn(["any"], decimalFold(decimal.mul), "any")],
  ["divf", fn(["any"], decimalFold(decimal.div), "any")],
  ["slice", fn(["any"], sliceList, "any")],
  ["chunk", fn(["int", "any"], chunk)],
  ["deepCopy", fn(["any"], deepCopy)],
  ["typeOf", fn(["any"], typeName)],
  ["typeIs", fn(["string", "any"], (t: string, v: Value) => t === typeName(v))],
  [
    "typeIsLike",
    fn(["string", "any"], (t: string, v: Value) => t === typeName(v) || `*${t}` === typeName(v)),
  ],
  ["kindOf", fn(["any"], kindOf)],
  ["kindIs", fn(["string", "any"], (k: string, v: Value) => k === kindOf(v))],
  ["deepEqual", fn(["any", "any"], deepEqual)],
  ["decryptAES", fn(["string", "string"], decryptAES)],
  // scrypt takes 32 MiB and most of a second: four calls at most in one template
  [
    "derivePassword",
    {
      ...fn(["int", "string", "string", "string", "string"], derivePassword),
      share: 0.25,
    },
  ],
  [
    "fail",
    fn(["string"], () => err("the template called fail (its message is not shown: it may contain a value)")),
  ],

  // ESO
  ["pemTruststoreToPKCS12", fn(["string"], (c: string) => pemTruststoreToPKCS12Pass(c, ""))],
  ["pemTruststoreToPKCS12Pass", fn(["string", "string"], pemTruststoreToPKCS12Pass)],
  ["filterPEM", fn(["string", "string"], filterPEM)],
  ["filterCertChain", fn(["string", "string"], filterCertChain)],
  ["rsaDecrypt", fn(["string", "string", "string", "string"], rsaDecrypt)],
  ["pkcs12key", fn(["string"], (s: string) => pkcs12keyPass("", s))],
  ["pkcs12keyPass", fn(["string", "string"], pkcs12keyPass)],
  ["pkcs12cert", fn(["string"], (s: string) => pkcs12certPass("", s))],
  ["pkcs12certPass", fn(["string", "string"], pkcs12certPass)],
  ["pemToPkcs12", fn(["string", "string"], (c: string, k: string) => pemToPkcs12Pass(c, k, ""))],
  ["pemToPkcs12Pass", fn(["string", "string", "string"], pemToPkcs12Pass)],
  ["fullPemToPkcs12", fn(["string", "string"], (c: string, k: string) => fullPemToPkcs12Pass(c, k, ""))],
  ["fullPemToPkcs12Pass", fn(["string", "string", "string"], fullPemToPkcs12Pass)],

  // Sprig: regular expressions, Go's RE2 (must* return the compile error, the others fail with Go's panic text)
  ...regexFuncs("regexMatch", ["string"], re.regexMatch),
  ...regexFuncs("regexFind", ["string"], re.regexFind),
  ...regexFuncs("regexFindAll", ["string", "int"], (r: RE2JS, s: string, n: bigint) =>
    re.regexFindAll(r, s, Number(n)),
  ),
  ...regexFuncs("regexReplaceAll", ["string", "string"], re.regexReplaceAll),
  ...regexFuncs("regexReplaceAllLiteral", ["string", "string"], re.regexReplaceAllLiteral),
  ...regexFuncs("regexSplit", ["string", "int"], (r: RE2JS, s: string, n: bigint) =>
    re.regexSplit(r, s, Number(n)),
  ),
  ["regexQuoteMeta", fn(["string"], re.regexQuoteMeta)],
  ["certSANs", fn(["string"], certSANs)],
  ["jwkPublicKeyPem", fn(["string"], (s: string) => jwk(s, false))],
  ["jwkPrivateKeyPem", fn(["string"], (s: string) => jwk(s, true))],
]);

// Sprig's other names for the same functions; its must… forms of the list functions fail exactly where the
// plain ones do (the plain ones panic, which text/template reports as the same error).
for (const [alias, name] of [
  ["trimall", "trimAll"],
  ["biggest", "max"],
  ["mustCompact", "compact"],
  ["mustAppend", "append"],
  ["mustPush", "push"],
  ["mustPrepend", "prepend"],
  ["mustFirst", "first"],
  ["mustRest", "rest"],
  ["mustLast", "last"],
  ["mustInitial", "initial"],
  ["mustReverse", "reverse"],
  ["mustUniq", "uniq"],
  ["mustWithout", "without"],
  ["mustHas", "has"],
  ["mustSlice", "slice"],
  ["mustChunk", "chunk"],
  ["mustDeepCopy", "deepCopy"],
] as const)
  FUNCS.set(alias, FUNCS.get(name)!);

/** Random on every render: refused. */
const RANDOM = [
  "randAlphaNum",
  "randAlpha",
  "randAscii",
  "randNumeric",
  "randInt",
  "randBytes",
  "shuffle",
  "uuidv4",
  "bcrypt",
  "htpasswd",
  "genPrivateKey",
  "buildCustomCert",
  "genCA",
  "genCAWithKey",
  "genSelfSignedCert",
  "genSelfSignedCertWithKey",
  "genSignedCert",
  "genSignedCertWithKey",
  "encryptAES",
];

/** Sprig functions ESO's vendored copy leaves out. */
const REMOVED = ["env", "expandenv", "getHostByName"];

/** Functions of ESO's list not written yet: refused by name rather than "not defined". */
export const NOT_YET = ["urlParse", "urlJoin"];

/** Whether a template may call `name`: true, or the parse error that refuses it. */
export function hasFunction(name: string): true | string {
  if (name === "and" || name === "or" || FUNCS.has(name)) return true;
  if (name === "call") return `function "call" is not supported (templates have no function values)`;
  if (RANDOM.includes(name))
    return `function ${JSON.stringify(name)} is not supported (its result is random at every render)`;
  if (NOT_YET.includes(name)) return `function ${JSON.stringify(name)} is not supported yet`;
  if (REMOVED.includes(name))
    return `function ${JSON.stringify(name)} is not supported (ESO removed it: templates read no environment or network)`;
  return `function ${JSON.stringify(name)} not defined`;
}
