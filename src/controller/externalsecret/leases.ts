/**
 * Leases of dynamic secrets (Vault database credentials…), generically
 * through ProviderClient.renewLease/revokeLease: renewed at about two thirds
 * of their TTL (with jitter); when a renewal fails or the lease is not
 * renewable, the ExternalSecret is re-read before the lease expires; leases
 * replaced by a new read, or held by a deleted ExternalSecret, are revoked.
 * A lease shared by several ExternalSecrets (one cached read) is revoked only
 * when the last one lets go. After a restart, `resume` takes over the leases
 * a previous process recorded in an ExternalSecret's status, by renewing them.
 */
import type { Logger } from "../../log.ts";
import type { Lease } from "../../providers/types.ts";
import type { StoreSession } from "../secretstore/sessions.ts";
import { errorSummary } from "../../kube/informer.ts";

interface Held {
  lease: Lease;
  session: StoreSession;
  holders: Set<string>;
  /** When the lease runs out unless renewed (ms since the epoch). */
  expiresAt: number;
  timer?: NodeJS.Timeout;
}

/** A lease read, and the session of the store it came from (which renews and revokes it). */
export interface LeaseSource {
  lease: Lease;
  session: StoreSession;
}

/** A lease a key holds, the store it was read through (session id), and when it runs out unless renewed. */
export interface HeldLease {
  lease: Lease;
  store: string;
  expiresAt: number;
}

export type ResumeResult = { ok: true } | { ok: false; why: string; err?: unknown };

/** A renewal granting less than half of what was asked means the lease hits its max TTL: re-read instead. */
function longEnough(renewed: Lease | undefined, askedSeconds: number): renewed is Lease {
  return renewed !== undefined && renewed.durationSeconds >= askedSeconds / 2;
}

export interface LeaseTrackerOptions {
  log: Logger;
  /** The key must be re-read (fresh, bypassing the cache) soon. */
  onRefreshNeeded(key: string): void;
  /** A lease of the key was renewed (its expiry moved): the key's status may show it. */
  onRenewed?(key: string): void;
  /** Fraction of the TTL after which to renew; default 2/3. */
  renewAt?: number;
}

export class LeaseTracker {
  readonly #held = new Map<string, Held>();
  readonly #byKey = new Map<string, Set<string>>();
  readonly #opts: LeaseTrackerOptions;
  readonly #abort = new AbortController();

  constructor(options: LeaseTrackerOptions) {
    this.#opts = options;
  }

  holds(key: string): boolean {
    return (this.#byKey.get(key)?.size ?? 0) > 0;
  }

  /** Whether some key holds the lease `id`. */
  isHeld(id: string): boolean {
    return this.#held.has(id);
  }

  /** The leases `key` holds, with their expiry as last granted. */
  leasesOf(key: string): HeldLease[] {
    const out: HeldLease[] = [];
    for (const id of this.#byKey.get(key) ?? []) {
      const held = this.#held.get(id);
      if (held) out.push({ lease: held.lease, store: held.session.id, expiresAt: held.expiresAt });
    }
    return out;
  }

  /**
   * Takes over leases a previous process held for `key` (from its status):
   * renews each (one another key already took over is joined as it is) and,
   * when every one is renewed for at least half of its last grant, tracks
   * them for `key`. Otherwise nothing is tracked and the caller re-reads.
   */
  async resume(key: string, leases: LeaseSource[], signal?: AbortSignal): Promise<ResumeResult> {
    const renewed: LeaseSource[] = [];
    for (const { lease, session } of leases) {
      const held = this.#held.get(lease.id);
      if (held) {
        renewed.push({ lease: held.lease, session: held.session });
        continue;
      }
      if (!lease.renewable) return { ok: false, why: "a lease is not renewable" };
      try {
        const granted = await session.renewLease(lease, signal);
        if (!longEnough(granted, lease.durationSeconds))
          return {
            ok: false,
            why: granted ? "a lease reached its max TTL" : "the store cannot renew leases",
          };
        renewed.push({ lease: granted, session });
      } catch (err) {
        if (signal?.aborted) throw err;
        return { ok: false, why: "a lease renewal failed", err };
      }
    }
    this.track(key, renewed);
    return { ok: true };
  }

  /** `key` now holds exactly `leases` (from one store or several); leases it no longer holds are let go. */
  track(key: string, leases: LeaseSource[]): void {
    const ids = new Set(leases.map((l) => l.lease.id));
    for (const { lease, session } of leases) {
      let held = this.#held.get(lease.id);
      if (!held) {
        held = { lease, session, holders: new Set(), expiresAt: Date.now() + lease.durationSeconds * 1000 };
        this.#held.set(lease.id, held);
        this.#schedule(held, lease.durationSeconds);
      }
      held.holders.add(key);
    }
    const previous = this.#byKey.get(key) ?? new Set<string>();
    this.#byKey.set(key, ids);
    for (const id of previous) if (!ids.has(id)) void this.#letGo(key, id);
  }

  /** The ExternalSecret is gone: let go of (and revoke) everything it held. */
  async release(key: string): Promise<void> {
    const ids = this.#byKey.get(key) ?? new Set<string>();
    this.#byKey.delete(key);
    await Promise.all([...ids].map((id) => this.#letGo(key, id)));
  }

  stop(): void {
    this.#abort.abort();
    for (const held of this.#held.values()) clearTimeout(held.timer);
  }

  #schedule(held: Held, ttlSeconds: number): void {
    clearTimeout(held.timer);
    const fraction = (this.#opts.renewAt ?? 2 / 3) * (0.9 + Math.random() * 0.1);
    const delay = Math.max(1000, ttlSeconds * 1000 * fraction);
    held.timer = setTimeout(() => void this.#renew(held, ttlSeconds), delay);
    held.timer.unref();
  }

  async #renew(held: Held, ttlSeconds: number): Promise<void> {
    const { lease, session } = held;
    const log = this.#opts.log.child({ store: session.id, lease: lease.id.replace(/[^/]+$/, "…") });
    if (lease.renewable) {
      try {
        const renewed = await session.renewLease(lease, this.#abort.signal);
        if (longEnough(renewed, Math.min(ttlSeconds, lease.durationSeconds))) {
          held.lease = renewed;
          held.expiresAt = Date.now() + renewed.durationSeconds * 1000;
          this.#schedule(held, renewed.durationSeconds);
          for (const key of held.holders) this.#opts.onRenewed?.(key);
          return;
        }
      } catch (err) {
        log.warn({ err: errorSummary(err) }, "lease renewal failed; re-reading before it expires");
      }
    }
    for (const key of held.holders) this.#opts.onRefreshNeeded(key);
  }

  async #letGo(key: string, id: string): Promise<void> {
    const held = this.#held.get(id);
    if (!held) return;
    held.holders.delete(key);
    if (held.holders.size > 0) return;
    clearTimeout(held.timer);
    this.#held.delete(id);
    try {
      await held.session.revokeLease(held.lease, this.#abort.signal);
    } catch (err) {
      this.#opts.log.warn({ err: errorSummary(err), store: held.session.id }, "lease revocation failed");
    }
  }
}
