/**
 * Regular expressions in specs that Go code reads in ESO (a ClusterSecretStore's
 * `conditions[].namespaceRegexes`): RE2 syntax and linear-time matching through re2js, a
 * port of RE2, so a pattern Go's regexp rejects (lookaround, backreferences) is rejected
 * here with Go's words. Templates run their own (byte-level) copy in src/template/go/regex.ts.
 */
import { RE2JS } from "re2js";

const compiled = new Map<string, RE2JS>();

/** regexp.Compile; throws with Go's message ("error parsing regexp: …"). */
export function compileGoRegexp(pattern: string): RE2JS {
  let re = compiled.get(pattern);
  if (re) return re;
  re = RE2JS.compile(pattern);
  if (compiled.size >= 256) compiled.clear();
  compiled.set(pattern, re);
  return re;
}

/** regexp.MatchString: a match anywhere in `s`; a pattern that does not compile matches nothing. */
export function goRegexpMatches(pattern: string, s: string): boolean {
  try {
    return compileGoRegexp(pattern).matcher(s).find();
  } catch {
    return false;
  }
}
