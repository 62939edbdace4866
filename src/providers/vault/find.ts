/**
 * dataFrom.find on Vault: list the folder tree under `find.path` depth
 * first (KV v2 `metadata/`, KV v1 the mount itself), keep the keys whose
 * path matches the name regexp, then — tags being KV v2 custom metadata —
 * those whose metadata carries every tag.
 */
import { InvalidReferenceError, SecretNotFoundError } from "../../errors.ts";
import type { FindQuery } from "../types.ts";
import { locate, metadataPath, type KvVersion, type VaultLocation } from "./paths.ts";

/** Find walks at most this many folders (then fails, never returns a partial list). */
const MAX_FIND_FOLDERS = 10_000;

export interface FindBackend {
  /** The store's mount; unset: `find.path` starts with the mount. */
  storeMount: string | undefined;
  kv: KvVersion;
  /** GET `path` (Vault's response body). */
  get(call: string, path: string): Promise<unknown>;
  /** LIST `path` (Vault's response body). */
  list(path: string): Promise<unknown>;
}

function findPattern(source: string): RegExp {
  try {
    return new RegExp(source);
  } catch {
    throw new InvalidReferenceError(`find.name.regexp "${source}" is not a valid regular expression`);
  }
}

/** The folder `find.path` names, as a mount and a key below it. */
function startOf(query: FindQuery, storeMount: string | undefined): VaultLocation {
  const start = query.path?.replace(/^\/+|\/+$/g, "") ?? "";
  if (storeMount !== undefined) return { mount: storeMount.replace(/^\/+|\/+$/g, ""), key: start };
  if (start === "")
    throw new InvalidReferenceError("find on a store without path needs find.path naming the mount");
  return start.includes("/") ? locate(undefined, start) : { mount: start, key: "" };
}

/** Keys as `read` takes them: relative to the store's mount, or starting with the mount when it has none. */
export async function findKeys(query: FindQuery, backend: FindBackend): Promise<string[]> {
  const root = startOf(query, backend.storeMount);
  const pattern = query.name ? findPattern(query.name.regexp) : undefined;
  const found: string[] = [];
  const folders = [root.key];
  for (let walked = 1; folders.length > 0; walked++) {
    if (walked > MAX_FIND_FOLDERS) {
      throw new InvalidReferenceError(
        `find under "${query.path ?? ""}" walks more than ${MAX_FIND_FOLDERS} folders; narrow find.path`,
      );
    }
    const folder = folders.pop()!;
    for (const entry of await listFolder(backend, { mount: root.mount, key: folder })) {
      const key = folder === "" ? entry : `${folder}/${entry}`;
      if (entry.endsWith("/")) folders.push(key.slice(0, -1));
      else if (!pattern || pattern.test(key)) found.push(key);
    }
  }
  const keys = query.tags ? await withTags(backend, root.mount, found, query.tags) : found;
  const prefix = backend.storeMount === undefined ? `${root.mount}/` : "";
  return keys.map((key) => `${prefix}${key}`).sort();
}

async function listFolder(backend: FindBackend, folder: VaultLocation): Promise<string[]> {
  try {
    const body = (await backend.list(metadataPath(backend.kv, folder))) as { data?: { keys?: string[] } };
    return body.data?.keys ?? [];
  } catch (error) {
    // Vault answers 404 for a folder with nothing under it.
    if (error instanceof SecretNotFoundError) return [];
    throw error;
  }
}

/** KV v1 has no custom metadata, so no key there carries a tag. */
async function withTags(
  backend: FindBackend,
  mount: string,
  keys: string[],
  tags: Record<string, string>,
): Promise<string[]> {
  if (backend.kv === "v1") return [];
  const kept: string[] = [];
  for (const key of keys) {
    const body = (await backend.get("metadata", metadataPath(backend.kv, { mount, key }))) as {
      data?: { custom_metadata?: Record<string, string> | null };
    };
    const custom = body.data?.custom_metadata ?? {};
    if (Object.entries(tags).every(([tag, value]) => custom[tag] === value)) kept.push(key);
  }
  return kept;
}
