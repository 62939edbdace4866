/**
 * The stores one ExternalSecret reads from, ready for its reads: each store
 * its entries name (src/api/store-refs.ts: an entry's sourceRef.storeRef,
 * else spec.secretStoreRef) is resolved for the object's namespace and
 * checked before any read, as ESO's client manager checks each store it is
 * asked for: found, a ClusterSecretStore whose conditions allow the
 * namespace, ready, with a valid spec. One store that fails fails the sync,
 * so a Secret is never written with part of its data. Each store becomes
 * its session (own client, read cache entries, rate limit, retries, audit
 * and metric labels); an entry reads through the session of its store.
 */
import {
  entryStoreRef,
  storeRefKey,
  storesRead,
  type StoreEntry,
  type StoreRef,
} from "../../api/store-refs.ts";
import type { ExternalSecretSpec, SecretStore } from "../../api/v1alpha1.ts";
import { validateStoreSpec } from "../../api/validate.ts";
import { InvalidSpecError, RefsyncError, StoreNotReadyError } from "../../errors.ts";
import { getCondition } from "../../kube/conditions.ts";
import { resolveStore, type StoreLookup } from "../secretstore/resolve.ts";
import type { StoreSession, StoreSessions } from "../secretstore/sessions.ts";

export class Sources {
  readonly #spec: ExternalSecretSpec;
  /** storeRefKey → session, in the order of first use (dataFrom, then data). */
  readonly byStore: ReadonlyMap<string, StoreSession>;

  constructor(spec: ExternalSecretSpec, byStore: ReadonlyMap<string, StoreSession>) {
    this.#spec = spec;
    this.byStore = byStore;
  }

  /** The session an entry of data or dataFrom reads through. */
  of(entry: StoreEntry): StoreSession {
    const ref = entryStoreRef(this.#spec, entry);
    const session = ref && this.byStore.get(storeRefKey(ref));
    // Validation refuses an entry without a store, and resolveSources resolved every store an entry names.
    if (!session) throw new InvalidSpecError("spec: an entry of data or dataFrom names no store");
    return session;
  }
}

/**
 * Resolves and checks every store `spec` reads from, for an object of
 * `namespace`. A problem is a StoreNotReadyError or AccessDeniedError naming
 * the store, and the field that names it when that is an entry's sourceRef.
 */
export async function resolveSources(
  spec: ExternalSecretSpec,
  namespace: string,
  lookup: StoreLookup,
  sessions: StoreSessions,
): Promise<Sources> {
  const byStore = new Map<string, StoreSession>();
  const usableStore = async (ref: StoreRef, field: string): Promise<SecretStore> => {
    const store = await resolveStore(ref, namespace, lookup, field);
    const ready = getCondition(store.status?.conditions, "Ready");
    if (ready?.status === "False" && ready.observedGeneration === store.metadata.generation)
      throw new StoreNotReadyError(`${store.kind} "${store.metadata.name}" is not ready: ${ready.message}`);
    // A store the store reconciler has not looked at yet: its spec error, not the first failed read.
    const problem = invalidStoreSpec(store.spec);
    if (problem)
      throw new StoreNotReadyError(`${store.kind} "${store.metadata.name}" is not usable: ${problem}`);
    return store;
  };
  for (const { ref, field } of storesRead(spec)) {
    try {
      byStore.set(storeRefKey(ref), sessions.session(await usableStore(ref, field), namespace));
    } catch (err) {
      // A store an entry names itself: the message says which entry.
      if (field !== "secretStoreRef" && err instanceof RefsyncError)
        err.message = `spec.${field}: ${err.message}`;
      throw err;
    }
  }
  return new Sources(spec, byStore);
}

/** The store spec's first problem (as its own Ready condition says), or undefined when valid. */
function invalidStoreSpec(spec: unknown): string | undefined {
  try {
    validateStoreSpec(spec);
    return undefined;
  } catch (err) {
    if (err instanceof InvalidSpecError) return err.message;
    throw err;
  }
}
