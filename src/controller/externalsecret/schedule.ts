/**
 * When an ExternalSecret needs a sync. Periodic: on a fixed per-object phase
 * within `refreshInterval` (from a hash of its UID, so a restart keeps it and
 * no state is stored), ± jitter per refresh. A thousand objects created at
 * once sync right away, then refresh spread evenly over the interval for
 * good, instead of staying in one burst. OnChange: only when the spec
 * (generation) or the force-sync annotation changed. CreatedOnce: only until
 * the Secret first exists.
 */
import { createHash } from "node:crypto";
import {
  ANNOTATION_DATA_HASH,
  ANNOTATION_FORCE_SYNC,
  defaults,
  type ExternalSecret,
} from "../../api/v1alpha1.ts";
import { parseDuration } from "../../api/validate.ts";
import { getCondition } from "../conditions.ts";
import type { SecretObject } from "./target.ts";

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
    | "none";
  /** When not due: when to look again (Periodic only). */
  nextInMs?: number;
}

/** Generation plus the force-sync annotation: a new value means "sync now". */
export function syncToken(es: ExternalSecret): string {
  return `${es.metadata.generation ?? 0}/${es.metadata.annotations?.[ANNOTATION_FORCE_SYNC] ?? ""}`;
}

export function refreshIntervalMs(es: Pick<ExternalSecret, "spec">): number {
  const value = es.spec.refreshInterval ?? defaults.refreshInterval;
  return value === "0" ? 0 : parseDuration(value);
}

/** A fraction in [0, 1), fixed for `seed`. */
function unitHash(seed: string): number {
  return createHash("sha256").update(seed).digest().readUInt32BE(0) / 0x1_0000_0000;
}

/** The object's offset within every interval, ms: fixed per UID. */
export function refreshPhaseMs(uid: string, intervalMs: number): number {
  return unitHash(uid) * intervalMs;
}

/**
 * When to refresh after a sync at `lastMs`: the first of the object's slots
 * (k·interval + phase, shifted by a per-slot jitter within ±jitter/2·interval,
 * so consecutive refreshes are interval ± jitter apart) that is at least
 * jitter/2·interval (and a second) after `lastMs`. So the first refresh
 * after a sync comes no sooner than 5 % and sooner than 115 % of the
 * interval (default jitter 0.1); after it, refreshes follow the phase.
 */
export function nextRefreshMs(
  uid: string,
  intervalMs: number,
  lastMs: number,
  jitter = defaults.jitter,
): number {
  const half = (jitter / 2) * intervalMs;
  // At least a second: refreshTime has one-second resolution, so a shorter gap could re-pick the slot just served.
  const earliest = lastMs + Math.max(half, 1000);
  const phase = refreshPhaseMs(uid, intervalMs);
  const slot = (k: number) => k * intervalMs + phase + (unitHash(`${uid}/${k}`) * 2 - 1) * half;
  // Slot k's unjittered time is at most `earliest`: the loop runs at most three times.
  let k = Math.floor((earliest - phase) / intervalMs);
  while (slot(k) < earliest) k++;
  return slot(k);
}

/** The UID (stable for the object's life); namespace/name for an object not yet stored. */
export function objectSeed(es: Pick<ExternalSecret, "metadata">): string {
  return es.metadata.uid ?? `${es.metadata.namespace ?? ""}/${es.metadata.name}`;
}

export function decideSync(
  es: ExternalSecret,
  target: SecretObject | undefined,
  now = Date.now(),
): SyncDecision {
  const status = es.status ?? {};
  const policy = es.spec.refreshPolicy ?? defaults.refreshPolicy;
  if (!status.refreshTime || !status.syncedResourceVersion) return { due: true, reason: "never-synced" };
  if (status.syncedResourceVersion !== syncToken(es)) {
    const [gen] = status.syncedResourceVersion.split("/");
    return { due: true, reason: gen === String(es.metadata.generation ?? 0) ? "force-sync" : "spec" };
  }
  if (getCondition(status.conditions, "Ready")?.status !== "True") return { due: true, reason: "not-ready" };
  if (!target) return { due: true, reason: "target-missing" };
  if (policy === "CreatedOnce") return { due: false, reason: "none" };
  if (target.metadata.annotations?.[ANNOTATION_DATA_HASH] !== status.dataHash)
    return { due: true, reason: "target-changed" };
  if (policy === "OnChange") return { due: false, reason: "none" };
  const interval = refreshIntervalMs(es);
  if (interval === 0) return { due: false, reason: "none" };
  const next = nextRefreshMs(objectSeed(es), interval, Date.parse(status.refreshTime));
  if (now >= next) return { due: true, reason: "periodic" };
  return { due: false, reason: "none", nextInMs: next - now };
}
