/**
 * Where a reference's current version is read from, as the controller sees it.
 * References written by the plugin name their store explicitly:
 *   - `ClusterSecretStore/<name>`: that ClusterSecretStore, acting for the object's namespace;
 *   - a store of the plugin configuration (refsync.yaml, mounted into the controller too):
 *     its provider spec, with credentials from the controller's own namespace;
 *   - otherwise a SecretStore of that name in the object's namespace.
 * Reads go through the controller's store sessions (clients, logins and tokens are reused).
 */
import { createHash } from "node:crypto";
import type { SecretStore } from "../../api/v1alpha1.ts";
import { API_VERSION } from "../../api/v1alpha1.ts";
import { InvalidSpecError, SecretNotFoundError } from "../../errors.ts";
import type { Reference } from "../../refs/reference.ts";
import type { PluginConfig } from "../../render/config.ts";
import type { ControllerContext } from "../hooks.ts";

export interface VersionSource {
  /** Identifies what a read depends on, so equal reads are made once per round. */
  key(ref: Reference, namespace: string): string;
  /** The backend's current version of the secret `ref` reads (`ref.version` pins one). */
  currentVersion(ref: Reference, namespace: string, signal?: AbortSignal): Promise<string | undefined>;
}

const CLUSTER_PREFIX = "ClusterSecretStore/";

export function storeVersions(
  ctx: Pick<ControllerContext, "sessions" | "stores">,
  plugin: Pick<PluginConfig, "stores"> | undefined,
  controllerNamespace: string,
): VersionSource {
  const pluginStore = (name: string): SecretStore | undefined => {
    const entry = plugin?.stores[name];
    if (!entry) return undefined;
    return {
      apiVersion: API_VERSION,
      kind: "ClusterSecretStore",
      // A new provider spec is a new generation, so the session (client, login) is rebuilt.
      metadata: {
        name: `plugin-${name}`,
        uid: `refsync.yaml/${name}`,
        generation: specGeneration(entry.provider),
      },
      spec: { provider: entry.provider },
    };
  };

  const resolve = (ref: Reference, namespace: string): { store: SecretStore; acting: string } => {
    const name = ref.store;
    if (!name) throw new InvalidSpecError("the reference names no store (the plugin writes it explicitly)");
    if (name.startsWith(CLUSTER_PREFIX)) {
      const store = ctx.stores.clusterSecretStore(name.slice(CLUSTER_PREFIX.length));
      if (!store) throw new SecretNotFoundError(`store ${name} not found`);
      return { store, acting: namespace };
    }
    const fromPlugin = pluginStore(name);
    if (fromPlugin) return { store: fromPlugin, acting: controllerNamespace };
    const store = ctx.stores.secretStore(namespace, name);
    if (!store)
      throw new SecretNotFoundError(
        `store ${name} not found in the plugin configuration or namespace ${namespace}`,
      );
    return { store, acting: namespace };
  };

  return {
    key(ref, namespace) {
      const name = ref.store ?? "";
      const scope = name.startsWith(CLUSTER_PREFIX) || plugin?.stores[name] ? "" : namespace;
      return JSON.stringify([scope, name, ref.provider, ref.path, ref.version ?? null]);
    },
    async currentVersion(ref, namespace, signal) {
      const { store, acting } = resolve(ref, namespace);
      const client = ctx.sessions.session(store, acting).client;
      const request = { key: ref.path, version: ref.version };
      // The cheap metadata call where the provider has one; a whole read otherwise.
      if (client.currentVersion) return client.currentVersion(request, signal);
      return (await client.read(request, signal)).version;
    },
  };
}

function specGeneration(spec: unknown): number {
  return Number.parseInt(createHash("sha256").update(JSON.stringify(spec)).digest("hex").slice(0, 12), 16);
}
