/**
 * Where a logical key lives in Vault's API. The store's `path` is the mount;
 * without it, the key's first segment is. KV v2 puts `data/` (values) and
 * `metadata/` (versions, listing) between the mount and the key; KV v1 and
 * other engines (database/creds/<role>) read the path as it is.
 */
import { InvalidReferenceError } from "../../errors.ts";

export interface VaultLocation {
  mount: string;
  /** The key below the mount. */
  key: string;
}

export function locate(storeMount: string | undefined, key: string): VaultLocation {
  const trimmed = key.replace(/^\/+|\/+$/g, "");
  if (trimmed === "" || trimmed.split("/").some((segment) => segment === "." || segment === "..")) {
    throw new InvalidReferenceError(`invalid Vault key "${key}"`);
  }
  if (storeMount !== undefined) return { mount: storeMount.replace(/^\/+|\/+$/g, ""), key: trimmed };
  const slash = trimmed.indexOf("/");
  if (slash === -1)
    throw new InvalidReferenceError(`Vault key "${key}" names no mount (the store sets no path)`);
  return { mount: trimmed.slice(0, slash), key: trimmed.slice(slash + 1) };
}

export type KvVersion = "v1" | "v2";

/** API path of the value: `<mount>/data/<key>` on KV v2, `<mount>/<key>` otherwise. */
export function dataPath(kv: KvVersion, location: VaultLocation): string {
  return kv === "v2" ? `${location.mount}/data/${location.key}` : `${location.mount}/${location.key}`;
}

/** API path of the metadata (KV v2) or listing folder (KV v1). */
export function metadataPath(kv: KvVersion, location: VaultLocation): string {
  const suffix = location.key === "" ? "" : `/${location.key}`;
  return kv === "v2" ? `${location.mount}/metadata${suffix}` : `${location.mount}${suffix}`;
}
