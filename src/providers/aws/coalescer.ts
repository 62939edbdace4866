// Read coalescing: reads of a store's current secrets that arrive within one
// short window are sent together as one BatchGetSecretValue call (up to 20
// ids each) instead of one GetSecretValue per secret, and concurrent reads of
// the same secret share one result. This is what lets a reconcile round over
// many ExternalSecrets cost a couple of backend calls per store.

export interface BatchOutcome<T> {
  /** Per requested id: the value, or the error for that id. */
  get(id: string): T | Error;
}

export interface CoalescerOptions<T> {
  /** Fetches up to `maxBatch` ids in one call; a thrown error fails every id of the batch. */
  fetchBatch(ids: string[]): Promise<BatchOutcome<T>>;
  /** Fetches one id alone (used when a window holds a single read). */
  fetchOne(id: string): Promise<T>;
  maxBatch: number;
  /** How long the first read of a window waits for company. */
  windowMs: number;
}

interface Waiter<T> {
  resolve(value: T): void;
  reject(error: unknown): void;
}

export class ReadCoalescer<T> {
  readonly #options: CoalescerOptions<T>;
  /** Reads waiting for the window to close. */
  #pending = new Map<string, Waiter<T>>();
  /** Every read not yet settled, pending or in flight: a second read of the same id shares it. */
  readonly #unsettled = new Map<string, Promise<T>>();
  #timer: NodeJS.Timeout | undefined;

  constructor(options: CoalescerOptions<T>) {
    this.#options = options;
  }

  read(id: string, signal?: AbortSignal): Promise<T> {
    signal?.throwIfAborted();
    let result = this.#unsettled.get(id);
    if (!result) {
      result = new Promise<T>((resolve, reject) => this.#pending.set(id, { resolve, reject }));
      this.#unsettled.set(id, result);
      const forget = () => this.#unsettled.delete(id);
      result.then(forget, forget);
      if (this.#pending.size >= this.#options.maxBatch) this.#flush();
      else this.#timer ??= setTimeout(() => this.#flush(), this.#options.windowMs);
    }
    return signal ? abortable(result, signal) : result;
  }

  #flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const batch = this.#pending;
    this.#pending = new Map();
    if (batch.size === 0) return;
    const ids = [...batch.keys()];
    const settle = (id: string, outcome: T | Error) => {
      const waiter = batch.get(id);
      if (outcome instanceof Error) waiter?.reject(outcome);
      else waiter?.resolve(outcome);
    };
    const [only] = ids;
    if (ids.length === 1 && only !== undefined) {
      this.#options.fetchOne(only).then(
        (value) => settle(only, value),
        (error: unknown) => settle(only, asError(error)),
      );
      return;
    }
    this.#options.fetchBatch(ids).then(
      (outcome) => {
        for (const id of ids) settle(id, outcome.get(id));
      },
      (error: unknown) => {
        for (const id of ids) settle(id, asError(error));
      },
    );
  }

  /** Fails what is still waiting (the client is closing). */
  close(error: Error): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    for (const waiter of this.#pending.values()) waiter.reject(error);
    this.#pending.clear();
  }
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

/** Lets one caller stop waiting without cancelling the shared batch. */
function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(error);
      },
    );
  });
}
