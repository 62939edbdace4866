/**
 * The Kubernetes transport: a small REST client over node:http(s) with one
 * keep-alive agent per API server. Every call refsync makes to an API server
 * goes through it (the controller, the Kubernetes provider on this or another
 * cluster, TokenReview for the dashboard, the plugin's Secret reads);
 * @kubernetes/client-node only parses kubeconfigs and supplies credentials
 * (`KubeConfig.applyToHTTPSOptions`), none of its generated API classes is
 * called.
 *
 * Not because client-node cannot do what a controller needs: it can
 * (`KubernetesObjectApi.patch` with `PatchStrategy.ServerSideApply` and a
 * field manager, status subresources, `Watch` with any query parameter). The
 * reasons are CPU and memory per call, which decide how many ExternalSecrets
 * one replica keeps synced (bench/RESULTS.md: 2,000 ExternalSecrets mean
 * ~6,000 writes in one sync round, 5,000 must fit in 200 MiB):
 * - client-node builds a request context, a fetch Request, header maps and
 *   (per request) an https.Agent from the kubeconfig, so connections and TLS
 *   sessions are not reused across calls; here one agent pools sockets by
 *   host and port, and its pool name is not the kilobytes of CA, certificate
 *   and key PEM that https.Agent would decode and hash on every request.
 * - each request here holds one timer and one abort listener, released when
 *   it ends (AbortSignal.timeout + AbortSignal.any kept ~4 timers and 2
 *   signals per ExternalSecret alive for a minute after every sync round).
 * - responses are parsed once into plain objects; client-node deserialises
 *   them again into its model classes (a second copy of every object).
 * - metadata-only lists (`listMetadata`) keep Secret data out of the process.
 * Measured: controller CPU 3.1 s for the ~6,000 requests of 2,000
 * ExternalSecrets, 1.27× the pipelined floor of the same writes made by the
 * bench client; steady RSS 187 MiB at 5,000 ExternalSecrets. client-node
 * itself is still loaded for KubeConfig (~25 MiB of source text, see
 * docs/performance.md, "Memory").
 */
import http from "node:http";
import https from "node:https";
import { urlToHttpOptions } from "node:url";
import type { KubeConfig } from "@kubernetes/client-node";
import {
  AbortError,
  AccessDeniedError,
  BackendUnavailableError,
  KubeApiError,
  SecretNotFoundError,
  ThrottledError,
  type RefsyncError,
} from "../errors.ts";
import { apiVersionOf, type ResourceType } from "./resources.ts";

export function isNotFound(err: unknown): boolean {
  return err instanceof KubeApiError && err.status === 404;
}
export function isConflict(err: unknown): boolean {
  return err instanceof KubeApiError && err.status === 409;
}
export function isGone(err: unknown): boolean {
  return err instanceof KubeApiError && err.status === 410;
}

/**
 * The one mapping of API server failures to refsync's typed errors, for
 * reads made on a store's behalf (the Kubernetes provider, credentials,
 * CA bundles, service-account tokens): 404 → not found, 401/403 → denied,
 * 429 → throttled, anything else (or no answer) → backend unavailable.
 * `what` names the object; messages never hold data.
 */
export function kubeError(err: unknown, what: string): RefsyncError {
  if (err instanceof KubeApiError) {
    if (err.status === 404) return new SecretNotFoundError(`${what} not found`);
    if (err.status === 401 || err.status === 403)
      return new AccessDeniedError(`${what}: access denied (HTTP ${err.status})`);
    if (err.status === 429) return new ThrottledError(`${what}: throttled`, err.retryAfterSeconds);
    return new BackendUnavailableError(`${what}: Kubernetes API answered HTTP ${err.status}: ${err.message}`);
  }
  return new BackendUnavailableError(`${what}: ${(err as Error).message}`, { cause: err });
}

/** Response media type of a metadata-only list (PartialObjectMetadataList): no data, no spec. */
export const METADATA_ONLY = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1";

/** An object of a metadata-only list. */
export interface ObjectMetadata {
  metadata: {
    name: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: { apiVersion: string; kind: string; name: string; uid: string; controller?: boolean }[];
  };
}

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace?: string; resourceVersion?: string };
}

export interface ListOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  signal?: AbortSignal;
}

export interface ListResult<T> {
  items: T[];
  resourceVersion: string;
}

export interface WatchEvent<T> {
  type: "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK" | "ERROR";
  object: T;
}

