/**
 * What becomes of the keys a `dataFrom` entry read, as ESO does it
 * (runtime/esutils RewriteMap, ConvertKeys): the rewrites in order
 * (regexp, merge, transform), else the entry's conversionStrategy; then
 * every key must be a valid Secret key, and nullBytePolicy Fail refuses a
 * value holding a NUL byte. Errors name the field and a key, never a value.
 */
import type { ExternalSecretSpec } from "../../api/v1alpha1.ts";
import { InvalidSpecError } from "../../errors.ts";
import { goJson } from "../../refs/kube-jsonpath.ts";
import { renderKeyTemplate } from "../../template/engine.ts";

type DataFrom = NonNullable<ExternalSecretSpec["dataFrom"]>[number];
type Rewrite = NonNullable<DataFrom["rewrite"]>[number];
type Merge = NonNullable<Rewrite["merge"]>;
type Bytes = Record<string, Uint8Array>;
export type ConversionStrategy = "Default" | "Unicode";

const SECRET_KEY = /^[-._a-zA-Z0-9]+$/;
const utf8 = new TextDecoder("utf-8");
const encoder = new TextEncoder();

/** Go's regexp.ReplaceAllString of every key. */
function rewriteRegexp(map: Bytes, rw: NonNullable<Rewrite["regexp"]>): Bytes {
  const re = new RegExp(rw.source, "g");
  const next: Bytes = {};
  for (const [k, v] of Object.entries(map)) next[k.replace(re, rw.target)] = v;
  return next;
}

/** Go's strconv.FormatFloat(f, 'f', -1, 64): shortest digits, never an exponent. */
function formatFloat(n: number): string {
  const text = String(n);
  const m = /^(-?)(\d)(?:\.(\d+))?e([+-]\d+)$/.exec(text);
  if (!m) return text;
  const [, sign = "", first = "", rest = "", exp = "0"] = m;
  const digits = first + rest;
  const point = 1 + Number(exp);
  if (point <= 0) return `${sign}0.${"0".repeat(-point)}${digits}`;
  return sign + digits.padEnd(point, "0") + (point < digits.length ? `.${digits.slice(point)}` : "");
}

/** ESO's GetByteValue of a value decoded from JSON. */
function byteValue(v: unknown): Uint8Array {
  if (typeof v === "string") return encoder.encode(v);
  if (typeof v === "number") return encoder.encode(formatFloat(v));
  if (typeof v === "boolean") return encoder.encode(String(v));
  if (v === null) return new Uint8Array();
  return encoder.encode(goJson(v));
}

/** Go's sort.Strings: byte order of the UTF-8 encoding. */
const byBytes = (a: string, b: string): number => Buffer.compare(Buffer.from(a), Buffer.from(b));

function rewriteMerge(map: Bytes, merge: Merge, field: string): Bytes {
  const priority = merge.priority ?? [];
  const keys = [
    ...Object.keys(map)
      .filter((k) => !priority.includes(k))
      .sort(byBytes),
    ...priority,
  ];
  const merged = new Map<string, unknown>();
  const conflicts: string[] = [];
  for (const key of keys) {
    const value = map[key];
    if (value === undefined) {
      if (merge.priorityPolicy === "IgnoreNotFound") continue;
      throw new InvalidSpecError(`${field}.merge: priority key "${key}" is not among the keys read`);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(utf8.decode(value));
    } catch {
      parsed = undefined;
    }
    // Go unmarshals JSON null into a map as no entries; anything else but an object is an error.
    if (parsed === undefined || (parsed !== null && (typeof parsed !== "object" || Array.isArray(parsed)))) {
      throw new InvalidSpecError(`${field}.merge: the value of key "${key}" is not a JSON object`);
    }
    for (const [k, v] of Object.entries((parsed ?? {}) as Record<string, unknown>)) {
      if (merged.has(k)) conflicts.push(k);
      merged.set(k, v);
    }
  }
  if (merge.conflictPolicy !== "Ignore" && conflicts.length) {
    throw new InvalidSpecError(
      `${field}.merge: keys held by more than one value: ${conflicts.join(", ")} (set conflictPolicy: Ignore to let the later one win)`,
    );
  }
  if ((merge.strategy ?? "Extract") === "Extract") {
    return Object.fromEntries([...merged].map(([k, v]) => [k, byteValue(v)]));
  }
  if (!merge.into)
    throw new InvalidSpecError(`${field}.merge.into: strategy JSON needs the key to write into`);
  return { ...map, [merge.into]: encoder.encode(goJson(Object.fromEntries(merged))) };
}

function rewriteTransform(map: Bytes, template: string, field: string): Bytes {
  const next: Bytes = {};
  for (const [k, v] of Object.entries(map))
    next[renderKeyTemplate(template, k, `${field}.transform.template`)] = v;
  return next;
}

/** ESO's ConvertKeys: each character a Secret key cannot hold becomes `_` (Default) or `_UXXXX_` (Unicode). */
export function convertKeys(map: Bytes, strategy: ConversionStrategy, field: string): Bytes {
  const out: Bytes = {};
  for (const [k, v] of Object.entries(map)) {
    let key = "";
    for (const ch of k) {
      const keep = /^[\p{L}\p{N}._-]$/u.test(ch);
      key += keep
        ? ch
        : strategy === "Default"
          ? "_"
          : `_U${(ch.codePointAt(0) ?? 0).toString(16).padStart(4, "0")}_`;
    }
    if (Object.hasOwn(out, key)) {
      throw new InvalidSpecError(`${field}.conversionStrategy: two keys both become "${key}"`);
    }
    out[key] = v;
  }
  return out;
}

/**
 * The keys of one dataFrom entry as they go into the Secret: rewrites, or else the conversion;
 * empty keys dropped (ESO: a key that did not exist upstream); every other key checked.
 */
export function finishKeys(
  map: Bytes,
  entry: DataFrom,
  conversion: ConversionStrategy | undefined,
  field: string,
): Bytes {
  let out = map;
  (entry.rewrite ?? []).forEach((rw, i) => {
    const at = `${field}.rewrite[${i}]`;
    if (rw.regexp) out = rewriteRegexp(out, rw.regexp);
    else if (rw.merge) out = rewriteMerge(out, rw.merge, at);
    else if (rw.transform) out = rewriteTransform(out, rw.transform.template, at);
  });
  if (!entry.rewrite?.length && conversion) out = convertKeys(out, conversion, field);
  delete out[""];
  for (const k of Object.keys(out)) {
    if (!SECRET_KEY.test(k)) {
      throw new InvalidSpecError(
        `${field}: key "${k}" is not a valid Secret key (add a rewrite, e.g. "/" → "_", or set conversionStrategy)`,
      );
    }
  }
  return out;
}

/** nullBytePolicy Fail: a value holding a NUL byte is refused (ESO checks the keys in order). */
export function checkNullBytes(map: Bytes, policy: "Ignore" | "Fail" | undefined, field: string): void {
  if (policy !== "Fail") return;
  for (const key of Object.keys(map).sort(byBytes)) {
    if (map[key]?.includes(0)) {
      throw new InvalidSpecError(
        `${field}.nullBytePolicy: the value for key "${key}" holds NUL bytes; use a text-safe form such as PEM or base64, or leave nullBytePolicy unset for binary data`,
      );
    }
  }
}
