/**
 * Event-driven refresh as one part of the controller (see source.ts): the
 * index of who reads which key (kept from the ExternalSecret informer on
 * every replica, so a new leader has it at once), the refresh trigger every
 * source reports to, and the sources, which run only while this replica
 * leads. The controller (manager.ts) creates it, tells it about stores and
 * leadership, and asks it for the stores' EventsReady condition; the HTTP
 * endpoint (src/server/events.ts) finds the push sources here.
 */
import type { ExternalSecret, SecretStore } from "../../api/v1alpha1.ts";
import { objectKey, type Informer } from "../../kube/informer.ts";
import type { Logger } from "../../log.ts";
import type { ControllerMetrics } from "../metrics.ts";
import type { StoreLookup } from "../secretstore/resolve.ts";
import type { StoreSessions } from "../secretstore/sessions.ts";
import { KeyReaders, storeKeyOf } from "./readers.ts";
import { changeSourceFactories } from "./registry.ts";
import type { ChangeSourceFactory, PushSource, StoreRef } from "./source.ts";
import { EventSources, type EventsCondition } from "./sources.ts";
import { RefreshTrigger } from "./trigger.ts";

export interface EventRefreshDeps {
  log: Logger;
  metrics: ControllerMetrics;
  externalSecrets: Informer<ExternalSecret>;
  stores: Pick<StoreLookup, "secretStore" | "clusterSecretStore">;
  sessions: StoreSessions;
  /** Refreshes ExternalSecret `esKey` now, reading `key` of `store` (storeKeyOf) only from a read started at or after `sinceMs`. */
  refresh(esKey: string, store: string, key: string, sinceMs: number): void;
  /** The store's EventsReady condition is to be written again (enqueue its reconcile). */
  storeHealthChanged(store: SecretStore): void;
  /** Default: registry.ts. */
  factories?: readonly ChangeSourceFactory[];
  /** The trigger's collapse window; default 200 ms. */
  windowMs?: number;
}

export class EventRefresh {
  readonly readers = new KeyReaders();
  readonly #d: EventRefreshDeps;
  readonly #trigger: RefreshTrigger;
  readonly #sources: EventSources;
  #leading = false;

  constructor(deps: EventRefreshDeps) {
    this.#d = deps;
    deps.externalSecrets.on((event, es) => {
      if (event === "delete") this.readers.delete(objectKey(es));
      else this.readers.set(es);
    });
    this.#trigger = new RefreshTrigger({
      readers: this.readers,
      windowMs: deps.windowMs,
      synced: (store, key, version, readers) => this.#synced(store, key, version, readers),
      refresh: (store, key, readers, sinceMs) => {
        for (const r of readers) deps.refresh(r, storeKeyOf(store), key, sinceMs);
      },
      onOutcome: (change, outcome) => {
        deps.metrics.keyChanges.inc({ source: change.source, outcome });
        deps.log.debug(
          { store: change.store, key: change.key, source: change.source, outcome },
          "key change",
        );
      },
    });
    this.#sources = new EventSources({
      log: deps.log,
      metrics: deps.metrics,
      factories: deps.factories ?? changeSourceFactories,
      sink: (change) => {
        if (this.#leading) this.#trigger.report(change);
      },
      providerContext: (store) => deps.sessions.providerContext(store),
      readKeys: (store) => this.readers.keysOf(store),
      onHealthChanged: (store) => deps.storeHealthChanged(store),
    });
  }

  /** Whether changes are acted on here (only the leader reconciles). */
  get leading(): boolean {
    return this.#leading;
  }

  startLeading(signal: AbortSignal, stores: SecretStore[]): void {
    this.#leading = true;
    this.#sources.start(signal, stores);
  }

  async stopLeading(): Promise<void> {
    this.#leading = false;
    this.#trigger.stop();
    await this.#sources.stop();
  }

  /** A store was added, changed or deleted. */
  storeChanged(event: "add" | "update" | "delete", store: SecretStore): void {
    if (event === "delete") this.#sources.remove(store);
    else this.#sources.sync(store);
  }

  condition(store: SecretStore): EventsCondition | undefined {
    return this.#sources.condition(store);
  }

  pushSources(store: StoreRef): PushSource[] {
    return this.#sources.pushSources(store);
  }

  /**
   * Whether each reader has `version` of `key` already: the read cache holds that version, read
   * no later than the second of the reader's last sync (refreshTime has one-second resolution).
   */
  #synced(store: StoreRef, key: string, version: string, readers: readonly string[]): boolean {
    const object =
      store.kind === "ClusterSecretStore"
        ? this.#d.stores.clusterSecretStore(store.name)
        : this.#d.stores.secretStore(store.namespace ?? "", store.name);
    if (!object) return false;
    return readers.every((reader) => {
      const es = this.#d.externalSecrets.get(reader);
      if (!es) return true;
      let hit: ReturnType<ReturnType<StoreSessions["session"]>["cached"]>;
      try {
        hit = this.#d.sessions.session(object, es.metadata.namespace).cached({ key });
      } catch {
        return false;
      }
      const synced = Date.parse(es.status?.refreshTime ?? "");
      return hit?.version === version && synced + 1000 > hit.readAt;
    });
  }
}
