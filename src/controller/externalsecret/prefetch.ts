/**
 * Prefetch of a store's due reads. The queue runs a few reconciles at a
 * time, so the reads of a round of ExternalSecrets that became due together
 * would reach the backend a few at a time. When the first of them syncs, the
 * distinct (key, version) reads of every ExternalSecret of the namespace
 * that is due too go out at once, per store it reads from, through the session's batch path (readMany),
 * and each reconcile then finds its values in the shared read cache.
 *
 * Only for providers with readMany (for the others a prefetch would only move
 * reads earlier, or add some), only reads the due reconciles will make through
 * the cache (not those that bypass it), and only what is not cached already.
 */
import { entryStoreRef, storeRefKey } from "../../api/store-refs.ts";
import { defaults, type ExternalSecret, type ExternalSecretSpec } from "../../api/v1alpha1.ts";
import { validateExternalSecretSpec } from "../../api/validate.ts";
import { readRequestId, type ReadRequest } from "../../providers/types.ts";
import type { StoreSession } from "../secretstore/sessions.ts";
import { objectKey, type Informer } from "../../kube/informer.ts";
import { decideSync, type PhaseOf, type SyncDecision } from "./schedule.ts";
import { readRequestOf } from "./fetch.ts";
import type { Sources } from "./sources.ts";
import { targetName, type SecretObject } from "./target.ts";

/** A store's ExternalSecrets are looked over at most this often (each look lists them all). */
const SCAN_INTERVAL_MS = 1_000;

/** Due reasons whose sync reads through the cache ("spec" and "force-sync" bypass it; "not-ready" retries on its own back-off). */
const CACHED_REASONS = new Set<SyncDecision["reason"]>([
  "never-synced",
  "target-missing",
  "target-changed",
  "periodic",
]);

/** A read wanted by due ExternalSecrets, fresh enough for the strictest of them. */
interface WantedRead {
  request: ReadRequest;
  readsSinceMs: number;
}

export interface PrefetchDeps {
  externalSecrets: Pick<Informer<ExternalSecret>, "list">;
  secrets: Pick<Informer<SecretObject>, "get">;
  /** The phases the reconciles decide with. */
  phaseOf: PhaseOf;
  /** Whether the next sync of this key reads through the cache (false: it is asked to read fresh). */
  readsCached(key: string): boolean;
  /** How long the due periodic refresh of `es` waits for the pacer (0: it may read now; pacer.ts). */
  paceWaitMs(es: ExternalSecret, now: number): number;
}

export class DueReadPrefetcher {
  readonly #d: PrefetchDeps;
  /** Last scan per session (read-cache key). */
  readonly #scanned = new Map<string, number>();
  /** Per spec object (the informer replaces it on every change): validating each due object on every scan would cost. */
  readonly #plans = new WeakMap<ExternalSecretSpec, Map<string, ReadRequest[]> | undefined>();

  constructor(deps: PrefetchDeps) {
    this.#d = deps;
  }

  /** Starts the batched reads of what the due ExternalSecrets in `es`'s namespace will read from each store `es` reads; does not wait for them. */
  prefetch(es: ExternalSecret, sources: Sources, signal?: AbortSignal): void {
    for (const [store, session] of sources.byStore) this.#prefetchStore(es, store, session, signal);
  }

  #prefetchStore(es: ExternalSecret, store: string, session: StoreSession, signal?: AbortSignal): void {
    if (!session.batchesReads) return;
    const now = Date.now();
    if (now - (this.#scanned.get(session.cacheKey) ?? -Infinity) < SCAN_INTERVAL_MS) return;
    this.#scanned.set(session.cacheKey, now);
    const wanted = this.#dueReads(es, store, now);
    const requests: ReadRequest[] = [];
    const since: number[] = [];
    for (const { request, readsSinceMs } of wanted.values()) {
      if (session.isCached(request, readsSinceMs)) continue;
      requests.push(request);
      since.push(readsSinceMs);
    }
    // One read gains nothing from a batch: the reconcile that wants it reads it.
    if (requests.length < 2) return;
    // readAll reports failures per entry and never rejects; a failed read is not cached and is retried by its reconcile.
    void session.readAll(requests, since, signal);
  }

  /** Distinct reads from `store` (a storeRefKey) of the due ExternalSecrets in `es`'s namespace. */
  #dueReads(es: ExternalSecret, store: string, now: number): Map<string, WantedRead> {
    const wanted = new Map<string, WantedRead>();
    const namespace = es.metadata.namespace;
    for (const other of this.#d.externalSecrets.list()) {
      if (
        other.metadata.namespace !== namespace ||
        other.metadata.deletionTimestamp ||
        !this.#d.readsCached(objectKey(other))
      )
        continue;
      const target = this.#d.secrets.get(`${namespace}/${targetName(other)}`);
      // A Merge target we do not label yet is not in the cache: its reconcile looks it up and may find nothing to do.
      if (!target && (other.spec.target?.creationPolicy ?? defaults.creationPolicy) === "Merge") continue;
      // A target.manifest object is not in this cache either (nothing watches it): its reconcile reads it.
      if (other.spec.target?.manifest) continue;
      const reads = this.#plan(other.spec)?.get(store);
      if (!reads) continue;
      const decision = decideSync(other, target, now, this.#d.phaseOf);
      if (!decision.due || !CACHED_REASONS.has(decision.reason)) continue;
      // A late refresh the pacer holds back is not read ahead either (its reconcile asks again).
      if (decision.reason === "periodic" && this.#d.paceWaitMs(other, now) > 0) continue;
      const readsSinceMs = decision.readsSinceMs ?? now;
      for (const request of reads) {
        const id = readRequestId(request);
        const found = wanted.get(id);
        if (found) found.readsSinceMs = Math.max(found.readsSinceMs, readsSinceMs);
        else wanted.set(id, { request, readsSinceMs });
      }
    }
    return wanted;
  }

  /** The reads a spec makes through `data` and `dataFrom.extract`, per store (storeRefKey); undefined for an invalid spec (its own reconcile reports it). */
  #plan(spec: ExternalSecretSpec): Map<string, ReadRequest[]> | undefined {
    if (this.#plans.has(spec)) return this.#plans.get(spec);
    let plan: Map<string, ReadRequest[]> | undefined;
    try {
      const valid = validateExternalSecretSpec(spec);
      plan = new Map();
      const entries = [
        ...(valid.data ?? []).map((d) => ({ entry: d, ref: d.remoteRef })),
        ...(valid.dataFrom ?? []).flatMap((d) => (d.extract ? [{ entry: d, ref: d.extract }] : [])),
      ];
      for (const { entry, ref } of entries) {
        const store = entryStoreRef(valid, entry);
        if (!store) continue;
        const reads = plan.get(storeRefKey(store)) ?? [];
        plan.set(storeRefKey(store), [...reads, readRequestOf(ref)]);
      }
    } catch {
      plan = undefined;
    }
    this.#plans.set(spec, plan);
    return plan;
  }
}
