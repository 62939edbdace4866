/**
 * A small Kubernetes REST client over node:http(s) with one keep-alive agent.
 * The generated @kubernetes/client-node APIs hide what a controller needs
 * (server-side apply with a field manager, status subresources, raw watch
 * streams with resourceVersion and bookmarks), so we speak the REST API
 * directly and take only authentication from the KubeConfig.
 */
import http from "node:http";
import https from "node:https";
import { urlToHttpOptions } from "node:url";
import type { KubeConfig } from "@kubernetes/client-node";
import { AbortError, KubeApiError } from "../../errors.ts";

export interface ResourceType {
  group: string;
  version: string;
  plural: string;
  kind: string;
  namespaced: boolean;
}

export const resourceTypes = {
  secret: { group: "", version: "v1", plural: "secrets", kind: "Secret", namespaced: true },
  namespace: { group: "", version: "v1", plural: "namespaces", kind: "Namespace", namespaced: false },
  serviceAccount: {
    group: "",
    version: "v1",
    plural: "serviceaccounts",
    kind: "ServiceAccount",
    namespaced: true,
  },
  event: { group: "", version: "v1", plural: "events", kind: "Event", namespaced: true },
  lease: { group: "coordination.k8s.io", version: "v1", plural: "leases", kind: "Lease", namespaced: true },
  externalSecret: {
    group: "refsync.dev",
    version: "v1alpha1",
    plural: "externalsecrets",
    kind: "ExternalSecret",
    namespaced: true,
  },
  secretStore: {
    group: "refsync.dev",
    version: "v1alpha1",
    plural: "secretstores",
    kind: "SecretStore",
    namespaced: true,
  },
  clusterSecretStore: {
    group: "refsync.dev",
    version: "v1alpha1",
    plural: "clustersecretstores",
    kind: "ClusterSecretStore",
    namespaced: false,
  },
} satisfies Record<string, ResourceType>;

/** The resource (and subresource) a request path names, for metric labels: `secrets`, `externalsecrets/status`. */
export function resourceOfPath(path: string): string {
  const parts = path.split("?")[0]?.split("/").filter(Boolean) ?? [];
  const at = parts[0] === "api" ? 2 : 3;
  const rest = parts[at] === "namespaces" && parts.length > at + 2 ? parts.slice(at + 2) : parts.slice(at);
  return [rest[0], rest[2]].filter(Boolean).join("/") || "unknown";
}

export function apiVersionOf(type: ResourceType): string {
  return type.group ? `${type.group}/${type.version}` : type.version;
}

export function isNotFound(err: unknown): boolean {
  return err instanceof KubeApiError && err.status === 404;
}
export function isConflict(err: unknown): boolean {
  return err instanceof KubeApiError && err.status === 409;
}
export function isGone(err: unknown): boolean {
  return err instanceof KubeApiError && err.status === 410;
}

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace?: string; resourceVersion?: string };
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
const REQUEST_TIMEOUT_MS = 60_000;

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
      if (status >= 400) throw toApiError(status, text, method, path);
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

  async list<T>(
    type: ResourceType,
    options: {
      namespace?: string;
      labelSelector?: string;
      fieldSelector?: string;
      signal?: AbortSignal;
    } = {},
  ): Promise<ListResult<T>> {
    const items: T[] = [];
    let cont: string | undefined;
    let resourceVersion = "";
    do {
      const page = await this.request<{
        items: T[];
        metadata: { resourceVersion: string; continue?: string };
      }>("GET", this.path(type, options.namespace), {
        query: {
          labelSelector: options.labelSelector,
          fieldSelector: options.fieldSelector,
          limit: 500,
          continue: cont,
        },
        signal: options.signal,
      });
      // List items carry no apiVersion/kind; restore them so objects look like what get returns.
      for (const item of page.items) items.push({ apiVersion: apiVersionOf(type), kind: type.kind, ...item });
      resourceVersion = page.metadata.resourceVersion;
      cont = page.metadata.continue || undefined;
    } while (cont);
    return { items, resourceVersion };
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

  /** JSON patch (RFC 6902), e.g. to remove one finalizer guarded by a `test` op. */
  jsonPatch<T>(
    type: ResourceType,
    namespace: string | undefined,
    name: string,
    ops: unknown[],
    signal?: AbortSignal,
  ): Promise<T> {
    return this.request<T>("PATCH", this.path(type, namespace, name), {
      body: ops,
      contentType: "application/json-patch+json",
      signal,
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

function toApiError(status: number, text: string, method: string, path: string): KubeApiError {
  try {
    const st = JSON.parse(text) as { reason?: string; message?: string };
    return new KubeApiError(
      status,
      st.reason ?? String(status),
      st.message ?? `${method} ${path}: HTTP ${status}`,
    );
  } catch {
    return new KubeApiError(status, String(status), `${method} ${path}: HTTP ${status}`);
  }
}
