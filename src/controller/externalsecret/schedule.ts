/**
 * When an ExternalSecret needs a sync, and how fresh the values it reads
 * must be. Periodic: in fixed slots, one per `refreshInterval`, at a phase
 * within the interval that comes from the object's store and first key, so
 * ExternalSecrets sharing a key refresh in the same slots and that key is
 * read once per slot for all of them. The controller places the phases of
 * all its keys evenly over the interval (placement.ts); without a placement
 * a phase is hashed from the key. Nothing is stored: a restart or a new
 * leader computes the same slots. A periodic refresh (or the retry of a
 * failed sync) takes a cached value only when it was read since the latest
 * slot; a first sync or a Secret to restore also one read within the minimum
 * gap before it (objects synced then skipped that slot and keep their value
 * until the next one, as this object will). So a change in the store reaches
 * every Secret by the next slot after it, within one interval, however the
 * reads are shared. OnChange: only when the spec (generation) or the
 * force-sync annotation changed. CreatedOnce: only until the Secret first
 * exists. spec.syncWindows (Periodic only, as ESO) holds back a periodic
 * refresh, or the retry of a failed one, until a window allows it; a new
 * spec, a forced sync or a missing or edited Secret do not wait.
 */
import { createHash } from "node:crypto";
import {
  ANNOTATION_DATA_HASH,
  ANNOTATION_FORCE_SYNC,
  defaults,
  type ExternalSecret,
} from "../../api/v1alpha1.ts";
import { entryStoreRef } from "../../api/store-refs.ts";
import { nextAllowed, refreshAllowed } from "../../api/sync-windows.ts";
import { parseDuration } from "../../api/validate.ts";
import { getCondition } from "../../kube/conditions.ts";
import type { TargetObject } from "./target.ts";

export interface SyncDecision {
  due: boolean;
  /** Why, for logs; "spec" and "force-sync" bypass the read cache. */
  reason:
    | "never-synced"
    | "spec"
    | "force-sync"
    | "not-ready"
    | "target-missing"
    | "target-changed"
    | "periodic"
    /** Not due: a refresh is due, but spec.syncWindows does not allow it now. */
    | "window"
    | "none";
  /** When not due: when to look again (Periodic only). */
  nextInMs?: number;
  /** When due: the sync takes only values read at or after this time (ms since the epoch). */
  readsSinceMs?: number;
}

/** Generation plus the force-sync annotation: a new value means "sync now". */
export function syncToken(es: ExternalSecret): string {
  return `${es.metadata.generation ?? 0}/${es.metadata.annotations?.[ANNOTATION_FORCE_SYNC] ?? ""}`;
}

export function refreshIntervalMs(es: Pick<ExternalSecret, "spec">): number {
  const value = es.spec.refreshInterval ?? defaults.refreshInterval;
  return value === "0" ? 0 : parseDuration(value);
}

/** A fraction in [0, 1), fixed for `seed` (48 bits of its SHA-256). */
export function seedHash(seed: string): number {
  return createHash("sha256").update(seed).digest().readUIntBE(0, 6) / 2 ** 48;
}

/** Where in every interval a seed's slots fall, ms in [0, interval) (used whole: slots are integer ms). */
export type PhaseOf = (seed: string, intervalMs: number) => number;

/** The phase of a seed on its own: hashed (a RefreshPlacement places the controller's seeds evenly). */
export const hashedPhaseMs: PhaseOf = (seed, intervalMs) => seedHash(seed) * intervalMs;

/** How soon after a sync the next refresh may come, as a fraction of the interval. */
const MIN_GAP = 0.05;

/**
 * How soon after a sync the next refresh may come: 5 % of the interval, and
 * at least a second (refreshTime has one-second resolution, so a shorter gap
 * could re-pick the slot just served). It also absorbs a phase that moved a
 * little since the last slot (a key added or removed moves the others by
 * less than interval/n): the next slot never comes sooner than this.
 */
function minGapMs(intervalMs: number): number {
  return Math.max(MIN_GAP * intervalMs, 1000);
}

/**
 * When to refresh after a sync at `lastMs`: the first slot (k·interval +
 * phase) at least minGapMs after `lastMs`. So the first refresh after a sync
 * comes no sooner than 5 % and no later than 105 % of the interval after it;
 * after it, refreshes follow the slots, one interval apart.
 */
export function nextRefreshMs(
  seed: string,
  intervalMs: number,
  lastMs: number,
  phaseOf: PhaseOf = hashedPhaseMs,
): number {
  const phase = Math.floor(phaseOf(seed, intervalMs));
  return Math.ceil((lastMs + minGapMs(intervalMs) - phase) / intervalMs) * intervalMs + phase;
}

