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
import { actsPerNamespace } from "./acting-namespace.ts";
import {
  type CallResult,
  type FindQuery,
  type Lease,
  type ProviderClient,
  type ProviderContext,
  type ReadRequest,
  type SecretValue,
  type ValidationResult,
  readRequestId,
} from "../../providers/types.ts";
import type { ReadCache } from "../../store/read-cache.ts";
import {
  auditScope,
  operationScope,
  reasonOf,
  type AuditKey,
  type AuditScope,
  type AuditSubject,
  type Auditor,
} from "../../store/audit.ts";
import { buildProviderContext } from "./provider-context.ts";
import { TokenBucket } from "../../store/rate-limit.ts";
import { retryPolicy, withRetries, type RetryPolicy } from "../../store/retry.ts";
import { storeId } from "./resolve.ts";

export interface SessionDeps {
  kube: KubeClient;
  kc: KubeConfig;
  cache: ReadCache;
  onCall(provider: string, store: string, call: string, result: CallResult, seconds: number): void;
  /** Backend calls in flight, across stores (shared counter, for the dashboard). */
  inflight?: { count: number };
  /** Audit records of backend operations (none: not audited). */
  audit?: Auditor;
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
  /** spec.retrySettings: failed calls made again (store/retry.ts). */
  readonly #retry: RetryPolicy | undefined;
  /** Reads under way by request, with whom they serve so far (a subject that joins one is added). */
  readonly #pending = new Map<string, { keys: AuditKey[]; subjects: AuditSubject[] }>();

