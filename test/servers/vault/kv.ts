/**
 * The KV secrets engines: v1 (a plain path → map store) and v2 (versions,
 * metadata, custom metadata, soft delete, undelete, destroy, check-and-set),
 * with Vault's response bodies.
 */
import { badRequest, notFound, VaultHttpError } from "./http-error.ts";

type Data = Record<string, unknown>;

/** A change of a KV secret, named as its Vault event type (`kv-v<kv>/<operation>`). */
export interface KvChange {
  kv: 1 | 2;
  operation: string;
  key: string;
  /** KV v2: the current version after the change. */
  version?: number;
}

/** Told about every change of a KV engine's secrets (the event notifications). */
export type KvListener = (change: KvChange) => void;

/** Keys directly under `prefix`: leaves as `name`, folders as `name/`, as Vault's LIST returns. */
function listKeys(paths: Iterable<string>, prefix: string): string[] {
  const folder = prefix === "" || prefix.endsWith("/") ? prefix : `${prefix}/`;
  const keys = new Set<string>();
  for (const path of paths) {
    if (!path.startsWith(folder)) continue;
    const rest = path.slice(folder.length);
    const slash = rest.indexOf("/");
    keys.add(slash === -1 ? rest : rest.slice(0, slash + 1));
  }
  if (keys.size === 0) throw notFound();
  return [...keys].sort();
}

export class KvV1 {
  readonly version = 1;
  readonly secrets = new Map<string, Data>();
  onChange: KvListener = () => undefined;

  read(path: string): Data {
    const data = this.secrets.get(path);
    if (!data) throw notFound();
    return data;
  }
  write(path: string, data: Data): void {
    this.secrets.set(path, structuredClone(data));
    this.onChange({ kv: 1, operation: "write", key: path });
  }
  delete(path: string): void {
    this.secrets.delete(path);
    this.onChange({ kv: 1, operation: "delete", key: path });
  }
  list(prefix: string): string[] {
    return listKeys(this.secrets.keys(), prefix);
  }
}

interface Kv2Version {
  data: Data;
  createdTime: string;
  deletionTime: string;
  destroyed: boolean;
}

interface Kv2Secret {
  versions: Map<number, Kv2Version>;
  currentVersion: number;
  customMetadata: Record<string, string> | null;
  createdTime: string;
  updatedTime: string;
}

export class KvV2 {
  readonly version = 2;
  readonly secrets = new Map<string, Kv2Secret>();
  onChange: KvListener = () => undefined;

  #changed(operation: string, key: string): void {
    const version = this.secrets.get(key)?.currentVersion;
    this.onChange({ kv: 2, operation, key, ...(version !== undefined && { version }) });
  }

  private versionMetadata(secret: Kv2Secret, number: number, entry: Kv2Version): Data {
    return {
      created_time: entry.createdTime,
      custom_metadata: secret.customMetadata,
      deletion_time: entry.deletionTime,
      destroyed: entry.destroyed,
      version: number,
    };
  }

  /** GET data/<path>[?version=N]. Soft-deleted and destroyed versions are 404 with their metadata, as in Vault. */
  read(path: string, version?: number): Data {
    const secret = this.secrets.get(path);
    if (!secret) throw notFound();
    const number = version && version > 0 ? version : secret.currentVersion;
    const entry = secret.versions.get(number);
    if (!entry) throw notFound();
    const metadata = this.versionMetadata(secret, number, entry);
    if (entry.deletionTime !== "" || entry.destroyed) {
      throw new VaultHttpError(404, [], { data: { data: null, metadata } });
    }
    return { data: structuredClone(entry.data), metadata };
  }

  /** POST data/<path> with optional check-and-set. */
  write(path: string, data: Data, cas?: number): Data {
    const existing = this.secrets.get(path);
    if (cas !== undefined && cas !== (existing?.currentVersion ?? 0)) {
      throw badRequest("check-and-set parameter did not match the current version");
    }
    const time = new Date().toISOString();
    const secret: Kv2Secret = existing ?? {
      versions: new Map(),
      currentVersion: 0,
      customMetadata: null,
      createdTime: time,
      updatedTime: time,
    };
    secret.currentVersion += 1;
    secret.updatedTime = time;
    const entry: Kv2Version = {
      data: structuredClone(data),
      createdTime: time,
      deletionTime: "",
      destroyed: false,
    };
    secret.versions.set(secret.currentVersion, entry);
    this.secrets.set(path, secret);
    this.#changed("data-write", path);
    return this.versionMetadata(secret, secret.currentVersion, entry);
  }

  metadata(path: string): Data {
    const secret = this.secrets.get(path);
    if (!secret) throw notFound();
    const versions: Record<string, Data> = {};
    for (const [number, entry] of secret.versions) {
      versions[String(number)] = {
        created_time: entry.createdTime,
        deletion_time: entry.deletionTime,
        destroyed: entry.destroyed,
      };
    }
    return {
      cas_required: false,
      created_time: secret.createdTime,
      current_version: secret.currentVersion,
      custom_metadata: secret.customMetadata,
      delete_version_after: "0s",
      max_versions: 0,
      oldest_version: Math.min(...secret.versions.keys()),
      updated_time: secret.updatedTime,
      versions,
    };
  }

  writeMetadata(path: string, customMetadata: Record<string, string>): void {
    const secret = this.secrets.get(path);
    if (!secret) throw notFound();
    secret.customMetadata = { ...customMetadata };
    this.#changed("metadata-write", path);
  }

  /** Soft-deletes the given versions (default: the current one). */
  softDelete(path: string, versions?: number[]): void {
    const secret = this.secrets.get(path);
    if (!secret) return;
    for (const number of versions ?? [secret.currentVersion]) {
      const entry = secret.versions.get(number);
      if (entry && entry.deletionTime === "") entry.deletionTime = new Date().toISOString();
    }
    // DELETE data/<path> soft-deletes the current version; POST delete/<path> the versions named.
    this.#changed(versions === undefined ? "data-delete" : "delete", path);
  }

  undelete(path: string, versions: number[]): void {
    for (const number of versions) {
      const entry = this.secrets.get(path)?.versions.get(number);
      if (entry && !entry.destroyed) entry.deletionTime = "";
    }
    this.#changed("undelete", path);
  }

  destroy(path: string, versions: number[]): void {
    for (const number of versions) {
      const entry = this.secrets.get(path)?.versions.get(number);
      if (entry) {
        entry.destroyed = true;
        entry.data = {};
      }
    }
    this.#changed("destroy", path);
  }

  deleteMetadata(path: string): void {
    this.secrets.delete(path);
    this.#changed("metadata-delete", path);
  }

  list(prefix: string): string[] {
    return listKeys(this.secrets.keys(), prefix);
  }
}
