/**
 * The sources manager: while this replica leads, one change source per
 * field of each store's `spec.events` (factories from registry.ts), started
 * when the store appears, restarted when its spec (generation) changes,
 * stopped when it goes. A source whose `start` gives up is started again
 * after a back-off. Their health becomes the store's `EventsReady`
 * condition (written by the store reconciler, which asks `condition`) and
 * `refsync_event_source_up`; a field this build has no source for, or one
 * set on a store of another provider, is refused there (EventsReady=False),
 * never ignored. Push sources (webhook, Event Grid) are found here by the
 * HTTP endpoint (`pushSources`).
 */
import type { SecretStore } from "../../api/v1alpha1.ts";
import { validateStoreSpec } from "../../api/validate.ts";
import { errorSummary } from "../../kube/informer.ts";
import { sleep } from "../../kube/sleep.ts";
import type { Logger } from "../../log.ts";
import type { ProviderContext } from "../../providers/types.ts";
import type { ControllerMetrics } from "../metrics.ts";
import { storeId } from "../secretstore/resolve.ts";
import {
  storeRefOf,
  type ChangeSink,
  type ChangeSource,
  type ChangeSourceFactory,
  type PushSource,
  type StoreRef,
} from "./source.ts";
import { storeKeyOf } from "./readers.ts";

export interface EventSourcesDeps {
  log: Logger;
  metrics: ControllerMetrics;
  factories: readonly ChangeSourceFactory[];
  sink: ChangeSink;
  /** The store's own identity for a source's client (StoreSessions.providerContext). */
  providerContext(store: SecretStore): ProviderContext;
  readKeys(store: StoreRef): ReadonlySet<string>;
  /** A source of `store` went up or down: its EventsReady condition is to be written again. */
  onHealthChanged(store: SecretStore): void;
  /** First wait before a source that gave up is started again (doubles, up to 5 min); default 5 s. */
  restartMs?: number;
}

/** The condition a store's sources give it. */
export interface EventsCondition {
  type: "EventsReady";
  status: "True" | "False";
  reason: "SourcesUp" | "SourceDown" | "SourceUnavailable";
  message: string;
}

interface Running {
  field: string;
  source: ChangeSource;
  abort: AbortController;
  done: Promise<void>;
  /** Why its start gave up (until it is started again). */
  failure?: string;
}

interface StoreSources {
  store: SecretStore;
  sources: Running[];
  /** Fields set that no source serves here, and why. */
  refused: { field: string; reason: string }[];
}

const MAX_RESTART_MS = 5 * 60_000;

export class EventSources {
  readonly #d: EventSourcesDeps;
  readonly #stores = new Map<string, StoreSources>();
  #signal: AbortSignal | undefined;

  constructor(deps: EventSourcesDeps) {
    this.#d = deps;
  }

  /** Starts the sources of `stores`, and of every store `sync` is given, until `signal` aborts. */
  start(signal: AbortSignal, stores: SecretStore[]): void {
    this.#signal = signal;
    for (const store of stores) this.sync(store);
  }

