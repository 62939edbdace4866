/**
 * What the sources that pull or subscribe (SQS, Vault events, Pub/Sub) share:
 * their store and context, the reconnect loop their health comes from, the
 * counts of messages they handled, and how a change is reported to the sink.
 */
import type { SecretStore } from "../../api/v1alpha1.ts";
import { Reconnecting, type BackoffOptions } from "./reconnect.ts";
import {
  keyChange,
  storeRefOf,
  type ChangeSource,
  type ChangeSourceContext,
  type SourceHealth,
  type StoreRef,
} from "./source.ts";

export interface SourceCounts {
  /** Messages that reported at least one change. */
  changes: number;
  /** Well-formed messages that change nothing of this store's. */
  ignored: number;
  /** Messages that are none of the backend's notifications (logged without their content). */
  malformed: number;
}

export interface PullingSourceOptions {
  backoff?: BackoffOptions;
}

export abstract class PullingSource implements ChangeSource {
  readonly name: string;
  readonly counts: SourceCounts = { changes: 0, ignored: 0, malformed: 0 };
  protected readonly ctx: ChangeSourceContext;
  protected readonly store: StoreRef;
  protected readonly loop: Reconnecting;

  protected constructor(
    name: string,
    store: SecretStore,
    ctx: ChangeSourceContext,
    options: PullingSourceOptions,
  ) {
    this.name = name;
    this.ctx = ctx;
    this.store = storeRefOf(store);
    this.loop = Reconnecting.of(name, ctx, {
      backoff: options.backoff,
      onReconnect: () => this.onReconnect(),
    });
  }

  abstract start(signal: AbortSignal): Promise<void>;

  health(): SourceHealth {
    return this.loop.health();
  }

  /** Runs when a session connects again after a gap; nothing by default (a durable queue kept the events). */
  protected onReconnect(): void {}

  /** Reports that `keys` changed (to `version`, when known), all received now. */
  protected report(keys: Iterable<string>, version?: string): void {
    const receivedAt = Date.now();
    for (const key of keys) this.ctx.sink(keyChange(this.store, this.name, key, version, receivedAt));
  }
}
