/**
 * A token bucket per store: `qps` tokens a second up to `burst`. A backend
 * that said "slow down" (ThrottledError) pauses the bucket for the time it
 * asked for, or an exponentially growing pause when it did not say.
 */
import type { SecretStoreSpec } from "../api/v1alpha1.ts";

export const DEFAULT_RATE_LIMIT = { qps: 50, burst: 100 };

export class TokenBucket {
  readonly qps: number;
  readonly burst: number;
  #tokens: number;
  #last: number;
  #pausedUntil = 0;
  #throttles = 0;
  readonly #now: () => number;

  constructor(qps: number, burst: number, now: () => number = Date.now) {
    this.qps = qps;
    this.burst = Math.max(1, burst);
    this.#tokens = this.burst;
    this.#now = now;
    this.#last = now();
  }

  static forSpec(spec: SecretStoreSpec["rateLimit"]): TokenBucket {
    return new TokenBucket(spec?.qps ?? DEFAULT_RATE_LIMIT.qps, spec?.burst ?? DEFAULT_RATE_LIMIT.burst);
  }

  #refill(now: number): void {
    if (this.qps > 0) {
      this.#tokens = Math.min(this.burst, this.#tokens + ((now - this.#last) / 1000) * this.qps);
    }
    this.#last = now;
  }

  /** Milliseconds to wait before one token is available (0: take it now). Takes the token. */
  reserve(): number {
    const now = this.#now();
    this.#refill(now);
    this.#tokens -= 1;
    const refillWait = this.#tokens >= 0 ? 0 : this.qps > 0 ? (-this.#tokens / this.qps) * 1000 : Infinity;
    return Math.max(refillWait, this.#pausedUntil - now);
  }

  /** Takes a token when one is available now; otherwise takes none and says so (a request to drop). */
  tryTake(): boolean {
    const now = this.#now();
    this.#refill(now);
    if (this.#tokens < 1 || this.#pausedUntil > now) return false;
    this.#tokens -= 1;
    return true;
  }

  async take(signal?: AbortSignal): Promise<void> {
    const wait = this.reserve();
    if (wait === 0) return;
    if (!Number.isFinite(wait)) throw new Error("rate limit qps is 0: reads are disabled for this store");
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(resolve, wait);
      signal?.addEventListener(
        "abort",
        () => {
          clearTimeout(timer);
          reject(signal.reason as Error);
        },
        { once: true },
      );
    });
  }

  /** The backend throttled us: pause every caller. */
  throttled(retryAfterSeconds?: number): number {
    this.#throttles++;
    const pauseMs =
      retryAfterSeconds !== undefined
        ? retryAfterSeconds * 1000
        : Math.min(30_000, 250 * 2 ** this.#throttles);
    this.#pausedUntil = Math.max(this.#pausedUntil, this.#now() + pauseMs);
    return pauseMs;
  }

  succeeded(): void {
    this.#throttles = 0;
  }
}
