/**
 * Sprig's `merge…` functions as dario.cat/mergo v1.0.2 (the version ESO
 * builds with) merges a map[string]interface{} into another: Merge fills
 * each key of the destination that is missing or empty (nil, false, 0, "",
 * an empty map or list) from the source; MergeWithOverwrite (`…Overwrite`)
 * sets every key the source has, nil included. A map meeting a map is
 * merged key by key (recursively) unless, without overwrite, the
 * destination's is not empty; lists are replaced whole, never appended.
 * The destination is changed in place and returned, and a value taken from
 * a source is that same value (a map set from a source is shared with it),
 * as in Go.
 *
 * Refused: where mergo would write through a pointer (`semver` values
 * meeting under overwrite), which refsync's immutable versions cannot show.
 */
import { TemplateFuncError } from "./errors.ts";
import { GoMap, GoObject, MAX_DEPTH, truth, type Value } from "./value.ts";

/** mergo's "src and dst must be of same type", the one error it returns for maps of interface{}. */
class MergeError extends Error {}

/** mergo's isEmptyValue: nil, false, 0, "", empty maps and lists; a time or version is never empty. */
const isEmpty = (v: Value | undefined): boolean => v === undefined || (!(v instanceof GoObject) && !truth(v));

/** A pointer value of Go (`*semver.Version`): mergo dereferences it. */
const isPointer = (v: Value | undefined): boolean => v instanceof GoObject && v.goType.startsWith("*");

/** SetMapIndex: an interface{} value cannot go into a map[string]string (reflect panics). */
function setKey(dst: GoMap, src: GoMap, key: string, v: Value): void {
  if (dst.elem === "string" && src.elem !== "string")
    throw new TemplateFuncError(
      "reflect.Value.SetMapIndex: value of type interface {} is not assignable to type string",
    );
  dst.m.set(key, v);
}

/** mergo's deepMerge of one map into another. */
function mergeMap(dst: GoMap, src: GoMap, overwrite: boolean, depth: number): void {
  if (depth > MAX_DEPTH) throw new TemplateFuncError(`merge: maps nested deeper than ${MAX_DEPTH}`);
  for (const [key, s] of [...src.m]) {
    const d = dst.m.get(key);
    if (s === null) {
      if (overwrite) setKey(dst, src, key, null);
      continue;
    }
    if (s instanceof GoMap || s instanceof GoObject) {
      // mergo descends into the destination's value; only a map or a pointer takes anything from it
      if (s instanceof GoMap && d instanceof GoMap) mergeMap(d, s, overwrite, depth + 1);
      else if (isPointer(d) && isPointer(s) && overwrite)
        throw new TemplateFuncError("merge: two semver values under one key are not supported");
      else if (isPointer(d) && !overwrite && !isPointer(s))
        throw new MergeError("src and dst must be of same type");
    }
    // a list replaces the destination's when overwriting or when that is empty, never appended to it
    if (!isEmpty(d) && s instanceof GoMap && d instanceof GoMap) continue;
    if (overwrite || isEmpty(d)) setKey(dst, src, key, s);
  }
}

/**
 * Sprig's merge family: every source merged into `dst` in turn. On mergo's
 * error `must` throws it, else the result is "" (the sources merged before
 * it stay merged, as in Go).
 */
export function merge(overwrite: boolean, must: boolean, dst: GoMap, ...srcs: GoMap[]): Value {
  try {
    for (const src of srcs) mergeMap(dst, src, overwrite, 0);
  } catch (e) {
    if (!(e instanceof MergeError)) throw e;
    if (must) throw new TemplateFuncError(e.message);
    return "";
  }
  return dst;
}
