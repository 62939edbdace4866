/**
 * The leases an ExternalSecret holds, as its status records them
 * (`status.leases`: lease ID, renewable, last grant, expiry, the store it
 * was read through; nothing a value could be derived from), and whether a restarted controller may take them
 * over by renewing them instead of reading new credentials.
 */
import { ANNOTATION_DATA_HASH, type ExternalSecret, type LeaseStatus } from "../../api/v1alpha1.ts";
import type { Lease } from "../../providers/types.ts";
import type { HeldLease } from "./leases.ts";
import { syncToken, type SyncDecision } from "./schedule.ts";
import type { TargetObject } from "./target.ts";

/** A lease that runs out sooner than this is not worth a renewal: it is re-read. */
export const RESUME_MIN_TTL_MS = 2_000;

const rfc3339 = (ms: number): string => new Date(ms).toISOString().replace(/\.\d+Z$/, "Z");

export function toLeaseStatus(held: readonly HeldLease[]): LeaseStatus[] {
  return held
    .map(({ lease, store, expiresAt }) => ({
      id: lease.id,
      renewable: lease.renewable,
      durationSeconds: Math.max(0, Math.round(lease.durationSeconds)),
      expiresAt: rfc3339(expiresAt),
      store,
    }))
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

export function fromLeaseStatus(status: LeaseStatus): Lease {
  return { id: status.id, renewable: status.renewable, durationSeconds: status.durationSeconds };
}

/** Whether the lease runs out before `nowMs` (an unparsable time counts as run out). */
export function leaseExpired(status: LeaseStatus, nowMs: number): boolean {
  const at = Date.parse(status.expiresAt);
  return !(at > nowMs);
}

export function sameLeases(a: readonly LeaseStatus[] = [], b: readonly LeaseStatus[] = []): boolean {
  return (
    a.length === b.length &&
    a.every((x, i) => {
      const y = b[i];
      return (
        y !== undefined &&
        x.id === y.id &&
        x.renewable === y.renewable &&
        x.durationSeconds === y.durationSeconds &&
        x.expiresAt === y.expiresAt &&
        x.store === y.store
      );
    })
  );
}

/**
 * Why the leases in `es`'s status cannot be taken over by renewing them, or
 * undefined when they can be tried: the spec must be the one they were read
 * for, the Secret must still hold the data they came from (its hash
 * annotation equals status.dataHash), no sync may be due for another reason
 * than a failed previous one, and every lease must be renewable and live a
 * while longer.
 */
export function resumeBlocker(
  es: ExternalSecret,
  target: TargetObject | undefined,
  decision: SyncDecision,
  nowMs = Date.now(),
): string | undefined {
  const status = es.status ?? {};
  const leases = status.leases ?? [];
  if (leases.length === 0) return "no leases in status";
  if (status.syncedResourceVersion !== syncToken(es)) return "the spec changed";
  if (!target || target.metadata.annotations?.[ANNOTATION_DATA_HASH] !== status.dataHash)
    return "the Secret changed";
  if (decision.due && decision.reason !== "not-ready") return `a sync is due (${decision.reason})`;
  if (leases.some((l) => !l.renewable)) return "a lease is not renewable";
  if (leases.some((l) => leaseExpired(l, nowMs + RESUME_MIN_TTL_MS))) return "a lease expired";
  return undefined;
}
