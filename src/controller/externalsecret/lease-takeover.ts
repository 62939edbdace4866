/**
 * After a restart (or a leader change) the lease tracker is empty. The
 * leases an ExternalSecret's status lists were held by the previous
 * process: they are taken over by renewing them when the Secret still holds
 * their data, so no new credentials are read and nothing rolls. When they
 * cannot be, the ExternalSecret is re-read and the listed leases are revoked
 * once the new ones are in its status.
 */
import type { ExternalSecret, LeaseStatus } from "../../api/v1alpha1.ts";
import type { Logger } from "../../log.ts";
import type { StoreSession } from "../secretstore/sessions.ts";
import { errorSummary, objectKey, type Informer } from "../../kube/informer.ts";
import { fromLeaseStatus, leaseExpired, resumeBlocker } from "./lease-status.ts";
import type { LeaseSource, LeaseTracker, ResumeResult } from "./leases.ts";
import type { SyncDecision } from "./schedule.ts";
import type { TargetObject } from "./target.ts";

export interface LeaseTakeoverDeps {
  leases: LeaseTracker;
  externalSecrets: Pick<Informer<ExternalSecret>, "list">;
  log: Logger;
  /** The sessions of the stores an ExternalSecret reads from (throws for an invalid spec or a store it cannot use). */
  sessions(es: ExternalSecret): Promise<StoreSession[]>;
}

/**
 * Each listed lease with the session of the store it was read through: its `store`, or, for a
 * status written before leases named their store, the one store the ExternalSecret reads from.
 * Undefined when a lease's store is not among those the ExternalSecret reads from now.
 */
function withSessions(listed: readonly LeaseStatus[], sessions: StoreSession[]): LeaseSource[] | undefined {
  const out: LeaseSource[] = [];
  for (const status of listed) {
    const session =
      status.store === undefined
        ? sessions.length === 1
          ? sessions[0]
          : undefined
        : sessions.find((s) => s.id === status.store);
    if (!session) return undefined;
    out.push({ lease: fromLeaseStatus(status), session });
  }
  return out;
}

export class LeaseTakeover {
  readonly #d: LeaseTakeoverDeps;
  /** Leases a previous process held (from status) that a re-read replaced: revoked once the new status is written. */
  readonly #retiring = new Map<string, LeaseStatus[]>();

  constructor(deps: LeaseTakeoverDeps) {
    this.#d = deps;
  }

  /** The ExternalSecret is gone. */
  forget(key: string): void {
    this.#retiring.delete(key);
  }

  /**
   * Takes over the leases `es`'s status lists: when the Secret still holds
   * their data and every one renews for long enough, the tracker renews them
   * from now on and the Secret is left as it is; true then. Otherwise the
   * caller re-reads, and the listed leases are retired after it.
   */
  async resume(
    key: string,
    es: ExternalSecret,
    target: TargetObject | undefined,
    decision: SyncDecision,
    signal: AbortSignal,
  ): Promise<boolean> {
    const listed = es.status?.leases ?? [];
    const log = this.#d.log.child({ externalSecret: key, leases: listed.length });
    let why = resumeBlocker(es, target, decision);
    if (!why) {
      try {
        const leases = withSessions(listed, await this.#d.sessions(es));
        const result = leases
          ? await this.#d.leases.resume(key, leases, signal)
          : ({ ok: false, why: "a lease's store is not read any more" } satisfies ResumeResult);
        if (result.ok) {
          this.#retiring.delete(key);
          log.info("took over the leases of the previous controller");
          return true;
        }
        why = result.why;
        if (result.err !== undefined) log.warn({ err: errorSummary(result.err) }, why);
      } catch (err) {
        if (signal.aborted) throw err;
        why = "the store cannot be used";
      }
    }
    log.info({ why }, "re-reading instead of renewing the previous controller's leases");
    this.#retiring.set(key, listed);
    return false;
  }

  /**
   * Revokes the leases a re-read replaced (see `resume`), and `also`, once
   * the status no longer lists them: not one that has run out, that this
   * process tracks, or that another ExternalSecret's status lists (one
   * shared read; that one retires it when its turn comes).
   */
  async retire(
    key: string,
    es: ExternalSecret,
    signal: AbortSignal,
    also: LeaseStatus[] = [],
  ): Promise<void> {
    const now = Date.now();
    const pending = [...(this.#retiring.get(key) ?? []), ...also].filter(
      (l, i, all) =>
        all.findIndex((o) => o.id === l.id) === i &&
        !leaseExpired(l, now) &&
        !this.#d.leases.isHeld(l.id) &&
        !this.#listedElsewhere(key, l.id),
    );
    this.#retiring.delete(key);
    if (pending.length === 0) return;
    let leases: LeaseSource[] | undefined;
    try {
      leases = withSessions(pending, await this.#d.sessions(es));
    } catch (err) {
      this.#d.log.warn({ err: errorSummary(err), externalSecret: key }, "cannot revoke replaced leases");
      return;
    }
    if (!leases) {
      this.#d.log.warn(
        { externalSecret: key },
        "cannot revoke replaced leases: a store is not read any more",
      );
      return;
    }
    for (const { lease, session } of leases) {
      try {
        await session.revokeLease(lease, signal);
      } catch (err) {
        if (signal.aborted) throw err;
        this.#d.log.warn({ err: errorSummary(err), store: session.id }, "lease revocation failed");
      }
    }
  }

  #listedElsewhere(key: string, id: string): boolean {
    return this.#d.externalSecrets
      .list()
      .some(
        (other) =>
          !other.metadata.deletionTimestamp &&
          objectKey(other) !== key &&
          other.status?.leases?.some((l) => l.id === id) === true,
      );
  }
}
