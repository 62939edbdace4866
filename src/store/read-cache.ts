/**
 * The shared read cache in front of every provider: one backend read per
 * (store, key, version) however many ExternalSecrets (or inline references)
 * ask at once (single flight), kept for the shortest refresh interval that
 * asked for it, bounded in size (least recently used goes first). Failures
 * are not cached. Hits and misses are reported through callbacks, so the
 * caller decides what metrics to keep.
 */
import type { ReadRequest, SecretValue } from "../providers/types.ts";

export interface ReadCacheOptions {
  /** Most entries kept; default 10,000. */
  maxEntries?: number;
  /** Clock in milliseconds; tests pass a fake one. */
  now?: () => number;
  onHit?(store: string): void;
  onMiss?(store: string): void;
}

interface Entry {
  store: string;
  value: SecretValue;
  fetchedAt: number;
  /** Shortest TTL any caller asked for. */
  ttlMs: number;
}

export class ReadCache {
  readonly #entries = new Map<string, Entry>();
  readonly #inFlight = new Map<
    string,
    { store: string; promise: Promise<SecretValue>; generation: number }
  >();
  /** Per-store invalidation counter: a read started before invalidate() is not stored after it. */
  readonly #generations = new Map<string, number>();
  readonly #max: number;
  readonly #now: () => number;
  readonly #onHit: (store: string) => void;
  readonly #onMiss: (store: string) => void;

  constructor(options: ReadCacheOptions = {}) {
    this.#max = options.maxEntries ?? 10_000;
    this.#now = options.now ?? Date.now;
    this.#onHit = options.onHit ?? (() => {});
    this.#onMiss = options.onMiss ?? (() => {});
  }

  get size(): number {
    return this.#entries.size;
  }

  /**
   * The cached value when fresh for `ttlMs`, else the result of `load` (shared
   * by every concurrent caller of the same key). Callers must not mutate what
   * they get: it is shared. On a miss `load` is called synchronously, before
   * `read` returns, so a caller can collect misses into one batch request.
   */
  read(
    store: string,
    request: ReadRequest,
    ttlMs: number,
    load: () => Promise<SecretValue>,
  ): Promise<SecretValue> {
    const id = entryId(store, request);
    const entry = this.#entries.get(id);
    if (entry) {
      entry.ttlMs = Math.min(entry.ttlMs, ttlMs);
      if (this.#now() - entry.fetchedAt < entry.ttlMs) {
        // Re-insert: Map order is the LRU order.
        this.#entries.delete(id);
        this.#entries.set(id, entry);
        this.#onHit(store);
        return Promise.resolve(entry.value);
      }
      this.#entries.delete(id);
    }
    const flight = this.#inFlight.get(id);
    if (flight) {
      this.#onHit(store);
      return flight.promise;
    }
    this.#onMiss(store);
    const generation = this.#generations.get(store) ?? 0;
    const promise = load().then(
      (value) => {
        this.#inFlight.delete(id);
        if ((this.#generations.get(store) ?? 0) === generation)
          this.#store(id, { store, value, fetchedAt: this.#now(), ttlMs });
        return value;
      },
      (err: unknown) => {
        this.#inFlight.delete(id);
        throw err;
      },
    );
    this.#inFlight.set(id, { store, promise, generation });
    return promise;
  }

  /** Whether `read` with this TTL would be served without calling `load` (fresh entry or read in flight); counts nothing. */
  has(store: string, request: ReadRequest, ttlMs: number): boolean {
    const id = entryId(store, request);
    const entry = this.#entries.get(id);
    const fresh = entry !== undefined && this.#now() - entry.fetchedAt < Math.min(entry.ttlMs, ttlMs);
    return fresh || this.#inFlight.has(id);
  }

  /** Forgets everything read from a store (its spec or credentials changed). */
  invalidate(store: string): void {
    this.#generations.set(store, (this.#generations.get(store) ?? 0) + 1);
    for (const [id, entry] of this.#entries) if (entry.store === store) this.#entries.delete(id);
    for (const [id, flight] of this.#inFlight) if (flight.store === store) this.#inFlight.delete(id);
  }

  #store(id: string, entry: Entry): void {
    this.#entries.set(id, entry);
    while (this.#entries.size > this.#max) {
      const oldest = this.#entries.keys().next().value as string;
      this.#entries.delete(oldest);
    }
  }
}

function entryId(store: string, request: ReadRequest): string {
  return JSON.stringify([store, request.key, request.version ?? null]);
}
