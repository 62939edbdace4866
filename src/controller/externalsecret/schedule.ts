/**
 * When an ExternalSecret needs a sync. Periodic: `refreshInterval` after the
 * last refresh, ± jitter derived from the object and that refresh time (so
 * it is stable across reconciles and spreads a thousand objects created at
 * once). OnChange: only when the spec (generation) or the force-sync
 * annotation changed. CreatedOnce: only until the Secret first exists.
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

/** A factor in [1 - jitter, 1 + jitter], fixed for this object and refresh. */
export function jitterFactor(seed: string, jitter = defaults.jitter): number {
  const n = createHash("sha256").update(seed).digest().readUInt32BE(0) / 0xffffffff;
  return 1 + (n * 2 - 1) * jitter;
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
  const last = Date.parse(status.refreshTime);
  const next = last + interval * jitterFactor(`${es.metadata.uid ?? es.metadata.name}/${status.refreshTime}`);
  if (now >= next) return { due: true, reason: "periodic" };
  return { due: false, reason: "none", nextInMs: next - now };
}
