/**
 * Leader election on a coordination.k8s.io/v1 Lease, the client-go way:
 * a candidate takes the Lease when its holder has not renewed it for
 * `leaseDurationSeconds` (measured on our own clock from when we last saw it
 * change, so clock skew between replicas does not matter), the leader renews
 * every `retryPeriodMs`, and gives up leadership when it could not renew
 * within `renewDeadlineMs`. Optimistic concurrency (resourceVersion) decides
 * races. On stop the leader releases the Lease so a standby takes over at once.
 *
 * A leader that cannot serve (it could not load what reconciling needs)
 * `resign`s: it stops renewing, releases the Lease so a standby takes over,
 * and stays out of the election for one lease duration. Holding leadership
 * while reconciling nothing would stall every replica until a restart.
 */
import type { Logger } from "../log.ts";
import { isConflict, isNotFound, type KubeClient } from "./client.ts";
import { resourceTypes } from "./resources.ts";
import { errorSummary } from "./informer.ts";
import { sleep } from "./sleep.ts";

export interface LeaderElectionOptions {
  name: string;
  namespace: string;
  identity: string;
  leaseDurationSeconds: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  onStartedLeading: () => void;
  onStoppedLeading: () => void;
}

/** The coordination.k8s.io/v1 Lease object that records who leads. */
interface LeadershipRecord {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace: string; resourceVersion?: string };
  spec: {
    holderIdentity?: string;
    leaseDurationSeconds?: number;
    acquireTime?: string;
    renewTime?: string;
    leaseTransitions?: number;
  };
}

/** Kubernetes MicroTime (RFC 3339 with microseconds). */
function microTime(date = new Date()): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}

export class LeaderElector {
  readonly #client: KubeClient;
  readonly #opts: LeaderElectionOptions;
  readonly #log: Logger;
  #leading = false;
  #abort = new AbortController();
  #loop: Promise<void> | undefined;
  /** Set by resign(): why, until the loop has given leadership up. */
  #resignation: string | undefined;
  /** After resigning: no campaigning before this time (our clock). */
  #campaignAfter = 0;
  /** What we last saw of the Lease, and when (our clock). */
  #observed: { holder?: string; renewTime?: string; at: number } = { at: 0 };

  constructor(client: KubeClient, options: LeaderElectionOptions, log: Logger) {
    this.#client = client;
    this.#opts = options;
    this.#log = log.child({ leadership: `${options.namespace}/${options.name}`, identity: options.identity });
  }

  get isLeader(): boolean {
    return this.#leading;
  }

  start(): void {
    this.#loop ??= this.#run();
  }

  /**
   * Gives leadership up because this replica cannot serve: at the loop's next
   * turn (so never in the middle of a renewal) it releases the Lease, stops
   * leading, and does not campaign for one lease duration, so another replica
   * takes over. Alone, this replica takes leadership back after that and
   * tries again.
   */
  resign(reason: string): void {
    this.#resignation = reason;
  }

  async stop(): Promise<void> {
    this.#abort.abort();
    await this.#loop;
    if (this.#leading) {
      await this.#release().catch((err: unknown) =>
        this.#log.warn({ err: errorSummary(err) }, "leadership release failed"),
      );
      this.#setLeading(false);
    }
  }

  async #run(): Promise<void> {
    const signal = this.#abort.signal;
    let lastRenew = 0;
    while (!signal.aborted) {
      if (this.#resignation !== undefined) await this.#resign(this.#resignation);
      let ok = false;
      try {
        if (Date.now() >= this.#campaignAfter) ok = await this.#tryAcquireOrRenew();
      } catch (err) {
        this.#log.debug({ err: errorSummary(err) }, "leadership renewal failed");
      }
      if (ok) {
        lastRenew = Date.now();
        if (!this.#leading) this.#setLeading(true);
      } else if (this.#leading && Date.now() - lastRenew > this.#opts.renewDeadlineMs) {
        this.#log.warn("could not renew leadership within the deadline; stepping down");
        this.#setLeading(false);
      }
      await sleep(this.#opts.retryPeriodMs, signal);
    }
  }

  async #resign(reason: string): Promise<void> {
    this.#resignation = undefined;
    this.#campaignAfter = Date.now() + this.#opts.leaseDurationSeconds * 1000;
    if (!this.#leading) return;
    this.#log.warn({ reason }, "giving leadership up: this replica cannot serve");
    await this.#release().catch((err: unknown) =>
      this.#log.warn({ err: errorSummary(err) }, "leadership release failed"),
    );
    this.#setLeading(false);
  }

  #setLeading(leading: boolean): void {
    this.#leading = leading;
    this.#log.info(leading ? "became leader" : "stopped leading");
    if (leading) this.#opts.onStartedLeading();
    else this.#opts.onStoppedLeading();
  }

  async #tryAcquireOrRenew(): Promise<boolean> {
    const { name, namespace, identity, leaseDurationSeconds } = this.#opts;
    const now = microTime();
    const record = await this.#client.get<LeadershipRecord>(
      resourceTypes.leaderElectionLock,
      namespace,
      name,
      this.#abort.signal,
    );
    if (!record) {
      try {
        await this.#client.create(resourceTypes.leaderElectionLock, {
          apiVersion: "coordination.k8s.io/v1",
          kind: "Lease",
          metadata: { name, namespace },
          spec: {
            holderIdentity: identity,
            leaseDurationSeconds,
            acquireTime: now,
            renewTime: now,
            leaseTransitions: 0,
          },
        });
        return true;
      } catch (err) {
        if (isConflict(err) || (err as { status?: number }).status === 409) return false;
        throw err;
      }
    }
    const spec = record.spec;
    if (spec.holderIdentity !== this.#observed.holder || spec.renewTime !== this.#observed.renewTime) {
      this.#observed = { holder: spec.holderIdentity, renewTime: spec.renewTime, at: Date.now() };
    }
    const held = Boolean(spec.holderIdentity) && spec.holderIdentity !== identity;
    const duration = (spec.leaseDurationSeconds ?? leaseDurationSeconds) * 1000;
    if (held && Date.now() - this.#observed.at < duration) return false;
    const transitions = (spec.leaseTransitions ?? 0) + (spec.holderIdentity === identity ? 0 : 1);
    try {
      await this.#client.replace(resourceTypes.leaderElectionLock, {
        ...record,
        spec: {
          holderIdentity: identity,
          leaseDurationSeconds,
          acquireTime: spec.holderIdentity === identity ? spec.acquireTime : now,
          renewTime: now,
          leaseTransitions: transitions,
        },
      });
      return true;
    } catch (err) {
      if (isConflict(err) || isNotFound(err)) return false;
      throw err;
    }
  }

  /** Hands the Lease over: empty holder and a 1 s duration, as client-go's ReleaseOnCancel. */
  async #release(): Promise<void> {
    const record = await this.#client.get<LeadershipRecord>(
      resourceTypes.leaderElectionLock,
      this.#opts.namespace,
      this.#opts.name,
    );
    if (!record || record.spec.holderIdentity !== this.#opts.identity) return;
    await this.#client.replace(resourceTypes.leaderElectionLock, {
      ...record,
      spec: { ...record.spec, holderIdentity: "", leaseDurationSeconds: 1, renewTime: microTime() },
    });
  }
}