  /** A store was added or changed: (re)start its sources when its spec changed. */
  sync(store: SecretStore): void {
    const signal = this.#signal;
    if (!signal || signal.aborted) return;
    const key = storeId(store);
    const current = this.#stores.get(key);
    if (
      current &&
      current.store.metadata.uid === store.metadata.uid &&
      current.store.metadata.generation === store.metadata.generation
    ) {
      current.store = store;
      return;
    }
    this.#stopStore(key);
    if (!store.spec.events) return;
    try {
      validateStoreSpec(store.spec);
    } catch {
      return; // the store's Ready condition names the problem
    }
    const entry: StoreSources = { store, sources: [], refused: [] };
    this.#stores.set(key, entry);
    const provider = Object.keys(store.spec.provider)[0] ?? "";
    for (const [field, config] of Object.entries(store.spec.events)) {
      if (config === undefined) continue;
      const factory = this.#d.factories.find((f) => f.field === field);
      if (!factory) {
        entry.refused.push({ field, reason: `spec.events.${field} is not available in this build` });
        continue;
      }
      if (factory.providers && !factory.providers.includes(provider)) {
        entry.refused.push({
          field,
          reason: `spec.events.${field} serves stores of provider ${factory.providers.join(" or ")}, not ${provider}`,
        });
        continue;
      }
      try {
        const source = factory.create(store, {
          sink: this.#d.sink,
          log: this.#d.log.child({ store: key, source: field }),
          provider: this.#d.providerContext(store),
          healthChanged: () => this.#healthChanged(key),
          readKeys: () => this.#d.readKeys(storeRefOf(store)),
        });
        entry.sources.push(this.#run(key, field, source, signal));
      } catch (err) {
        entry.refused.push({ field, reason: `spec.events.${field}: ${errorSummary(err).message}` });
      }
    }
    this.#healthChanged(key);
  }

  /** A store was deleted. */
  remove(store: Pick<SecretStore, "kind" | "metadata">): void {
    this.#stopStore(storeId(store));
  }

  /** Stops every source and waits for them. */
  async stop(): Promise<void> {
    const done = [...this.#stores.values()].flatMap((e) => e.sources.map((r) => r.done));
    for (const key of [...this.#stores.keys()]) this.#stopStore(key);
    this.#signal = undefined;
    await Promise.allSettled(done);
  }

  /** The EventsReady condition of a store with `spec.events` whose sources run here; undefined otherwise. */
  condition(store: Pick<SecretStore, "kind" | "metadata">): EventsCondition | undefined {
    const entry = this.#stores.get(storeId(store));
    if (!entry) return undefined;
    const down = [
      ...entry.refused.map((r) => ({ field: r.field, reason: r.reason })),
      ...entry.sources.flatMap((r) => {
        const h = r.failure === undefined ? r.source.health() : { up: false, reason: r.failure };
        return h.up ? [] : [{ field: r.field, reason: h.reason ?? "down" }];
      }),
    ];
    if (down.length === 0)
      return {
        type: "EventsReady",
        status: "True",
        reason: "SourcesUp",
        message: `receiving changes from ${entry.sources.map((r) => r.field).join(", ")}`,
      };
    const refusedOnly = down.every((d) => entry.refused.some((r) => r.field === d.field));
    return {
      type: "EventsReady",
      status: "False",
      reason: refusedOnly ? "SourceUnavailable" : "SourceDown",
      message: `${down.map((d) => `${d.field}: ${d.reason}`).join("; ")}; ExternalSecrets refresh on their refreshInterval meanwhile`,
    };
  }

  /** The push sources (webhook, Event Grid) of a store, for the HTTP endpoint. */
  pushSources(ref: StoreRef): PushSource[] {
    const entry = this.#stores.get(storeKeyOf(ref));
    return (entry?.sources ?? []).map((r) => r.source).filter(isPushSource);
  }

  #run(key: string, field: string, source: ChangeSource, parent: AbortSignal): Running {
    const abort = new AbortController();
    const stop = () => abort.abort();
    parent.addEventListener("abort", stop, { once: true });
    const running: Running = { field, source, abort, done: Promise.resolve() };
    running.done = (async () => {
      let wait = this.#d.restartMs ?? 5_000;
      while (!abort.signal.aborted) {
        try {
          await source.start(abort.signal);
          if (abort.signal.aborted) break;
          running.failure = "stopped by itself";
        } catch (err) {
          if (abort.signal.aborted) break;
          running.failure = errorSummary(err).message;
        }
        this.#d.log.warn(
          { store: key, source: field, reason: running.failure },
          "event source stopped; restarting",
        );
        this.#healthChanged(key);
        await sleep(wait, abort.signal);
        wait = Math.min(wait * 2, MAX_RESTART_MS);
        delete running.failure;
      }
      parent.removeEventListener("abort", stop);
    })();
    return running;
  }

  #stopStore(key: string): void {
    const entry = this.#stores.get(key);
    if (!entry) return;
    this.#stores.delete(key);
    for (const r of entry.sources) {
      r.abort.abort();
      this.#d.metrics.eventSourceUp.remove(upLabels(entry.store, r.source.name));
    }
  }

  #healthChanged(key: string): void {
    const entry = this.#stores.get(key);
    if (!entry) return;
    for (const r of entry.sources) {
      const up = r.failure === undefined && r.source.health().up;
      this.#d.metrics.eventSourceUp.set(upLabels(entry.store, r.source.name), up ? 1 : 0);
    }
    this.#d.onHealthChanged(entry.store);
  }
}

function upLabels(store: SecretStore, source: string) {
  return {
    kind: store.kind,
    namespace: store.metadata.namespace ?? "",
    store: store.metadata.name,
    source,
  };
}

function isPushSource(source: ChangeSource): source is PushSource {
  return typeof (source as Partial<PushSource>).receive === "function";
}
