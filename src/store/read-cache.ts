/**
 * The shared read cache in front of every provider: one backend read per
 * (store, key, version) however many ExternalSecrets (or inline references)
 * ask at once (single flight). Each caller says how fresh a value must be as
 * a time: it takes only a value whose read started at or after `readsSince`
 * (so the value reflects the store as of then or later), and a read already
 * in flight only when it started then or later. A newer read replaces the
 * entry for everyone. Bounded in size (least recently used goes first).
 * Failures are not cached. Hits and misses are reported through callbacks,
 * so the caller decides what metrics to keep.
 */
import { readRequestId, type ReadRequest, type SecretValue } from "../providers/types.ts";

export interface ReadCacheOptions {
  /** Most entries kept; default 10,000. */
  maxEntries?: number;
  /** Clock in milliseconds (the clock `readsSince` is on); tests pass a fake one. */
  now?: () => number;
  onHit?(store: string): void;
  onMiss?(store: string): void;
}

interface Entry {
  store: string;
  value: SecretValue;
  /** When the read that produced the value started. */
  readAt: number;
}

interface Flight {
  store: string;
  promise: Promise<SecretValue>;
  startedAt: number;
  /** The store's invalidation counter when the read started. */
  generation: number;
}

export class ReadCache {
  readonly #entries = new Map<string, Entry>();
  readonly #inFlight = new Map<string, Flight>();
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
   * The cached value when its read started at or after `readsSince`, else
   * the result of `load` (shared by every concurrent caller that accepts
   * it). Callers must not mutate what they get: it is shared. On a miss
   * `load` is called synchronously, before `read` returns, so a caller can
   * collect misses into one batch request.
   */
  read(
    store: string,
    request: ReadRequest,
    readsSince: number,
    load: () => Promise<SecretValue>,
  ): Promise<SecretValue> {
    const id = entryId(store, request);
    const entry = this.#entries.get(id);
    if (entry && entry.readAt >= readsSince) {
      // Re-insert: Map order is the LRU order.
      this.#entries.delete(id);
      this.#entries.set(id, entry);
      this.#onHit(store);
      return Promise.resolve(entry.value);
    }
    const flight = this.#inFlight.get(id);
    if (flight && flight.startedAt >= readsSince) {
      this.#onHit(store);
      return flight.promise;
    }
    this.#onMiss(store);
    const started: Omit<Flight, "promise"> = {
      store,
      startedAt: this.#now(),
      generation: this.#generations.get(store) ?? 0,
    };
    const settle = () => {
      if (this.#inFlight.get(id)?.promise === promise) this.#inFlight.delete(id);
    };
    const promise = load().then(
      (value) => {
        settle();
        this.#keep(id, started, value);
        return value;
      },
      (err: unknown) => {
        settle();
        throw err;
      },
    );
    this.#inFlight.set(id, { ...started, promise });
    return promise;
  }

  /** Whether `read` with this `readsSince` would be served without calling `load`; counts nothing. */
  has(store: string, request: ReadRequest, readsSince: number): boolean {
    const id = entryId(store, request);
    const entry = this.#entries.get(id);
    const flight = this.#inFlight.get(id);
    return (entry?.readAt ?? -Infinity) >= readsSince || (flight?.startedAt ?? -Infinity) >= readsSince;
  }

  /** The cached value of a request and when its read started; counts nothing, moves nothing. */
  peek(store: string, request: ReadRequest): { value: SecretValue; readAt: number } | undefined {
    const entry = this.#entries.get(entryId(store, request));
    return entry && { value: entry.value, readAt: entry.readAt };
  }

  /** Forgets everything read from a store (its spec or credentials changed). */
  invalidate(store: string): void {
    this.#generations.set(store, (this.#generations.get(store) ?? 0) + 1);
    for (const [id, entry] of this.#entries) if (entry.store === store) this.#entries.delete(id);
    for (const [id, flight] of this.#inFlight) if (flight.store === store) this.#inFlight.delete(id);
  }

  /** Stores a finished read unless the store was invalidated since it started or a newer read is kept. */
  #keep(id: string, read: Omit<Flight, "promise">, value: SecretValue): void {
    if ((this.#generations.get(read.store) ?? 0) !== read.generation) return;
    if ((this.#entries.get(id)?.readAt ?? -Infinity) > read.startedAt) return;
    this.#entries.delete(id);
    this.#entries.set(id, { store: read.store, value, readAt: read.startedAt });
    while (this.#entries.size > this.#max) {
      const oldest = this.#entries.keys().next().value as string;
      this.#entries.delete(oldest);
    }
  }
}

function entryId(store: string, request: ReadRequest): string {
  return JSON.stringify([store, readRequestId(request)]);
}
