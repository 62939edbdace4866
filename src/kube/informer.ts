/**
 * List + watch into an in-memory cache that survives reality: a 410 Gone
 * (resourceVersion compacted away) re-lists, any other failure restarts with
 * exponential back-off, and a watch that has been silent longer than
 * `silenceMs` (a half-open connection) is abandoned and re-listed. A re-list
 * diffs against the cache, so handlers see the adds, updates and deletes
 * they missed.
 */
import type { Logger } from "../log.ts";
import { sleep } from "./sleep.ts";
import { isGone, type KubeClient, type KubeObject } from "./client.ts";
import { type ResourceType } from "./resources.ts";

export type InformerEvent = "add" | "update" | "delete";
export type InformerHandler<T> = (event: InformerEvent, obj: T, old?: T) => void;

export interface InformerOptions {
  namespace?: string;
  labelSelector?: string;
  /** Server-side watch timeout; the watch is simply renewed when it ends. */
  watchTimeoutSeconds?: number;
  /** Re-list when nothing (not even a bookmark) arrived for this long. */
  silenceMs?: number;
  maxBackoffMs?: number;
}

export function objectKey(obj: { metadata: { name: string; namespace?: string } }): string {
  return obj.metadata.namespace ? `${obj.metadata.namespace}/${obj.metadata.name}` : obj.metadata.name;
}

export class Informer<T extends KubeObject> {
  readonly type: ResourceType;
  readonly #client: KubeClient;
  readonly #opts: Required<Omit<InformerOptions, "namespace" | "labelSelector">> &
    Pick<InformerOptions, "namespace" | "labelSelector">;
  readonly #log: Logger;
  readonly #cache = new Map<string, T>();
  readonly #handlers: InformerHandler<T>[] = [];
  #abort: AbortController | undefined;
  #synced = false;
  #syncWaiters: (() => void)[] = [];
  #loop: Promise<void> | undefined;
  /** Counts re-lists, for tests and metrics. */
  relists = 0;

  constructor(client: KubeClient, type: ResourceType, log: Logger, options: InformerOptions = {}) {
    this.#client = client;
    this.type = type;
    this.#log = log.child({ informer: type.plural });
    this.#opts = { watchTimeoutSeconds: 300, silenceMs: 330_000, maxBackoffMs: 30_000, ...options };
  }

  on(handler: InformerHandler<T>): void {
    this.#handlers.push(handler);
  }

