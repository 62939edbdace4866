/**
 * Vault ACL policies, reduced to what the tests need: a rule is a path
 * pattern and its capabilities. As in Vault, a trailing `*` matches any
 * suffix, `+` matches exactly one path segment, the most specific matching
 * rule wins, and `deny` beats everything.
 */

export type Capability = "create" | "read" | "update" | "delete" | "list" | "sudo" | "deny";

export interface PolicyRule {
  path: string;
  capabilities: Capability[];
}

/** Paths every token may use, as Vault's built-in `default` policy allows. */
const DEFAULT_POLICY: PolicyRule[] = [
  { path: "auth/token/lookup-self", capabilities: ["read"] },
  { path: "auth/token/renew-self", capabilities: ["update"] },
  { path: "auth/token/revoke-self", capabilities: ["update"] },
  { path: "sys/leases/renew", capabilities: ["update"] },
  { path: "sys/leases/lookup", capabilities: ["update"] },
];

function matches(pattern: string, path: string): boolean {
  const glob = pattern.endsWith("*");
  const body = glob ? pattern.slice(0, -1) : pattern;
  const patternSegments = body.split("/");
  const pathSegments = path.split("/");
  for (let i = 0; i < patternSegments.length; i++) {
    const want = patternSegments[i]!;
    const have = pathSegments[i];
    if (have === undefined) return false;
    const last = i === patternSegments.length - 1;
    if (want === "+") continue;
    if (last && glob) return have.startsWith(want);
    if (want !== have) return false;
  }
  return glob || pathSegments.length === patternSegments.length;
}

/** Specificity for "most specific rule wins": longer literal prefix first, then exact over glob. */
function specificity(pattern: string): number {
  const wildcards = pattern.split("+").length - 1;
  return pattern.length * 4 - wildcards * 2 + (pattern.endsWith("*") ? 0 : 1);
}

/** Whether policies `names` (from `policies`) grant `capability` on `path`. */
export function allowed(
  policies: ReadonlyMap<string, PolicyRule[]>,
  names: readonly string[],
  path: string,
  capability: Capability,
): boolean {
  if (names.includes("root")) return true;
  const rules = [...DEFAULT_POLICY, ...names.flatMap((name) => policies.get(name) ?? [])].filter((rule) =>
    matches(rule.path, path),
  );
  if (rules.length === 0) return false;
  const best = Math.max(...rules.map((rule) => specificity(rule.path)));
  const winning = rules
    .filter((rule) => specificity(rule.path) === best)
    .flatMap((rule) => rule.capabilities);
  return !winning.includes("deny") && winning.includes(capability);
}