interface RequestOptions {
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  contentType?: string;
  /** Response media type; e.g. metadata-only lists (PartialObjectMetadataList). Default JSON. */
  accept?: string;
  signal?: AbortSignal;
}

const HEADER_REFRESH_MS = 30_000;
export const REQUEST_TIMEOUT_MS = 60_000;

interface Deadline {
  /** The request to end on abort (ended at once when the deadline has already passed). */
  bind(req: http.ClientRequest): void;
  release(): void;
}

/**
 * Ends a request when the caller's signal aborts or REQUEST_TIMEOUT_MS
 * passes, whichever comes first, the way http.request's `signal` option
 * would; `release` frees the timer and listener when the request ends.
 * (AbortSignal.timeout + AbortSignal.any kept a timer, a signal and weak
 * references per request alive for the whole minute: at a few thousand
 * ExternalSecrets, megabytes of heap after every sync round. An
 * AbortController per request, handed to http.request, cost an event target
 * and half a dozen stream listeners per API call.)
 */
function requestDeadline(outer: AbortSignal | undefined): Deadline {
  let req: http.ClientRequest | undefined;
  let error: AbortError | undefined;
  const abort = (reason: unknown) => {
    if (error) return;
    error = new AbortError(reason);
    req?.destroy(error);
  };
  const onOuter = () => abort(outer?.reason);
  const timer = setTimeout(
    () => abort(new DOMException("The operation was aborted due to timeout", "TimeoutError")),
    REQUEST_TIMEOUT_MS,
  ).unref();
  if (outer?.aborted) onOuter();
  else outer?.addEventListener("abort", onOuter, { once: true });
  return {
    bind(r) {
      req = r;
      if (error) r.destroy(error);
    },
    release() {
      clearTimeout(timer);
      outer?.removeEventListener("abort", onOuter);
    },
  };
}

/**
 * The agent of one client: one API server, one set of TLS credentials. It
 * pools sockets by host and port alone; https.Agent's own name for a pool
 * appends every TLS option (kilobytes of CA, certificate and key PEM), and
 * builds, decodes and hashes that string on every request.
 */
class ServerAgent extends https.Agent {
  override getName(options?: https.RequestOptions): string {
    return http.Agent.prototype.getName.call(this, options);
  }
}

export class KubeClient {
  readonly server: URL;
  private readonly kc: KubeConfig;
  private readonly agent: http.Agent;
  private headers: Record<string, string> = {};
  private headersAt = 0;
  /** Protocol, host and port of `server`, parsed once (not a URL per request). */
  private readonly target: http.RequestOptions;
  private readonly transport: typeof http | typeof https;

  /** Called after every request/response (not watches): for the API-request metric. */
  onRequest: ((method: string, path: string, status: number) => void) | undefined;

  private constructor(kc: KubeConfig, server: URL, agent: http.Agent) {
    this.kc = kc;
    this.server = server;
    this.agent = agent;
    this.target = urlToHttpOptions(server);
    this.transport = server.protocol === "https:" ? https : http;
  }

  static async fromKubeConfig(kc: KubeConfig): Promise<KubeClient> {
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new Error("kubeconfig has no current cluster");
    const server = new URL(cluster.server);
    const opts: https.RequestOptions = {};
    await kc.applyToHTTPSOptions(opts);
    const tls = { ca: opts.ca, cert: opts.cert, key: opts.key, rejectUnauthorized: opts.rejectUnauthorized };
    // The agent's TLS options apply to every request it makes.
    const agent =
      server.protocol === "https:"
        ? new ServerAgent({ keepAlive: true, ...tls })
        : new http.Agent({ keepAlive: true });
    const client = new KubeClient(kc, server, agent);
    await client.refreshHeaders();
    return client;
  }