/** The latest slot at or before `nowMs`. */
export function lastSlotMs(
  seed: string,
  intervalMs: number,
  nowMs: number,
  phaseOf: PhaseOf = hashedPhaseMs,
): number {
  const phase = Math.floor(phaseOf(seed, intervalMs));
  return Math.floor((nowMs - phase) / intervalMs) * intervalMs + phase;
}

/**
 * What an object's slots are drawn from: its namespace, first key (`data`,
 * else `dataFrom.extract`) and the store that key is read from, so objects sharing that key share the
 * slots; its UID when it reads no fixed key (`find` only).
 */
export function refreshSeed(es: Pick<ExternalSecret, "metadata" | "spec">): string {
  const data = es.spec.data?.[0];
  const extract = es.spec.dataFrom?.find((d) => d.extract);
  const [first, entry] = data ? [data.remoteRef, data] : [extract?.extract, extract];
  // The store that key is read from: the entry's sourceRef.storeRef, else spec.secretStoreRef.
  const store = entry && entryStoreRef(es.spec, entry);
  if (!first || !store) return es.metadata.uid ?? `${es.metadata.namespace ?? ""}/${es.metadata.name}`;
  return JSON.stringify([
    es.metadata.namespace ?? "",
    store.kind,
    store.name,
    first.key,
    first.version ?? null,
  ]);
}

/**
 * What a refresh between slots (a key changed in the store, src/controller/events/) takes from
 * the cache for its other keys: values read since the latest slot, as the refresh there did.
 */
export function slotReadsSinceMs(
  es: ExternalSecret,
  now = Date.now(),
  phaseOf: PhaseOf = hashedPhaseMs,
): number {
  return lastSlotMs(
    refreshSeed(es),
    refreshIntervalMs(es) || parseDuration(defaults.refreshInterval),
    now,
    phaseOf,
  );
}

export function decideSync(
  es: ExternalSecret,
  target: TargetObject | undefined,
  now = Date.now(),
  phaseOf: PhaseOf = hashedPhaseMs,
): SyncDecision {
  const status = es.status ?? {};
  const policy = es.spec.refreshPolicy ?? defaults.refreshPolicy;
  const interval = refreshIntervalMs(es);
  const every = interval || parseDuration(defaults.refreshInterval); // without periodic refresh, the default's slots
  // A periodic refresh, and the retry of a failed sync, take what was read since the latest slot. A first
  // sync or a Secret to restore also take what was read shortly before it: objects synced then skipped that
  // slot (minGapMs) and hold the same value until the next one, as this object will.
  const strict = (reason: SyncDecision["reason"]) => reason === "periodic" || reason === "not-ready";
  const due = (reason: SyncDecision["reason"]): SyncDecision => ({
    due: true,
    reason,
    readsSinceMs: lastSlotMs(refreshSeed(es), every, now, phaseOf) - (strict(reason) ? 0 : minGapMs(every)),
  });
  if (!status.refreshTime || !status.syncedResourceVersion) return due("never-synced");
  if (status.syncedResourceVersion !== syncToken(es)) {
    // A new spec or a forced sync reads everything afresh.
    const [gen] = status.syncedResourceVersion.split("/");
    return {
      due: true,
      reason: gen === String(es.metadata.generation ?? 0) ? "force-sync" : "spec",
      readsSinceMs: now,
    };
  }
  // ESO's sync windows gate the periodic refreshes, and the retries of a failed one, of Periodic objects only.
  // A schedule that does not parse (the CRD checks only its shape): the sync runs and reports InvalidSpec.
  const gated = (reason: SyncDecision["reason"]): SyncDecision => {
    let at: number | undefined;
    try {
      if (policy !== "Periodic" || refreshAllowed(es.spec.syncWindows, now)) return due(reason);
      at = nextAllowed(es.spec.syncWindows, now);
    } catch {
      return due(reason);
    }
    return { due: false, reason: "window", ...(at !== undefined && { nextInMs: at - now }) };
  };
  if (getCondition(status.conditions, "Ready")?.status !== "True") return gated("not-ready");
  if (!target) return due("target-missing");
  if (policy === "CreatedOnce") return { due: false, reason: "none" };
  if (target.metadata.annotations?.[ANNOTATION_DATA_HASH] !== status.dataHash) return due("target-changed");
  if (policy === "OnChange") return { due: false, reason: "none" };
  if (interval === 0) return { due: false, reason: "none" };
  const next = nextRefreshMs(refreshSeed(es), interval, Date.parse(status.refreshTime), phaseOf);
  if (now >= next) return gated("periodic");
  return { due: false, reason: "none", nextInMs: next - now };
}