  /**
   * Puts what a write returned into the cache without notifying handlers, so
   * the next reconcile sees our own write before its watch event arrives
   * (and the event, carrying the same resourceVersion, is then a no-op).
   */
  observe(obj: T): void {
    const key = objectKey(obj);
    // A later edit's watch event can come before our write's response: that edit stays cached, as
    // no event would bring it back.
    if (compareVersions(obj.metadata.resourceVersion, this.#cache.get(key)?.metadata.resourceVersion) === -1)
      return;
    this.#cache.set(key, slim(obj));
  }

  get(key: string): T | undefined {
    return this.#cache.get(key);
  }

  list(): T[] {
    return [...this.#cache.values()];
  }

  get synced(): boolean {
    return this.#synced;
  }

  waitForSync(): Promise<void> {
    if (this.#synced) return Promise.resolve();
    return new Promise((resolve) => this.#syncWaiters.push(resolve));
  }

  start(): void {
    if (this.#loop) return;
    this.#abort = new AbortController();
    this.#loop = this.#run(this.#abort.signal);
  }

  async stop(): Promise<void> {
    this.#abort?.abort();
    await this.#loop;
    this.#loop = undefined;
  }

  async #run(signal: AbortSignal): Promise<void> {
    let failures = 0;
    while (!signal.aborted) {
      try {
        let rv = await this.#relist(signal);
        failures = 0;
        // Watch from the list's resourceVersion until it is gone or goes silent.
        for (;;) {
          const next = await this.#watchOnce(rv, signal);
          if (next === undefined) break;
          rv = next;
        }
      } catch (err) {
        if (signal.aborted) break;
        failures++;
        const delay = Math.min(this.#opts.maxBackoffMs, 500 * 2 ** (failures - 1));
        this.#log.warn({ err: errorSummary(err), retryInMs: delay }, "list/watch failed");
        await sleep(delay, signal);
      }
    }
  }

  async #relist(signal: AbortSignal): Promise<string> {
    const { items, resourceVersion } = await this.#client.list<T>(this.type, {
      namespace: this.#opts.namespace,
      labelSelector: this.#opts.labelSelector,
      signal,
    });
    this.relists++;
    const seen = new Set<string>();
    for (const item of items) {
      const key = objectKey(item);
      seen.add(key);
      this.#upsert(key, item);
    }
    for (const [key, old] of this.#cache) {
      // An object we observed from our own write after the list's snapshot is not gone.
      if (!seen.has(key) && compareVersions(old.metadata.resourceVersion, resourceVersion) !== 1) {
        this.#cache.delete(key);
        this.#emit("delete", old);
      }
    }
    if (!this.#synced) {
      this.#synced = true;
      for (const resolve of this.#syncWaiters.splice(0)) resolve();
    }
    return resourceVersion;
  }

  /** One watch request. Returns the resourceVersion to continue from, or undefined to re-list. */
  async #watchOnce(rv: string, outer: AbortSignal): Promise<string | undefined> {
    const abort = new AbortController();
    const onOuter = () => abort.abort();
    outer.addEventListener("abort", onOuter, { once: true });
    let silent = false;
    const timer = setTimeout(() => {
      silent = true;
      abort.abort();
    }, this.#opts.silenceMs).unref();
    // Every event re-arms it: refresh() moves the one timer instead of replacing it per event.
    const arm = () => timer.refresh();
    let last = rv;
    try {
      await this.#client.watch<T>(
        this.type,
        {
          namespace: this.#opts.namespace,
          labelSelector: this.#opts.labelSelector,
          resourceVersion: rv,
          timeoutSeconds: this.#opts.watchTimeoutSeconds,
          signal: abort.signal,
        },
        (event) => {
          arm();
          last = event.object.metadata.resourceVersion ?? last;
          if (event.type === "BOOKMARK") return;
          const obj = { apiVersion: event.object.apiVersion, kind: event.object.kind, ...event.object } as T;
          const key = objectKey(obj);
          if (event.type === "DELETED") {
            const old = this.#cache.get(key);
            this.#cache.delete(key);
            this.#emit("delete", old ?? obj);
          } else {
            this.#upsert(key, obj);
          }
        },
      );
      return last;
    } catch (err) {
      if (outer.aborted) throw err;
      if (silent) {
        this.#log.info({ silenceMs: this.#opts.silenceMs }, "watch silent too long; re-listing");
        return undefined;
      }
      if (isGone(err)) {
        this.#log.debug("resourceVersion expired (410); re-listing");
        return undefined;
      }
      throw err;
    } finally {
      clearTimeout(timer);
      outer.removeEventListener("abort", onOuter);
    }
  }

  #upsert(key: string, fresh: T): void {
    const old = this.#cache.get(key);
    if (old && !isNewer(fresh.metadata.resourceVersion, old.metadata.resourceVersion)) return;
    const obj = slim(fresh);
    this.#cache.set(key, obj);
    this.#emit(old ? "update" : "add", obj, old);
  }

  #emit(event: InformerEvent, obj: T, old?: T): void {
    for (const handler of this.#handlers) {
      try {
        handler(event, obj, old);
      } catch (err) {
        this.#log.error({ err: errorSummary(err) }, "informer handler failed");
      }
    }
  }
}

/**
 * Whether `a` is a later resourceVersion than `b`. They are opaque to
 * clients, but etcd's are increasing integers; an event older than what we
 * observed from our own write must not roll the cache back.
 */
function isNewer(a: string | undefined, b: string | undefined): boolean {
  if (a === b) return false;
  return compareVersions(a, b) !== -1;
}

/** 1, 0 or -1 comparing two resourceVersions; undefined when they are not both integers. */
function compareVersions(a: string | undefined, b: string | undefined): 1 | 0 | -1 | undefined {
  if (!a || !b || !/^\d+$/.test(a) || !/^\d+$/.test(b)) return undefined;
  const x = BigInt(a);
  const y = BigInt(b);
  return x > y ? 1 : x < y ? -1 : 0;
}

/** managedFields are the bulk of an object and nothing we read: memory follows what we use. */
function slim<T extends KubeObject>(obj: T): T {
  const meta = obj.metadata as { managedFields?: unknown };
  if (meta.managedFields === undefined) return obj;
  const { managedFields: _dropped, ...metadata } = meta;
  return { ...obj, metadata } as T;
}

export function errorSummary(err: unknown): { name: string; message: string } {
  return err instanceof Error
    ? { name: err.name, message: err.message }
    : { name: "Error", message: String(err) };
}
