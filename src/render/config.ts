/**
 * The plugin's configuration, `refsync.yaml`, mounted into the sidecar by the
 * operator (path from --config or REFSYNC_CONFIG; never from ARGOCD_ENV_*,
 * which tenants control):
 *
 *   stores:                       # stores inline mode may read, by name
 *     vault:
 *       provider: { vault: { server: https://vault:8200, … } }   # a SecretStore's spec.provider
 *   defaultStores: { vault: vault }  # store of references that name none (by provider)
 *   avp:                          # what AVP placeholders read
 *     provider: vault
 *     store: vault                # store of Vault mounts `mounts` does not name
 *     kvVersion: "2"              # AVP_KV_VERSION: paths of objects without avp.kubernetes.io/kv-version
 *     mounts: { secret: vault-kv1, kv: vault }   # Vault mount → the store reading it
 *   modes: [deferred, inline]     # modes an application may choose (default: deferred only)
 *   policy:                       # inline reads allowed; everything else is denied
 *     - projects: [team-a]        # Argo CD projects (`*` globs); omitted = any
 *       namespaces: [team-a-*]    # destination namespaces; omitted = any
 *       stores: [vault]
 *       paths: [team-a/, shared/db]   # key prefixes, matched on whole segments
 *
 * A rule must name projects or namespaces (or both). Relative `file:` paths
 * of fake stores resolve against the config file's directory.
 */
import { readFile } from "node:fs/promises";
import { dirname, isAbsolute, resolve } from "node:path";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { ConfigError } from "../errors.ts";
import type { StoreProviderSpec } from "../api/v1alpha1.ts";
import { describeIssues } from "../api/validate.ts";
import type { AvpSource } from "../refs/avp.ts";
import { PROVIDERS } from "../refs/reference.ts";
import type { ProviderName } from "../refs/reference.ts";

export type Mode = "deferred" | "inline";

const glob = z.string().min(1);
const ruleSchema = z
  .strictObject({
    projects: z.array(glob).min(1).optional(),
    namespaces: z.array(glob).min(1).optional(),
    stores: z.array(z.string().min(1)).min(1),
    paths: z.array(z.string()).min(1),
  })
  .refine(
    (r) => r.projects !== undefined || r.namespaces !== undefined,
    "a rule must name projects or namespaces",
  );

const providerName = z.enum(PROVIDERS as [ProviderName, ...ProviderName[]]);

/** Strict at every level: a mistyped field is an error naming it, never ignored. */
export const configSchema = z.strictObject({
  stores: z
    .record(z.string().min(1), z.strictObject({ provider: z.record(z.string(), z.unknown()) }))
    .default({}),
  defaultStores: z.partialRecord(providerName, z.string().min(1)).default({}),
  avp: z
    .strictObject({
      provider: providerName.default("vault"),
      store: z.string().min(1).optional(),
      kvVersion: z.enum(["1", "2"]).optional(),
      mounts: z.record(z.string().min(1), z.string().min(1)).optional(),
    })
    .optional(),
  modes: z.array(z.enum(["deferred", "inline"])).default(["deferred"]),
  policy: z.array(ruleSchema).default([]),
});

export type PolicyRule = z.output<typeof ruleSchema>;
export interface PluginConfig {
  stores: Record<string, { provider: StoreProviderSpec }>;
  defaultStores: Partial<Record<ProviderName, string>>;
  avp?: AvpSource;
  modes: Mode[];
  policy: PolicyRule[];
}

/** With no config file: deferred mode only, no stores, nothing allowed inline. */
export const EMPTY_CONFIG: PluginConfig = { stores: {}, defaultStores: {}, modes: ["deferred"], policy: [] };

export function parseConfig(text: string, file: string): PluginConfig {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new ConfigError(`${file}: invalid YAML: ${(err as Error).message.split("\n")[0]}`);
  }
  const parsed = configSchema.safeParse(doc ?? {});
  if (!parsed.success) throw new ConfigError(`${file}: ${describeIssues(parsed.error, "")}`);
  const config = parsed.data as PluginConfig;
  // Fake stores may point at a data file next to the config.
  for (const store of Object.values(config.stores)) {
    const fake = store.provider.fake as { file?: unknown } | undefined;
    if (fake && typeof fake.file === "string" && !isAbsolute(fake.file)) {
      store.provider = { fake: { ...fake, file: resolve(dirname(file), fake.file) } };
    }
  }
  return config;
}

export async function loadConfig(file: string | undefined): Promise<PluginConfig> {
  if (file === undefined) return EMPTY_CONFIG;
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch {
    throw new ConfigError(`${file}: cannot read the plugin configuration`);
  }
  return parseConfig(text, file);
}

function globMatch(pattern: string, value: string): boolean {
  const re = new RegExp(
    `^${pattern
      .split("*")
      .map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"))
      .join(".*")}$`,
  );
  return re.test(value);
}

/** A key is under a prefix when the prefix ends at a segment boundary (`team-a` and `team-a/` both cover `team-a/db`, not `team-ab`). */
export function pathUnder(key: string, prefix: string): boolean {
  if (prefix === "" || prefix === "/") return true;
  const p = prefix.endsWith("/") ? prefix : `${prefix}/`;
  return key === prefix || key.startsWith(p);
}

export interface Requester {
  project: string;
  namespace: string;
}

/** Why a read is denied, or undefined when a rule allows it. */
export function denial(config: PluginConfig, who: Requester, store: string, key: string): string | undefined {
  const where = `project "${who.project}" (namespace "${who.namespace}")`;
  if (key.split("/").some((s) => s === "." || s === "..")) {
    return `path "${key}" has a "." or ".." segment`;
  }
  const allowed = config.policy.some(
    (r) =>
      (r.projects === undefined || r.projects.some((p) => globMatch(p, who.project))) &&
      (r.namespaces === undefined || r.namespaces.some((n) => globMatch(n, who.namespace))) &&
      r.stores.includes(store) &&
      r.paths.some((prefix) => pathUnder(key, prefix)),
  );
  return allowed ? undefined : `policy denies ${where} reading store "${store}" path "${key}"`;
}