  /** Re-reads bearer tokens (projected service-account tokens rotate). */
  private async refreshHeaders(): Promise<void> {
    const opts: https.RequestOptions = {};
    await this.kc.applyToHTTPSOptions(opts);
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(opts.headers ?? {})) if (typeof v === "string") headers[k] = v;
    if (opts.auth) headers.Authorization = `Basic ${Buffer.from(opts.auth).toString("base64")}`;
    this.headers = headers;
    this.headersAt = Date.now();
  }

  path(type: ResourceType, namespace?: string, name?: string, subresource?: string): string {
    let p = type.group ? `/apis/${type.group}/${type.version}` : `/api/${type.version}`;
    if (type.namespaced && namespace) p += `/namespaces/${encodeURIComponent(namespace)}`;
    p += `/${type.plural}`;
    if (name) p += `/${encodeURIComponent(name)}`;
    if (subresource) p += `/${subresource}`;
    return p;
  }

  /** Sends a request; `deadline` (else `options.signal`) ends it early. */
  private async open(
    method: string,
    path: string,
    options: RequestOptions,
    deadline?: Deadline,
  ): Promise<http.IncomingMessage> {
    if (Date.now() - this.headersAt > HEADER_REFRESH_MS) await this.refreshHeaders();
    let query: URLSearchParams | undefined;
    for (const k in options.query) {
      const v = options.query[k];
      if (v !== undefined) (query ??= new URLSearchParams()).set(k, String(v));
    }
    const body = options.body === undefined ? undefined : JSON.stringify(options.body);
    const headers: Record<string, string> = { ...this.headers, Accept: options.accept ?? "application/json" };
    if (body !== undefined) {
      headers["Content-Type"] = options.contentType ?? "application/json";
      headers["Content-Length"] = String(Buffer.byteLength(body));
    }
    return new Promise((resolve, reject) => {
      const req = this.transport.request(
        {
          ...this.target,
          path: query ? `${path}?${query.toString()}` : path,
          method,
          headers,
          agent: this.agent,
          signal: deadline ? undefined : options.signal,
        },
        resolve,
      );
      deadline?.bind(req);
      req.on("error", reject);
      req.end(body);
    });
  }

  /** One request/response; a server that does not answer within REQUEST_TIMEOUT_MS fails it (a worker must not hang). */
  async request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const deadline = requestDeadline(options.signal);
    try {
      const res = await this.open(method, path, options, deadline);
      const text = await readAll(res);
      const status = res.statusCode ?? 0;
      this.onRequest?.(method, path, status);
      if (status >= 400) throw toApiError(status, text, method, path, res.headers["retry-after"]);
      return (text ? JSON.parse(text) : undefined) as T;
    } finally {
      deadline.release();
    }
  }

  async get<T>(
    type: ResourceType,
    namespace: string | undefined,
    name: string,
    signal?: AbortSignal,
  ): Promise<T | undefined> {
    try {
      return await this.request<T>("GET", this.path(type, namespace, name), { signal });
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /** Every page of a list (500 a page), in order; `accept` picks the media type (METADATA_ONLY). */
  async *pages<T>(
    type: ResourceType,
    options: ListOptions & { accept?: string },
  ): AsyncGenerator<{ items: T[]; resourceVersion: string }> {
    let cont: string | undefined;
    do {
      const page = await this.request<{
        items: T[] | null;
        metadata: { resourceVersion: string; continue?: string };
      }>("GET", this.path(type, options.namespace), {
        query: {
          labelSelector: options.labelSelector,
          fieldSelector: options.fieldSelector,
          limit: 500,
          continue: cont,
        },
        accept: options.accept,
        signal: options.signal,
      });
      // An empty metadata-only list comes back with `items: null`.
      yield { items: page.items ?? [], resourceVersion: page.metadata.resourceVersion };
      cont = page.metadata.continue || undefined;
    } while (cont);
  }

  async list<T>(type: ResourceType, options: ListOptions = {}): Promise<ListResult<T>> {
    const items: T[] = [];
    let resourceVersion = "";
    for await (const page of this.pages<T>(type, options)) {
      // List items carry no apiVersion/kind; restore them so objects look like what get returns.
      for (const item of page.items) items.push({ apiVersion: apiVersionOf(type), kind: type.kind, ...item });
      resourceVersion = page.resourceVersion;
    }
    return { items, resourceVersion };
  }

  /** Names, labels, annotations and owners only (PartialObjectMetadataList): no Secret data reaches the process. */
  async *listMetadata(type: ResourceType, options: ListOptions = {}): AsyncGenerator<ObjectMetadata> {
    for await (const page of this.pages<ObjectMetadata>(type, { ...options, accept: METADATA_ONLY }))
      yield* page.items;
  }

  create<T, B extends KubeObject = KubeObject>(type: ResourceType, obj: B, signal?: AbortSignal): Promise<T> {
    return this.request<T>("POST", this.path(type, obj.metadata.namespace), { body: obj, signal });
  }

  /** Server-side apply: `obj` is the full intent of `fieldManager`; fields it no longer sets are removed. */
  apply<T, B extends KubeObject = KubeObject>(
    type: ResourceType,
    obj: B,
    options: { fieldManager: string; force?: boolean; subresource?: string; signal?: AbortSignal },
  ): Promise<T> {
    return this.request<T>(
      "PATCH",
      this.path(type, obj.metadata.namespace, obj.metadata.name, options.subresource),
      {
        body: obj,
        contentType: "application/apply-patch+yaml",
        query: { fieldManager: options.fieldManager, force: options.force ?? true },
        signal: options.signal,
      },
    );
  }

  /** JSON merge patch, optionally of a subresource (`status`). */
  mergePatch<T>(
    type: ResourceType,
    namespace: string | undefined,
    name: string,
    patch: unknown,
    options: { subresource?: string; fieldManager?: string; signal?: AbortSignal } = {},
  ): Promise<T> {
    return this.request<T>("PATCH", this.path(type, namespace, name, options.subresource), {
      body: patch,
      contentType: "application/merge-patch+json",
      query: { fieldManager: options.fieldManager },
      signal: options.signal,
    });
  }

  replace<T, B extends KubeObject = KubeObject>(
    type: ResourceType,
    obj: B,
    signal?: AbortSignal,
  ): Promise<T> {
    return this.request<T>("PUT", this.path(type, obj.metadata.namespace, obj.metadata.name), {
      body: obj,
      signal,
    });
  }

  /** Deletes; true when it existed. `uid` makes the delete conditional on that exact object. */
  async delete(
    type: ResourceType,
    namespace: string | undefined,
    name: string,
    options: { uid?: string; signal?: AbortSignal } = {},
  ): Promise<boolean> {
    try {
      await this.request("DELETE", this.path(type, namespace, name), {
        body: options.uid ? { preconditions: { uid: options.uid } } : undefined,
        signal: options.signal,
      });
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }

  /**
   * Streams watch events until the server closes the stream, `signal` aborts,
   * or `onEvent` throws. Resolves on a clean end; rejects on transport errors
   * and with KubeApiError(410) when resourceVersion is too old.
   */
  async watch<T>(
    type: ResourceType,
    options: {
      namespace?: string;
      labelSelector?: string;
      resourceVersion: string;
      timeoutSeconds: number;
      signal?: AbortSignal;
    },
    onEvent: (event: WatchEvent<T>) => void,
  ): Promise<void> {
    const res = await this.open("GET", this.path(type, options.namespace), {
      query: {
        watch: true,
        allowWatchBookmarks: true,
        labelSelector: options.labelSelector,
        resourceVersion: options.resourceVersion,
        timeoutSeconds: options.timeoutSeconds,
      },
      signal: options.signal,
    });
    const status = res.statusCode ?? 0;
    if (status >= 400) throw toApiError(status, await readAll(res), "WATCH", type.plural);
    let buffer = "";
    res.setEncoding("utf8");
    for await (const chunk of res as AsyncIterable<string>) {
      buffer += chunk;
      let nl: number;
      while ((nl = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, nl).trim();
        buffer = buffer.slice(nl + 1);
        if (!line) continue;
        const event = JSON.parse(line) as WatchEvent<T>;
        if (event.type === "ERROR") {
          const st = event.object as { code?: number; reason?: string; message?: string };
          throw new KubeApiError(st.code ?? 500, st.reason ?? "Unknown", st.message ?? "watch error");
        }
        onEvent(event);
      }
    }
  }

  close(): void {
    this.agent.destroy();
  }
}

function readAll(res: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on("data", (c: Buffer) => chunks.push(c));
    res.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    res.on("error", reject);
  });
}

function toApiError(
  status: number,
  text: string,
  method: string,
  path: string,
  retryAfter?: string,
): KubeApiError {
  const seconds = retryAfter === undefined ? undefined : Number(retryAfter);
  const wait = seconds !== undefined && Number.isFinite(seconds) ? seconds : undefined;
  try {
    const st = JSON.parse(text) as { reason?: string; message?: string };
    return new KubeApiError(
      status,
      st.reason ?? String(status),
      st.message ?? `${method} ${path}: HTTP ${status}`,
      wait,
    );
  } catch {
    return new KubeApiError(status, String(status), `${method} ${path}: HTTP ${status}`, wait);
  }
}
