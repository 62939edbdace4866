/**
 * Which ExternalSecrets read which key through which store: the index a
 * change is looked up in. An ExternalSecret is indexed under every store its
 * entries read from (each entry's sourceRef.storeRef, else spec.secretStoreRef). Fed by the ExternalSecret informer (add, update,
 * delete), from the specs alone: `data[].remoteRef.key` and
 * `dataFrom[].extract.key` name their keys; a `dataFrom[].find` reads every
 * key its `path` prefix and `name.regexp` match (as the providers list them),
 * and, since a change names no tags, a find by tags alone is taken to read
 * any key of its store. Only ExternalSecrets that refresh (refreshPolicy
 * Periodic) are indexed: OnChange and CreatedOnce ones never re-read a
 * changed key, so a change costs them nothing.
 */
import { entryStoreRef, type StoreEntry } from "../../api/store-refs.ts";
import { defaults, type ExternalSecret } from "../../api/v1alpha1.ts";
import { objectKey } from "../../kube/informer.ts";
import { storeId } from "../secretstore/resolve.ts";
import type { StoreRef } from "./source.ts";

interface FindMatcher {
  reader: string;
  path?: string;
  name?: RegExp;
}

interface StoreReaders {
  /** Key → ExternalSecrets (namespace/name) that name it. */
  byKey: Map<string, Set<string>>;
  finds: FindMatcher[];
}

/** What one ExternalSecret reads through one store, as indexed (to take it out again). */
interface Entry {
  store: string;
  keys: Set<string>;
  finds: FindMatcher[];
}

export class KeyReaders {
  readonly #stores = new Map<string, StoreReaders>();
  /** Per ExternalSecret, one entry per store it reads from (data[].sourceRef, dataFrom[].sourceRef). */
  readonly #entries = new Map<string, Entry[]>();

  /** Indexes (or re-indexes) one ExternalSecret; call on add and update. */
  set(es: ExternalSecret): void {
    const reader = objectKey(es);
    this.delete(reader);
    if ((es.spec.refreshPolicy ?? defaults.refreshPolicy) !== "Periodic" || es.metadata.deletionTimestamp)
      return;
    const byStore = new Map<string, Entry>();
    const entryOf = (source: StoreEntry): Entry | undefined => {
      const ref = entryStoreRef(es.spec, source);
      if (!ref) return undefined;
      const store = storeKeyOf(
        ref.kind === "ClusterSecretStore" ? ref : { ...ref, namespace: es.metadata.namespace ?? "" },
      );
      let entry = byStore.get(store);
      if (!entry) byStore.set(store, (entry = { store, keys: new Set(), finds: [] }));
      return entry;
    };
    for (const d of es.spec.data ?? []) entryOf(d)?.keys.add(d.remoteRef.key);
    for (const d of es.spec.dataFrom ?? []) {
      if (d.extract) entryOf(d)?.keys.add(d.extract.key);
      if (d.find) {
        const name = compile(d.find.name?.regexp);
        // An invalid regexp fails the object's own sync (InvalidSpec); it reads nothing.
        if (name === null) continue;
        entryOf(d)?.finds.push({
          reader,
          ...(d.find.path !== undefined && { path: d.find.path }),
          ...(name && { name }),
        });
      }
    }
    const entries = [...byStore.values()];
    if (entries.length === 0) return;
    this.#entries.set(reader, entries);
    for (const entry of entries) {
      let readers = this.#stores.get(entry.store);
      if (!readers) this.#stores.set(entry.store, (readers = { byKey: new Map(), finds: [] }));
      for (const key of entry.keys) {
        let set = readers.byKey.get(key);
        if (!set) readers.byKey.set(key, (set = new Set()));
        set.add(reader);
      }
      readers.finds.push(...entry.finds);
    }
  }

  /** Forgets an ExternalSecret (`namespace/name`). */
  delete(reader: string): void {
    const entries = this.#entries.get(reader);
    if (!entries) return;
    this.#entries.delete(reader);
    for (const entry of entries) {
      const readers = this.#stores.get(entry.store);
      if (!readers) continue;
      for (const key of entry.keys) {
        const set = readers.byKey.get(key);
        set?.delete(reader);
        if (set?.size === 0) readers.byKey.delete(key);
      }
      if (entry.finds.length > 0) readers.finds = readers.finds.filter((f) => f.reader !== reader);
      if (readers.byKey.size === 0 && readers.finds.length === 0) this.#stores.delete(entry.store);
    }
  }

  /** The ExternalSecrets (`namespace/name`, sorted) that read `key` through `store`. */
  readersOf(store: StoreRef, key: string): string[] {
    const readers = this.#stores.get(storeKeyOf(store));
    if (!readers) return [];
    const found = new Set(readers.byKey.get(key));
    for (const f of readers.finds) {
      if (f.path !== undefined && !key.startsWith(f.path)) continue;
      if (f.name && !f.name.test(key)) continue;
      found.add(f.reader);
    }
    return [...found].sort();
  }

  /** The keys of `store` that ExternalSecrets name (finds add the keys they match when those change). */
  keysOf(store: StoreRef): ReadonlySet<string> {
    return new Set(this.#stores.get(storeKeyOf(store))?.byKey.keys());
  }
}

/** A store's identity (as storeId gives it for the store object). */
export function storeKeyOf(store: StoreRef): string {
  return storeId({ kind: store.kind, metadata: { name: store.name, namespace: store.namespace } });
}

/** undefined: no regexp; null: an invalid one. */
function compile(source: string | undefined): RegExp | undefined | null {
  if (source === undefined) return undefined;
  try {
    return new RegExp(source);
  } catch {
    return null;
  }
}
