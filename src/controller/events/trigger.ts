/**
 * The one refresh-trigger path: every source's changes end here. A change
 * to key K of store S refreshes, outside their slot, the ExternalSecrets
 * that read K through S, each taking K only from a read that started after
 * the change arrived: the first of them reads K, the others share that read
 * (the read cache's single flight and freshness by time), under the store's
 * rate limit like every read. Changes to one key arriving within a short
 * window collapse into one refresh (duplicates, reordered deliveries, two
 * sources reporting the same write); a change naming the version every
 * reader already has, and a change to a key nobody reads, cost nothing.
 */
import { storeKeyOf, type KeyReaders } from "./readers.ts";
import type { KeyChange, StoreRef } from "./source.ts";

/** What became of a change (the `outcome` label of refsync_key_changes_total). */
export type ChangeOutcome =
  /** Refresh scheduled for its readers. */
  | "refresh"
  /** Joined a refresh of the same key already scheduled. */
  | "duplicate"
  /** Every reader already holds this version. */
  | "unchanged"
  /** No ExternalSecret reads the key through this store. */
  | "unread";

export interface TriggerDeps {
  readers: Pick<KeyReaders, "readersOf">;
  /** Whether every one of `readers` already synced `version` of `key` (then the change costs nothing). */
  synced(store: StoreRef, key: string, version: string, readers: readonly string[]): boolean;
  /** Refreshes `readers` now, taking `key` only from a read started at or after `sinceMs`. */
  refresh(store: StoreRef, key: string, readers: readonly string[], sinceMs: number): void;
  onOutcome?(change: KeyChange, outcome: ChangeOutcome): void;
  /** Changes to one key within this window make one refresh; default 200 ms. */
  windowMs?: number;
}

interface Pending {
  store: StoreRef;
  key: string;
  /** The latest arrival among the changes collapsed. */
  sinceMs: number;
  timer: NodeJS.Timeout;
}

const DEFAULT_WINDOW_MS = 200;

export class RefreshTrigger {
  readonly #d: TriggerDeps;
  readonly #pending = new Map<string, Pending>();

  constructor(deps: TriggerDeps) {
    this.#d = deps;
  }

  /** Takes one change (a ChangeSink); says what became of it. */
  report(change: KeyChange): ChangeOutcome {
    const outcome = this.#decide(change);
    this.#d.onOutcome?.(change, outcome);
    return outcome;
  }

  /** Drops the refreshes not yet started (leadership lost, shutdown). */
  stop(): void {
    for (const p of this.#pending.values()) clearTimeout(p.timer);
    this.#pending.clear();
  }

  #decide(change: KeyChange): ChangeOutcome {
    const readers = this.#d.readers.readersOf(change.store, change.key);
    if (readers.length === 0) return "unread";
    const id = JSON.stringify([storeKeyOf(change.store), change.key]);
    const pending = this.#pending.get(id);
    if (pending) {
      pending.sinceMs = Math.max(pending.sinceMs, change.receivedAt);
      return "duplicate";
    }
    if (change.version !== undefined && this.#d.synced(change.store, change.key, change.version, readers))
      return "unchanged";
    const timer = setTimeout(() => this.#fire(id), this.#d.windowMs ?? DEFAULT_WINDOW_MS);
    timer.unref();
    this.#pending.set(id, { store: change.store, key: change.key, sinceMs: change.receivedAt, timer });
    return "refresh";
  }

  #fire(id: string): void {
    const p = this.#pending.get(id);
    if (!p) return;
    this.#pending.delete(id);
    // Readers as they are now: one created or deleted during the window counts as such.
    const readers = this.#d.readers.readersOf(p.store, p.key);
    if (readers.length > 0) this.#d.refresh(p.store, p.key, readers, p.sinceMs);
  }
}