  constructor(
    deps: SessionDeps,
    store: SecretStore,
    actingNamespace: string | undefined,
    bucket: TokenBucket,
  ) {
    this.#deps = deps;
    this.#bucket = bucket;
    this.#retry = retryPolicy(store.spec.retrySettings);
    this.id = storeId(store);
    this.provider = providerForSpec(store.spec.provider).factory.name;
    this.cacheKey = `${this.id}#${store.metadata.generation ?? 0}${actsPerNamespace(store) ? `@${actingNamespace}` : ""}`;
    this.client = (deps.createClient ?? createProviderClient)(store.spec.provider, {
      ...buildProviderContext(deps, store, actingNamespace, this.provider),
      takeToken: (signal) => bucket.take(signal),
      onCall: (call, result, seconds, detail) => {
        deps.onCall(this.provider, this.id, call, result, seconds);
        // A client that batches by itself (AWS) sends one request for reads of several callers, in the
        // first one's scope: every ExternalSecret waiting on a key the request names is listed too.
        const scope = auditScope.getStore();
        const waiting = (detail?.keys ?? []).flatMap((k) => this.#pending.get(pendingKey(k))?.subjects ?? []);
        deps.audit?.recordCall(
          { store: this.id, provider: this.provider, operation: call, result, seconds },
          detail,
          { subjects: () => unique([...(scope?.subjects() ?? []), ...waiting]), keys: () => scope?.keys() },
        );
      },
    });
  }

  /**
   * Counts a call into the provider, unless the provider reports each backend
   * request itself (AWS: GetSecretValue, BatchGetSecretValue…), which would
   * count twice. Vault reports only its own auth requests (login, renew-token).
   */
  #record(call: string, result: CallResult, started: number, scope: AuditScope, error?: unknown): void {
    if (this.client.metersOwnRequests) return;
    const seconds = (performance.now() - started) / 1000;
    this.#deps.onCall(this.provider, this.id, call, result, seconds);
    this.#deps.audit?.record(
      { store: this.id, provider: this.provider, operation: call, result, seconds, reason: reasonOf(error) },
      {},
      scope,
    );
  }

  /**
   * Calls the backend, rate limited (here, or per request by the client), timed, counted and audited,
   * and made again as spec.retrySettings says. Every backend call of the controller passes here; calls
   * the client reports itself (logins, AWS requests) are audited by the provider context, in the scope
   * set here.
   */
  #call<T>(
    call: string,
    fn: () => Promise<T>,
    signal?: AbortSignal,
    scope: AuditScope = NO_SCOPE,
  ): Promise<T> {
    return withRetries(this.#retry, () => this.#attempt(call, fn, signal, scope), signal);
  }

  async #attempt<T>(
    call: string,
    fn: () => Promise<T>,
    signal: AbortSignal | undefined,
    scope: AuditScope,
  ): Promise<T> {
    this.#deps.audit?.admit();
    if (!this.client.metersOwnRequests) await this.#bucket.take(signal);
    scope = operationScope(scope);
    const started = performance.now();
    const inflight = this.#deps.inflight ?? { count: 0 };
    inflight.count++;
    try {
      const result = await auditScope.run(scope, fn);
      this.#bucket.succeeded();
      this.#record(call, "success", started, scope);
      return result;
    } catch (err) {
      if (err instanceof ThrottledError) this.#bucket.throttled(err.retryAfterSeconds);
      this.#record(call, callResultOf(err), started, scope, err);
      throw err;
    } finally {
      inflight.count--;
    }
  }

  /** The audit scope of reads of `requests`: every subject any of them served, when the call ends. */
  #readScope(requests: ReadRequest[]): AuditScope {
    const pending = requests.map((r) => this.#pending.get(pendingKey(r)));
    return {
      subjects: () => unique(pending.flatMap((p) => p?.subjects ?? [])),
      keys: () => pending.flatMap((p) => p?.keys ?? []),
    };
  }

  #settled(requests: ReadRequest[], entries: ({ subjects: AuditSubject[] } | undefined)[]): void {
    requests.forEach((r, i) => {
      if (this.#pending.get(pendingKey(r)) === entries[i]) this.#pending.delete(pendingKey(r));
    });
  }

  /** Whether several reads can share one backend call (readMany). */
  get batchesReads(): boolean {
    return this.client.readMany !== undefined;
  }

  /** Whether `request` would be served without a new backend read (read since `readsSince`, or in flight since). */
  isCached(request: ReadRequest, readsSince: number): boolean {
    return this.#deps.cache.has(this.cacheKey, request, readsSince);
  }

  /** The cached read of `request` (its value's version, when it started), if any; reads nothing. */
  cached(request: ReadRequest): { version?: string; readAt: number } | undefined {
    const hit = this.#deps.cache.peek(this.cacheKey, request);
    return (
      hit && { ...(hit.value.version !== undefined && { version: hit.value.version }), readAt: hit.readAt }
    );
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
    /** Whom the reads serve, for the audit record of the backend read (also when they join one in flight). */
    subject?: AuditSubject,
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
        () =>
          new Promise<SecretValue>((resolve, reject) => {
            misses.push({ request, resolve, reject });
            this.#pending.set(pendingKey(request), {
              keys: [
                { key: request.key, ...(request.version !== undefined && { version: request.version }) },
              ],
              subjects: [],
            });
          }),
      ),
    );
    if (subject) {
      for (const request of requests) {
        const p = this.#pending.get(pendingKey(request));
        if (p && !p.subjects.some((s) => sameSubject(s, subject))) p.subjects.push(subject);
      }
    }
    const once = (reqs: ReadRequest[]) => {
      const entries = reqs.map((r) => this.#pending.get(pendingKey(r)));
      return { scope: this.#readScope(reqs), done: () => this.#settled(reqs, entries) };
    };
    if (misses.length === 1 || (misses.length > 1 && !this.client.readMany)) {
      for (const m of misses) {
        const { scope, done } = once([m.request]);
        this.#call("read", () => this.client.read(m.request, signal), signal, scope)
          .finally(done)
          .then(m.resolve, m.reject);
      }
    } else if (misses.length > 1) {
      const readMany = this.client.readMany?.bind(this.client);
      const { scope, done } = once(misses.map((m) => m.request));
      this.#call(
        "readMany",
        () =>
          (readMany as NonNullable<typeof readMany>)(
            misses.map((m) => m.request),
            signal,
          ),
        signal,
        scope,
      )
        .finally(done)
        .then(
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

  list(query: FindQuery, signal?: AbortSignal, subject?: AuditSubject): Promise<string[]> {
    return this.#call("list", () => this.client.list(query, signal), signal, subjectScope(subject));
  }

  validate(signal?: AbortSignal): Promise<ValidationResult> {
    return this.#call("validate", () => this.client.validate(signal), signal);
  }

  renewLease(lease: Lease, signal?: AbortSignal, subject?: AuditSubject): Promise<Lease> | undefined {
    const renew = this.client.renewLease?.bind(this.client);
    return renew && this.#call("renewLease", () => renew(lease, signal), signal, subjectScope(subject));
  }

  revokeLease(lease: Lease, signal?: AbortSignal, subject?: AuditSubject): Promise<void> | undefined {
    const revoke = this.client.revokeLease?.bind(this.client);
    return revoke && this.#call("revokeLease", () => revoke(lease, signal), signal, subjectScope(subject));
  }
}

const NO_SCOPE: AuditScope = { subjects: () => [], keys: () => undefined };

function subjectScope(subject: AuditSubject | undefined): AuditScope {
  return subject ? { subjects: () => [subject], keys: () => undefined } : NO_SCOPE;
}

const pendingKey = readRequestId;

function sameSubject(a: AuditSubject, b: AuditSubject): boolean {
  return (
    a.kind === b.kind &&
    a.name === b.name &&
    ("namespace" in a ? a.namespace : "") === ("namespace" in b ? b.namespace : "")
  );
}

function unique(subjects: AuditSubject[]): AuditSubject[] {
  return subjects.filter((s, i) => subjects.findIndex((t) => sameSubject(s, t)) === i);
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
    // A store that reads the same for every namespace has one session for all of them (acting-namespace.ts).
    const perNamespace = actsPerNamespace(store);
    const key = perNamespace ? `${id}@${actingNamespace ?? ""}` : id;
    const uid = store.metadata.uid ?? "";
    const generation = store.metadata.generation ?? 0;
    const existing = this.#sessions.get(key);
    if (existing && existing.uid === uid && existing.generation === generation) return existing.session;
    if (existing) {
      this.#deps.cache.invalidate(existing.session.cacheKey);
      void existing.session.client.close().catch(() => undefined);
    }
    const acting = perNamespace ? actingNamespace : undefined;
    const session = new StoreSession(this.#deps, store, acting, this.#bucket(id, store));
    this.#sessions.set(key, { uid, generation, session });
    return session;
  }

  /**
   * What a generator that calls a backend (VaultDynamicSecret) gets, as a namespaced SecretStore
   * of `namespace` named `id` would: credentials, tokens and CA bundles of that namespace only
   * (ESO's generators read them in the ExternalSecret's namespace), call metrics and audit.
   */
  generatorContext(id: string, namespace: string, provider: string): ProviderContext {
    const store = { kind: "SecretStore" as const, metadata: { name: id, namespace } };
    return buildProviderContext(this.#deps, store, namespace, provider, id);
  }

  /**
   * The store's own identity for a client other than its reads (an event source): credentials,
   * tokens and CA bundles as its provider gets them, acting for no namespace, and its rate limit.
   */
  providerContext(store: SecretStore): ProviderContext {
    const bucket = this.#bucket(storeId(store), store);
    const provider = providerForSpec(store.spec.provider).factory.name;
    return {
      ...buildProviderContext(this.#deps, store, undefined, provider),
      takeToken: (signal) => bucket.take(signal),
    };
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
