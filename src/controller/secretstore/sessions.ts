/**
 * One provider client per store generation (and, for a ClusterSecretStore,
 * per namespace it acts for, since credentials may be per namespace), with
 * every read going through the shared read cache (single flight, freshness
 * by time) and the store's token bucket: one token per backend request (a
 * client that batches takes them itself, per batch). Several distinct keys wanted at once are
 * fetched with the provider's `readMany` when it has one.
 */
import type { KubeConfig } from "@kubernetes/client-node";
import type { SecretStore } from "../../api/v1alpha1.ts";
import type { KubeClient } from "../../kube/client.ts";
import { ThrottledError } from "../../errors.ts";
import { callResultOf } from "../../providers/call-result.ts";
import { createProviderClient, providerForSpec } from "../../providers/registry.ts";
import type {
  CallResult,
  FindQuery,
  Lease,
  ProviderClient,
  ReadRequest,
  SecretValue,
  ValidationResult,
} from "../../providers/types.ts";
import type { ReadCache } from "../../store/read-cache.ts";
import { buildProviderContext } from "./provider-context.ts";
import { TokenBucket } from "../../store/rate-limit.ts";
import { storeId } from "./resolve.ts";

export interface SessionDeps {
  kube: KubeClient;
  kc: KubeConfig;
  cache: ReadCache;
  onCall(provider: string, store: string, call: string, result: CallResult, seconds: number): void;
  /** Backend calls in flight, across stores (shared counter, for the dashboard). */
  inflight?: { count: number };
  /** Builds the provider client; default: the registry (tests pass their own ProviderClient). */
  createClient?: typeof createProviderClient;
}

export class StoreSession {
  readonly id: string;
  readonly provider: string;
  readonly client: ProviderClient;
  /** Key of the read cache: store, generation and acting namespace. */
  readonly cacheKey: string;
  readonly #deps: SessionDeps;
  readonly #bucket: TokenBucket;

  constructor(
    deps: SessionDeps,
    store: SecretStore,
    actingNamespace: string | undefined,
    bucket: TokenBucket,
  ) {
    this.#deps = deps;
    this.#bucket = bucket;
    this.id = storeId(store);
    this.provider = providerForSpec(store.spec.provider).factory.name;
    this.cacheKey = `${this.id}#${store.metadata.generation ?? 0}${store.kind === "ClusterSecretStore" ? `@${actingNamespace}` : ""}`;
    this.client = (deps.createClient ?? createProviderClient)(store.spec.provider, {
      ...buildProviderContext(deps, store, actingNamespace, this.provider),
      takeToken: (signal) => bucket.take(signal),
    });
  }

