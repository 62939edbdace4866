/**
 * Vault ACL policies, reduced to what the tests need: a rule is a path
 * pattern and its capabilities. As in Vault, a trailing `*` matches any
 * suffix, `+` matches exactly one path segment, the most specific matching
 * rule wins, and `deny` beats everything. Templated paths
 * (`{{identity.entity.aliases.<mount accessor>.metadata.<key>}}`) take the
 * value from the login's metadata (service_account_namespace…); a rule whose
 * template cannot be filled is ignored, as Vault does.
 */

export type Capability = "create" | "read" | "update" | "delete" | "list" | "sudo" | "subscribe" | "deny";

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

const TEMPLATE = /\{\{identity\.entity\.aliases\.[^.}]+\.metadata\.([^}]+)\}\}/g;

function fillTemplate(pattern: string, metadata: Readonly<Record<string, string>>): string | undefined {
  let unresolved = false;
  const filled = pattern.replace(TEMPLATE, (_, key: string) => {
    const value = metadata[key];
    if (value === undefined) unresolved = true;
    return value ?? "";
  });
  return unresolved ? undefined : filled;
}

/** Whether policies `names` (from `policies`) grant `capability` on `path` to a token with `metadata`. */
export function allowed(
  policies: ReadonlyMap<string, PolicyRule[]>,
  names: readonly string[],
  path: string,
  capability: Capability,
  metadata: Readonly<Record<string, string>> = {},
): boolean {
  if (names.includes("root")) return true;
  const rules = [...DEFAULT_POLICY, ...names.flatMap((name) => policies.get(name) ?? [])]
    .map((rule) => ({ ...rule, path: fillTemplate(rule.path, metadata) }))
    .filter((rule): rule is PolicyRule => rule.path !== undefined && matches(rule.path, path));
  if (rules.length === 0) return false;
  const best = Math.max(...rules.map((rule) => specificity(rule.path)));
  const winning = rules
    .filter((rule) => specificity(rule.path) === best)
    .flatMap((rule) => rule.capabilities);
  return !winning.includes("deny") && winning.includes(capability);
}
