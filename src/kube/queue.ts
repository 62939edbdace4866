/**
 * A work queue keyed by object: N workers, at most one reconcile per key at
 * a time (a key added while it is being processed runs again afterwards),
 * delayed adds that keep the earliest deadline, and per-key exponential
 * back-off on failure that resets on success.
 */

export interface ReconcileResult {
  /** Run this key again after this many milliseconds (the next refresh). */
  requeueAfterMs?: number;
}

export interface WorkQueueOptions {
  workers: number;
  handler: (key: string) => Promise<ReconcileResult | void>;
  /** First back-off after a failure; doubles per consecutive failure. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** A failure handler may ask for a specific delay (ThrottledError's retry-after). */
  onError?: (key: string, err: unknown, failures: number) => number | void;
}

export class WorkQueue {
  readonly #opts: Required<Omit<WorkQueueOptions, "onError">> & Pick<WorkQueueOptions, "onError">;
  readonly #ready: string[] = [];
  readonly #queued = new Set<string>();
  readonly #processing = new Set<string>();
  /** Keys added while processing: run again once done. */
  readonly #dirty = new Set<string>();
  readonly #timers = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  readonly #failures = new Map<string, number>();
  #running = false;
  #active = 0;
  #idleWaiters: (() => void)[] = [];

  constructor(options: WorkQueueOptions) {
    // `??` rather than spread: callers pass through optional flags that may be undefined.
    this.#opts = {
      ...options,
      baseDelayMs: options.baseDelayMs ?? 200,
      maxDelayMs: options.maxDelayMs ?? 5 * 60_000,
    };
  }

  get length(): number {
    return this.#ready.length;
  }

  start(): void {
    this.#running = true;
    this.#pump();
  }

  /** Stops taking work and waits for the reconciles in progress. Keys and timers are kept. */
  async stop(): Promise<void> {
    this.#running = false;
    if (this.#active === 0) return;
    await new Promise<void>((resolve) => this.#idleWaiters.push(resolve));
  }

  /** Drops every pending timer (shutdown). */
  clear(): void {
    for (const { timer } of this.#timers.values()) clearTimeout(timer);
    this.#timers.clear();
    this.#ready.length = 0;
    this.#queued.clear();
  }

  add(key: string): void {
    const pending = this.#timers.get(key);
    if (pending) {
      clearTimeout(pending.timer);
      this.#timers.delete(key);
    }
    if (this.#processing.has(key)) {
      this.#dirty.add(key);
      return;
    }
    if (this.#queued.has(key)) return;
    this.#queued.add(key);
    this.#ready.push(key);
    this.#pump();
  }

  /** Adds `key` after `delayMs`, unless an earlier add is already scheduled. */
  addAfter(key: string, delayMs: number): void {
    if (delayMs <= 0) return this.add(key);
    if (this.#queued.has(key)) return;
    const at = Date.now() + delayMs;
    const pending = this.#timers.get(key);
    if (pending && pending.at <= at) return;
    if (pending) clearTimeout(pending.timer);
    const timer = setTimeout(() => {
      this.#timers.delete(key);
      this.add(key);
    }, delayMs);
    timer.unref();
    this.#timers.set(key, { at, timer });
  }

  /** Forgets a key's back-off and pending timer (object deleted). */
  forget(key: string): void {
    this.#failures.delete(key);
    const pending = this.#timers.get(key);
    if (pending) clearTimeout(pending.timer);
    this.#timers.delete(key);
  }

  #pump(): void {
    while (this.#running && this.#active < this.#opts.workers && this.#ready.length > 0) {
      const key = this.#ready.shift() as string;
      this.#queued.delete(key);
      this.#processing.add(key);
      this.#active++;
      void this.#process(key);
    }
  }

  async #process(key: string): Promise<void> {
    let retryAfterMs: number | undefined;
    try {
      const result = await this.#opts.handler(key);
      this.#failures.delete(key);
      if (result?.requeueAfterMs !== undefined) retryAfterMs = result.requeueAfterMs;
    } catch (err) {
      const failures = (this.#failures.get(key) ?? 0) + 1;
      this.#failures.set(key, failures);
      const asked = this.#opts.onError?.(key, err, failures);
      const backoff = Math.min(this.#opts.maxDelayMs, this.#opts.baseDelayMs * 2 ** (failures - 1));
      retryAfterMs = typeof asked === "number" ? Math.max(asked, backoff) : backoff;
    } finally {
      this.#processing.delete(key);
      this.#active--;
    }
    if (this.#dirty.delete(key)) this.add(key);
    else if (retryAfterMs !== undefined) this.addAfter(key, retryAfterMs);
    if (this.#active === 0 && !this.#running) for (const resolve of this.#idleWaiters.splice(0)) resolve();
    this.#pump();
  }
}
