/**
 * What the push sources (webhook.ts, azure-event-grid.ts) share: the shared
 * secret their senders prove they know, read from the Secret key the store
 * names and read again every minute (so a rotated secret is taken without a
 * restart; the source is down while it cannot be read or is too short), a
 * constant-time comparison, a token bucket bounding the authenticated
 * requests a store takes (a flood is refused with 429, never queued), and the
 * bounded memory of what was received before (replays, redeliveries).
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { errorSummary } from "../../kube/informer.ts";
import { sleep } from "../../kube/sleep.ts";
import { TokenBucket } from "../../store/rate-limit.ts";
import type {
  ChangeSourceContext,
  PushRequest,
  PushResponse,
  PushSource,
  SourceHealth,
  StoreRef,
} from "./source.ts";

/** The shortest shared secret accepted (HMAC-SHA256 keys and Event Grid codes alike). */
export const MIN_SECRET_BYTES = 32;
/** Authenticated requests a store takes per second, and at once. */
export const PUSH_RATE = { qps: 5, burst: 20 };
const RELOAD_MS = 60_000;
/** Identifiers a source remembers at most (the rate limit keeps far fewer within any source's window). */
const MAX_SEEN = 10_000;

export class PushGate {
  readonly #ref: { name: string; key: string; namespace?: string };
  readonly #field: string;
  readonly #ctx: ChangeSourceContext;
  readonly #bucket = new TokenBucket(PUSH_RATE.qps, PUSH_RATE.burst);
  #secret: Buffer | undefined;
  #health: SourceHealth = { up: false, reason: "the shared secret is not loaded yet" };

  /** `field`: the spec field naming the Secret key, for messages (`spec.events.webhook.secretRef`). */
  constructor(
    ref: { name: string; key: string; namespace?: string },
    field: string,
    ctx: ChangeSourceContext,
  ) {
    this.#ref = ref;
    this.#field = field;
    this.#ctx = ctx;
  }

  get secret(): Buffer | undefined {
    return this.#secret;
  }

  health(): SourceHealth {
    return this.#health;
  }

  /** Keeps the secret loaded until `signal` aborts. */
  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      let health: SourceHealth;
      try {
        const value = Buffer.from(await this.#ctx.provider.readCredential(this.#ref, signal), "utf8");
        if (value.length < MIN_SECRET_BYTES) {
          this.#secret = undefined;
          health = {
            up: false,
            reason: `${this.#field}: the secret is ${value.length} bytes; at least ${MIN_SECRET_BYTES} are required`,
          };
        } else {
          this.#secret = value;
          health = { up: true };
        }
      } catch (err) {
        if (signal.aborted) break;
        // Keep the last good secret: a Secret briefly unreadable (API server restart) should not refuse senders.
        health = { up: false, reason: `${this.#field}: ${errorSummary(err).message}` };
      }
      if (health.up !== this.#health.up || health.reason !== this.#health.reason) {
        this.#health = health;
        this.#ctx.healthChanged();
      }
      await sleep(RELOAD_MS, signal);
    }
  }

  /** Whether `given` equals the secret. */
  matches(given: string | Buffer): boolean {
    return this.#secret !== undefined && sameSecret(given, this.#secret);
  }

  /** Takes one request's token; false: the store's request rate is exceeded. */
  admit(): boolean {
    return this.#bucket.tryTake();
  }
}

/** Whether two secrets (or signatures) are equal, in time independent of where they differ. */
export function sameSecret(a: string | Buffer, b: string | Buffer): boolean {
  // Equal-length digests for timingSafeEqual.
  const digest = (v: string | Buffer) => createHash("sha256").update(v).digest();
  return timingSafeEqual(digest(a), digest(b));
}

/**
 * Identifiers seen recently (signatures, event ids), each remembered until it
 * expires; at most `max` (the oldest go first: with the rate limit in front,
 * the bound is never what lets a replay through in practice).
 */
class SeenSet {
  readonly #expires = new Map<string, number>();
  readonly #max: number;

  constructor(max: number) {
    this.#max = max;
  }

  /** Remembers `id` until `expiresAt`; false when it was already there (a replay). */
  add(id: string, expiresAt: number, now: number): boolean {
    const known = this.#expires.get(id);
    if (known !== undefined && known > now) return false;
    this.#expires.delete(id);
    for (const [old, at] of this.#expires) {
      if (at > now && this.#expires.size < this.#max) break;
      this.#expires.delete(old);
    }
    this.#expires.set(id, expiresAt);
    return true;
  }
}

/** A refused request: its status, the reason it is counted under, and a message for the sender. */
export function refuse(status: number, result: string, message: string): PushResponse {
  return { status, result, body: { error: message } };
}

/** A push source of one store, its shared secret kept loaded by a PushGate while it runs. */
export abstract class GatedPushSource implements PushSource {
  abstract readonly name: string;
  protected readonly store: StoreRef;
  protected readonly ctx: ChangeSourceContext;
  protected readonly gate: PushGate;
  protected readonly now: () => number;
  /** What was received before (signatures, event ids), to skip or refuse it again. */
  protected readonly seen = new SeenSet(MAX_SEEN);

  /** `field`: the spec field naming the secret (`spec.events.webhook.secretRef`). */
  constructor(
    store: StoreRef,
    secretRef: { name: string; key: string; namespace?: string },
    field: string,
    ctx: ChangeSourceContext,
    now: () => number,
  ) {
    this.store = store;
    this.ctx = ctx;
    this.gate = new PushGate(secretRef, field, ctx);
    this.now = now;
  }

  start(signal: AbortSignal): Promise<void> {
    return this.gate.run(signal);
  }

  health(): SourceHealth {
    return this.gate.health();
  }

  abstract accepts(request: PushRequest): boolean;
  abstract receive(request: PushRequest): PushResponse;
}
