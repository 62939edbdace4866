/**
 * Leases of dynamic secrets (Vault database credentials…), generically
 * through ProviderClient.renewLease/revokeLease: renewed at about two thirds
 * of their TTL (with jitter); when a renewal fails or the lease is not
 * renewable, the ExternalSecret is re-read before the lease expires; leases
 * replaced by a new read, or held by a deleted ExternalSecret, are revoked.
 * A lease shared by several ExternalSecrets (one cached read) is revoked only
 * when the last one lets go.
 */
import type { Logger } from "../../log.ts";
import type { Lease } from "../../providers/types.ts";
import type { StoreSession } from "../../store/sessions.ts";
import { errorSummary } from "../informer.ts";

interface Held {
  lease: Lease;
  session: StoreSession;
  holders: Set<string>;
  timer?: NodeJS.Timeout;
}

export interface LeaseTrackerOptions {
  log: Logger;
  /** The key must be re-read (fresh, bypassing the cache) soon. */
  onRefreshNeeded(key: string): void;
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

  /** `key` now holds exactly `leases`; leases it no longer holds are let go. */
  track(key: string, session: StoreSession, leases: Lease[]): void {
    const ids = new Set(leases.map((l) => l.id));
    for (const lease of leases) {
      let held = this.#held.get(lease.id);
      if (!held) {
        held = { lease, session, holders: new Set() };
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
        // A renewal that returns much less than asked means the lease hits its max TTL: re-read instead.
        if (renewed && renewed.durationSeconds >= Math.min(ttlSeconds, lease.durationSeconds) / 2) {
          held.lease = renewed;
          this.#schedule(held, renewed.durationSeconds);
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
