/**
 * A client whose implementation module loads on first use. The AWS SDK and
 * node-vault (with axios) cost ~55 MiB of RSS, so a controller or a render
 * whose stores use neither must not load them. The factory still validates
 * the spec synchronously; only building the client waits for the import.
 * Callers test optional members (`readMany`, `renewLease`…) before the
 * module is loaded, so the factory declares which ones its client has.
 */
import type { ProviderClient } from "./types.ts";
import type { ProviderName } from "../refs/reference.ts";

type OptionalMethod = "readMany" | "currentVersion" | "write" | "renewLease" | "revokeLease";

export interface ClientShape {
  provider: ProviderName;
  /** The optional methods the client implements. */
  methods: readonly OptionalMethod[];
  metersOwnRequests?: boolean;
}

export function lazyClient(shape: ClientShape, load: () => Promise<ProviderClient>): ProviderClient {
  let loading: Promise<ProviderClient> | undefined;
  // A failed load (a project not found yet, say) is tried again by the next call, not kept.
  const client = () =>
    (loading ??= load().catch((error: unknown) => {
      loading = undefined;
      throw error;
    }));
  const has = (method: OptionalMethod) => shape.methods.includes(method);
  return {
    provider: shape.provider,
    ...(shape.metersOwnRequests ? { metersOwnRequests: true } : {}),
    read: async (request, signal) => (await client()).read(request, signal),
    list: async (query, signal) => (await client()).list(query, signal),
    validate: async (signal) => (await client()).validate(signal),
    // A client never used has nothing to close (and no module to load for it).
    close: async () => {
      const loaded = await loading?.catch(() => undefined);
      await loaded?.close();
    },
    ...(has("readMany") && {
      readMany: async (requests, signal) => (await client()).readMany!(requests, signal),
    }),
    ...(has("currentVersion") && {
      currentVersion: async (request, signal) => (await client()).currentVersion!(request, signal),
    }),
    ...(has("write") && {
      write: async (key, data, signal) => (await client()).write!(key, data, signal),
    }),
    ...(has("renewLease") && {
      renewLease: async (lease, signal) => (await client()).renewLease!(lease, signal),
    }),
    ...(has("revokeLease") && {
      revokeLease: async (lease, signal) => (await client()).revokeLease!(lease, signal),
    }),
  };
}
