/**
 * The connection loop of a pulling or subscribing change source (SQS, Vault
 * events, Pub/Sub): run a session until it fails, report the source down
 * with the reason, wait with exponential back-off and jitter, and try again,
 * until the source is stopped. A session says when it is connected; that
 * marks the source up and resets the back-off. `onReconnect` runs once a
 * session is connected again after a gap, so the source can catch up with
 * what it may have missed while it was down.
 */
import { sleep } from "../../kube/sleep.ts";
import type { Logger } from "../../log.ts";
import type { ChangeSourceContext, SourceHealth } from "./source.ts";

export interface BackoffOptions {
  /** First wait after a failure (default 1 s). */
  initialMs?: number;
  /** Longest wait (default 60 s). */
  maxMs?: number;
}

export interface Session {
  /** Call once the session is connected (subscribed, or a first poll answered). */
  connected(): void;
}

export interface ReconnectOptions {
  name: string;
  log: Logger;
  healthChanged(): void;
  backoff?: BackoffOptions;
  /** Runs after a session connected following a failed one (not on the first connection). */
  onReconnect?(): void;
}

export class Reconnecting {
  readonly #options: ReconnectOptions;
  #health: SourceHealth = { up: false, reason: "Connecting" };
  /** Failures in a row: how long the next wait is. */
  #failures = 0;
  /** A session failed since the last connection: the next one reconnects after a gap. */
  #gap = false;

  constructor(options: ReconnectOptions) {
    this.#options = options;
  }

  /** The loop of source `name`, reporting its health changes to the sources manager. */
  static of(
    name: string,
    ctx: ChangeSourceContext,
    options: { backoff?: BackoffOptions | undefined; onReconnect?: () => void } = {},
  ): Reconnecting {
    return new Reconnecting({
      name,
      log: ctx.log,
      healthChanged: () => ctx.healthChanged(),
      ...(options.backoff && { backoff: options.backoff }),
      ...(options.onReconnect && { onReconnect: options.onReconnect }),
    });
  }

  health(): SourceHealth {
    return this.#health;
  }

  /** Runs `session` again and again until `signal` aborts; resolves then. */
  async run(signal: AbortSignal, session: (s: Session, signal: AbortSignal) => Promise<void>): Promise<void> {
    const { log, name } = this.#options;
    while (!signal.aborted) {
      try {
        await session({ connected: () => this.#connected() }, signal);
        if (signal.aborted) break;
        throw new Error("the connection closed");
      } catch (error) {
        if (signal.aborted) break;
        const reason = error instanceof Error ? error.message : String(error);
        this.#failures++;
        this.#gap = true;
        const wait = this.#delay();
        log.warn({ source: name, reason, retryInMs: wait }, "event source disconnected");
        this.#set({ up: false, reason });
        await sleep(wait, signal);
      }
    }
    this.#set({ up: false, reason: "Stopped" });
  }

  #connected(): void {
    this.#failures = 0;
    if (this.#health.up) return;
    this.#set({ up: true });
    if (this.#gap) {
      this.#gap = false;
      this.#options.onReconnect?.();
    }
  }

  /** Exponential, capped, with full jitter over its upper half so that replicas spread out. */
  #delay(): number {
    const initial = this.#options.backoff?.initialMs ?? 1_000;
    const max = this.#options.backoff?.maxMs ?? 60_000;
    const ceiling = Math.min(max, initial * 2 ** (this.#failures - 1));
    return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
  }

  #set(health: SourceHealth): void {
    const same = health.up === this.#health.up && health.reason === this.#health.reason;
    this.#health = health;
    if (!same) this.#options.healthChanged();
  }
}
