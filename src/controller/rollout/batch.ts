/**
 * Restart batching, free of I/O so it can be tested with a fake clock.
 * Changes to a workload merge until its window (counted from the first
 * change) has passed; then it is due. At most `maxConcurrent` workloads per
 * namespace are rolling at a time: a restarted workload holds its slot until
 * it has rolled out (or is found stuck).
 */

export interface WorkloadRef {
  kind: string;
  namespace: string;
  name: string;
}

export interface PendingRestart {
  workload: WorkloadRef;
  /** First change merged into this restart (ms). */
  since: number;
  /** Secret name → its latest data hash, the ExternalSecret that wrote it and the changed keys the workload reads. */
  secrets: Map<string, { hash: string; externalSecret: string; keys: Set<string> }>;
}

export function workloadKey(w: WorkloadRef): string {
  return `${w.kind}/${w.namespace}/${w.name}`;
}

export class RestartBatcher {
  readonly windowMs: number;
  readonly maxConcurrent: number;
  readonly #pending = new Map<string, PendingRestart>();
  /** Workload key → namespace, for workloads restarted and still rolling. */
  readonly #rolling = new Map<string, string>();

  constructor(opts: { windowMs: number; maxConcurrent: number }) {
    this.windowMs = opts.windowMs;
    this.maxConcurrent = opts.maxConcurrent;
  }

  add(
    workload: WorkloadRef,
    secret: { name: string; hash: string; externalSecret: string },
    keys: readonly string[],
    now: number,
  ): void {
    const key = workloadKey(workload);
    let p = this.#pending.get(key);
    if (!p) this.#pending.set(key, (p = { workload, since: now, secrets: new Map() }));
    const s = p.secrets.get(secret.name) ?? {
      hash: secret.hash,
      externalSecret: secret.externalSecret,
      keys: new Set(),
    };
    s.hash = secret.hash;
    for (const k of keys) s.keys.add(k);
    p.secrets.set(secret.name, s);
  }

  /** Restarts past their window, oldest first (whether each may start now: `hasSlot`). */
  due(now: number): PendingRestart[] {
    return [...this.#pending.values()]
      .filter((p) => now - p.since >= this.windowMs)
      .sort((a, b) => a.since - b.since);
  }

  /**
   * Whether the namespace has a free slot for this restart. Re-restarting a
   * workload that is still rolling takes no new slot. Asked right before each
   * restart, so a restart held back (stuck workload) keeps no slot.
   */
  hasSlot(p: PendingRestart): boolean {
    if (this.#rolling.has(workloadKey(p.workload))) return true;
    let used = 0;
    for (const ns of this.#rolling.values()) if (ns === p.workload.namespace) used++;
    return used < this.maxConcurrent;
  }

  /** The restart was written: it leaves the pending set and holds a slot. */
  started(p: PendingRestart): void {
    const key = workloadKey(p.workload);
    if (this.#pending.get(key) === p) this.#pending.delete(key);
    this.#rolling.set(key, p.workload.namespace);
  }

  /** The restart was given up (workload gone): drop it. */
  drop(p: PendingRestart): void {
    const key = workloadKey(p.workload);
    if (this.#pending.get(key) === p) this.#pending.delete(key);
  }

  /** The workload finished rolling (or is stuck, or gone): its slot is free. */
  settled(key: string): void {
    this.#rolling.delete(key);
  }

  rolling(): string[] {
    return [...this.#rolling.keys()];
  }

  get pendingCount(): number {
    return this.#pending.size;
  }

  clear(): void {
    this.#pending.clear();
    this.#rolling.clear();
  }
}