  /**
   * Counts a call into the provider, unless the provider reports each backend
   * request itself (AWS: GetSecretValue, BatchGetSecretValue…), which would
   * count twice. Vault reports only its own auth requests (login, renew-token).
   */
  #record(call: string, result: CallResult, started: number): void {
    if (!this.client.metersOwnRequests)
      this.#deps.onCall(this.provider, this.id, call, result, (performance.now() - started) / 1000);
  }

  /** Calls the backend, rate limited (here, or per request by the client), timed and counted. */
  async #call<T>(call: string, fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    if (!this.client.metersOwnRequests) await this.#bucket.take(signal);
    const started = performance.now();
    const inflight = this.#deps.inflight ?? { count: 0 };
    inflight.count++;
    try {
      const result = await fn();
      this.#bucket.succeeded();
      this.#record(call, "success", started);
      return result;
    } catch (err) {
      if (err instanceof ThrottledError) this.#bucket.throttled(err.retryAfterSeconds);
      this.#record(call, callResultOf(err), started);
      throw err;
    } finally {
      inflight.count--;
    }
  }

  /** Whether several reads can share one backend call (readMany). */
  get batchesReads(): boolean {
    return this.client.readMany !== undefined;
  }

  /** Whether `request` would be served without a new backend read (read since `readsSince`, or in flight since). */
  isCached(request: ReadRequest, readsSince: number): boolean {
    return this.#deps.cache.has(this.cacheKey, request, readsSince);
  }

  /**
   * Reads several keys; misses are fetched together (readMany) when the
   * provider can. A cached value is taken when its read started at or
   * after `readsSince` (one time for all, or one per request). Results are
   * in request order; a failed entry is an Error.
   */
  async readAll(
    requests: ReadRequest[],
    readsSince: number | readonly number[],
    signal?: AbortSignal,
  ): Promise<(SecretValue | Error)[]> {
    const misses: {
      request: ReadRequest;
      resolve: (v: SecretValue) => void;
      reject: (e: unknown) => void;
    }[] = [];
    // ReadCache calls `load` synchronously for a miss, so every miss is collected before the batch goes out.
    const results = requests.map((request, i) =>
      this.#deps.cache.read(
        this.cacheKey,
        request,
        typeof readsSince === "number" ? readsSince : (readsSince[i] ?? Date.now()),
        () => new Promise<SecretValue>((resolve, reject) => misses.push({ request, resolve, reject })),
      ),
    );
    if (misses.length === 1 || (misses.length > 1 && !this.client.readMany)) {
      for (const m of misses)
        this.#call("read", () => this.client.read(m.request, signal), signal).then(m.resolve, m.reject);
    } else if (misses.length > 1) {
      const readMany = this.client.readMany?.bind(this.client);
      this.#call(
        "readMany",
        () =>
          (readMany as NonNullable<typeof readMany>)(
            misses.map((m) => m.request),
            signal,
          ),
        signal,
      ).then(
        (values) =>
          misses.forEach((m, i) =>
            values[i] instanceof Error ? m.reject(values[i]) : m.resolve(values[i] as SecretValue),
          ),
        (err: unknown) => misses.forEach((m) => m.reject(err)),
      );
    }
    const settled = await Promise.allSettled(results);
    return settled.map((s) => (s.status === "fulfilled" ? s.value : toError(s.reason)));
  }

  list(query: FindQuery, signal?: AbortSignal): Promise<string[]> {
    return this.#call("list", () => this.client.list(query, signal), signal);
  }

  validate(signal?: AbortSignal): Promise<ValidationResult> {
    return this.#call("validate", () => this.client.validate(signal), signal);
  }

  renewLease(lease: Lease, signal?: AbortSignal): Promise<Lease> | undefined {
    const renew = this.client.renewLease?.bind(this.client);
    return renew && this.#call("renewLease", () => renew(lease, signal), signal);
  }

  revokeLease(lease: Lease, signal?: AbortSignal): Promise<void> | undefined {
    const revoke = this.client.revokeLease?.bind(this.client);
    return revoke && this.#call("revokeLease", () => revoke(lease, signal), signal);
  }
}

function toError(reason: unknown): Error {
  return reason instanceof Error ? reason : new Error(String(reason));
}

/** Sessions by store identity; a new store generation replaces (and closes) the old client. */
export class StoreSessions {
  readonly #deps: SessionDeps;
  readonly #sessions = new Map<string, { uid: string; generation: number; session: StoreSession }>();
  readonly #buckets = new Map<string, { spec: string; bucket: TokenBucket }>();

  constructor(deps: SessionDeps) {
    this.#deps = deps;
  }

  /** Throws InvalidSpecError when the store's provider spec is invalid. */
  session(store: SecretStore, actingNamespace?: string): StoreSession {
    const id = storeId(store);
    const key = store.kind === "ClusterSecretStore" ? `${id}@${actingNamespace ?? ""}` : id;
    const uid = store.metadata.uid ?? "";
    const generation = store.metadata.generation ?? 0;
    const existing = this.#sessions.get(key);
    if (existing && existing.uid === uid && existing.generation === generation) return existing.session;
    if (existing) {
      this.#deps.cache.invalidate(existing.session.cacheKey);
      void existing.session.client.close().catch(() => undefined);
    }
    const session = new StoreSession(this.#deps, store, actingNamespace, this.#bucket(id, store));
    this.#sessions.set(key, { uid, generation, session });
    return session;
  }

  #bucket(id: string, store: SecretStore): TokenBucket {
    const spec = JSON.stringify(store.spec.rateLimit ?? {});
    const found = this.#buckets.get(id);
    if (found && found.spec === spec) return found.bucket;
    const bucket = TokenBucket.forSpec(store.spec.rateLimit);
    this.#buckets.set(id, { spec, bucket });
    return bucket;
  }

  /** The store was deleted. */
  release(store: Pick<SecretStore, "kind" | "metadata">): void {
    const id = storeId(store);
    for (const [key, entry] of this.#sessions) {
      if (key === id || key.startsWith(`${id}@`)) {
        this.#sessions.delete(key);
        this.#deps.cache.invalidate(entry.session.cacheKey);
        void entry.session.client.close().catch(() => undefined);
      }
    }
    this.#buckets.delete(id);
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.#sessions.values()].map((e) => e.session.client.close()));
    this.#sessions.clear();
  }
}
