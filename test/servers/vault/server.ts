/**
 * A Vault protocol test server on loopback: the documented HTTP API closely
 * enough that node-vault cannot tell it from Vault for what refsync uses,
 * with fault switches and a request log for counting backend calls.
 *
 *   const vault = await startVaultServer();
 *   vault.root.mountKv("secret", 2);
 *   vault.root.putSecret("secret", "team-a/db", { password: "s3cr3t" });
 *   vault.faults.sealed = true;
 *   vault.count({ method: "GET", path: /^secret\/data\// });
 */
import { createServer, type IncomingMessage, type RequestListener, type ServerResponse } from "node:http";
import { createHmac } from "node:crypto";
import { createServer as createTlsServer } from "node:https";
import { TLSSocket } from "node:tls";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import { EventHub, type VaultEventHub } from "./events.ts";
import { VaultHttpError } from "./http-error.ts";
import { VaultNamespace, type VaultResponse } from "./namespace.ts";

export interface RequestLogEntry {
  time: number;
  /** GET, POST, PUT, DELETE or LIST (`?list=true` reads are logged as LIST). */
  method: string;
  /** API path after `/v1/`. */
  path: string;
  /** X-Vault-Namespace, "" for the root namespace. */
  namespace: string;
  status: number;
  /** Display name of the calling token (e.g. `kubernetes-team-a-app`), never the token. */
  identity?: string;
  /** The response's request_id (what a Vault audit device logs as request.id). */
  requestId?: string;
  /** Request headers other than X-Vault-Token (custom headers, X-Vault-Index, X-Vault-Inconsistent), lower-cased. */
  headers: Record<string, string | string[]>;
}

export interface Faults {
  /** 503 "Vault is sealed" on everything but sys/health and sys/seal-status. */
  sealed: boolean;
  /** A standby node of an HA cluster: sys/health answers 429 (its standby code); requests are still served, as a standby forwards them. */
  standby: boolean;
  /** Delay before every response. */
  delayMs: number;
  /** 429 rate-limit-quota answers on every request. */
  throttle: boolean;
  /** Destroy the socket without answering. */
  dropConnections: boolean;
  /**
   * Vault Enterprise consistency (X-Vault-Index): the index a lagging performance standby has
   * applied. A request requiring a later state gets 412, unless it carries
   * X-Vault-Inconsistent: forward-active-node (then it is forwarded to the active node and served).
   */
  standbyAppliedIndex: number | undefined;
}

export interface LogFilter {
  method?: string;
  path?: string | RegExp;
  namespace?: string;
  status?: number;
  identity?: string;
}

export interface VaultTestServer {
  /** Base address, e.g. http://127.0.0.1:40123 */
  readonly url: string;
  /** A root token of the root namespace. */
  readonly rootToken: string;
  /** The root namespace's admin API. */
  readonly root: VaultNamespace;
  /** Admin API of an Enterprise namespace (created on first use). */
  namespace(name: string): VaultNamespace;
  readonly faults: Faults;
  /** Event notifications (sys/events/subscribe websockets) and their fault switches. */
  readonly events: VaultEventHub;
  readonly requests: RequestLogEntry[];
  count(filter?: LogFilter): number;
  clearLog(): void;
  stop(): Promise<void>;
}

const VAULT_VERSION = "1.17.0-refsync-test";
const BUILD_DATE = "2024-06-10T10:11:12Z";
const CLUSTER = { cluster_name: "vault-cluster-refsync", cluster_id: "00000000-0000-0000-0000-000000000000" };

/** The status code a sys/health query parameter asks for (`sealedcode=200`), or the default. */
function statusParam(query: URLSearchParams, name: string, fallback: number): number {
  const value = query.get(name);
  if (value === null || value === "") return fallback;
  const code = Number(value);
  if (!Number.isInteger(code) || code < 1 || code > 999)
    throw new VaultHttpError(400, [`unable to parse ${name} parameter: ${value}`]);
  return code;
}

/** A boolean query parameter as Vault parses it (Go's strconv.ParseBool; absent or empty is false). */
function boolParam(query: URLSearchParams, name: string): boolean {
  const value = query.get(name) ?? "";
  if (["1", "t", "T", "TRUE", "true", "True"].includes(value)) return true;
  if (["", "0", "f", "F", "FALSE", "false", "False"].includes(value)) return false;
  throw new VaultHttpError(400, [`bad value for ${name} parameter: ${value}`]);
}

function matchesFilter(entry: RequestLogEntry, filter: LogFilter): boolean {
  if (filter.method !== undefined && entry.method !== filter.method) return false;
  if (filter.namespace !== undefined && entry.namespace !== filter.namespace) return false;
  if (filter.status !== undefined && entry.status !== filter.status) return false;
  if (filter.identity !== undefined && entry.identity !== filter.identity) return false;
  if (typeof filter.path === "string" && entry.path !== filter.path) return false;
  if (filter.path instanceof RegExp && !filter.path.test(entry.path)) return false;
  return true;
}

async function readBody(request: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString("utf8").trim();
  if (text === "") return {};
  try {
    const parsed: unknown = JSON.parse(text);
    return typeof parsed === "object" && parsed !== null ? (parsed as Record<string, unknown>) : {};
  } catch {
    throw new VaultHttpError(400, ["failed to parse JSON input"]);
  }
}

function send(response: ServerResponse, result: VaultResponse, headers: Record<string, string> = {}): void {
  const body = result.body === undefined ? "" : JSON.stringify(result.body);
  response.writeHead(result.status, {
    "Cache-Control": "no-store",
    ...(body === "" ? {} : { "Content-Type": "application/json" }),
    ...headers,
  });
  response.end(body);
}

export interface VaultServerOptions {
  /**
   * Serve HTTPS with this certificate and key (PEM), as a production Vault does. Client certificates
   * are requested (cert auth reads them); with `clientCa` the listener requires one that this CA
   * issued (Vault's tls_require_and_verify_client_cert).
   */
  tls?: { cert: string; key: string; clientCa?: string };
  /**
   * Vault Enterprise replication: every write and login answers with an X-Vault-Index state
   * (`v1:<cluster>:<index>:<index>:<hmac>`, base64), as a cluster with consistency headers does.
   */
  replicationStates?: boolean;
}

/** The state header of a local index, in Vault's format. */
function replicationState(index: number): string {
  const state = `v1:${CLUSTER.cluster_id}:${index}:${index}`;
  const hmac = createHmac("sha256", "refsync-test").update(state).digest("hex");
  return Buffer.from(`${state}:${hmac}`).toString("base64");
}

/** The highest local index among the X-Vault-Index states a request requires. */
function requiredIndex(header: string | string[] | undefined): number {
  const states = header === undefined ? [] : Array.isArray(header) ? header : header.split(",");
  let highest = 0;
  for (const state of states) {
    const fields = Buffer.from(state.trim(), "base64").toString("utf8").split(":");
    if (fields[0] !== "v1" || fields.length !== 5) throw new VaultHttpError(400, ["invalid X-Vault-Index"]);
    highest = Math.max(highest, Number(fields[2]));
  }
  return highest;
}

export async function startVaultServer(options: VaultServerOptions = {}): Promise<VaultTestServer> {
  const namespaces = new Map<string, VaultNamespace>();
  const events = new EventHub((name) => namespaces.get(name));
  const namespace = (name: string): VaultNamespace => {
    const key = name.replace(/^\/+|\/+$/g, "");
    let found = namespaces.get(key);
    if (!found) {
      const created = new VaultNamespace(key);
      created.onKvChange = (mount, change) => events.publish(created, mount, change);
      namespaces.set(key, (found = created));
    }
    return found;
  };
  const root = namespace("");
  const rootToken = root.createToken({ policies: ["root"], ttl: 0 }, "root");
  const faults: Faults = {
    sealed: false,
    standby: false,
    delayMs: 0,
    throttle: false,
    dropConnections: false,
    standbyAppliedIndex: undefined,
  };
  let writeIndex = 0;
  const requests: RequestLogEntry[] = [];

  /**
   * GET/HEAD sys/health: 200 active, 429 standby (200 with standbyok), 503 sealed; each code can be
   * overridden (activecode, standbycode, sealedcode, uninitcode, perfstandbycode, drsecondarycode),
   * as load balancers ask. A sealed node reports itself standby and no cluster.
   */
  const health = (query: URLSearchParams): VaultResponse => {
    // Read every parameter, so a malformed one is refused whatever the state.
    const codes = {
      active: statusParam(query, "activecode", 200),
      standby: statusParam(query, "standbycode", 429),
      sealed: statusParam(query, "sealedcode", 503),
      uninit: statusParam(query, "uninitcode", 501),
      perfStandby: statusParam(query, "performancestandbycode", 473),
      drSecondary: statusParam(query, "drsecondarycode", 472),
    };
    const standbyOk = boolParam(query, "standbyok");
    boolParam(query, "perfstandbyok"); // never a performance standby here, but a bad value is still refused
    let status = codes.active;
    if (faults.sealed) status = codes.sealed;
    else if (faults.standby) status = standbyOk ? codes.active : codes.standby;
    return {
      status,
      body: {
        initialized: true,
        sealed: faults.sealed,
        standby: faults.sealed || faults.standby,
        performance_standby: false,
        replication_performance_mode: "disabled",
        replication_dr_mode: "disabled",
        server_time_utc: Math.floor(Date.now() / 1000),
        version: VAULT_VERSION,
        enterprise: false,
        ...(faults.sealed ? {} : CLUSTER),
      },
    };
  };
  const sealStatus = (): VaultResponse => ({
    status: 200,
    body: {
      type: "shamir",
      initialized: true,
      sealed: faults.sealed,
      t: 1,
      n: 1,
      progress: 0,
      nonce: "",
      version: VAULT_VERSION,
      build_date: BUILD_DATE,
      migration: false,
      ...(faults.sealed ? {} : CLUSTER),
      recovery_seal: false,
      storage_type: "inmem",
    },
  });

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? "/", "http://vault");
    const listQuery = url.searchParams.get("list");
    const list = listQuery === "true" || listQuery === "1";
    const method = request.method === "GET" && list ? "LIST" : (request.method ?? "GET");
    const path = url.pathname.replace(/^\/v1\//, "").replace(/\/+$/, "");
    const namespaceHeader = request.headers["x-vault-namespace"];
    const namespaceName = (typeof namespaceHeader === "string" ? namespaceHeader : "").replace(
      /^\/+|\/+$/g,
      "",
    );
    const logged = Object.entries(request.headers).filter(
      (header): header is [string, string | string[]] =>
        header[1] !== undefined && header[0] !== "x-vault-token",
    );
    const entry: RequestLogEntry = {
      time: Date.now(),
      method,
      path,
      namespace: namespaceName,
      status: 0,
      headers: Object.fromEntries(logged),
    };
    requests.push(entry);

    if (faults.delayMs > 0) await sleep(faults.delayMs);
    if (faults.dropConnections) {
      request.socket.destroy();
      return;
    }
    let result: VaultResponse;
    let headers: Record<string, string> = {};
    try {
      if (!url.pathname.startsWith("/v1/")) throw new VaultHttpError(404, []);
      if (faults.throttle) {
        headers = { "Retry-After": "1" };
        throw new VaultHttpError(429, [`request path "${path}": rate limit quota exceeded`]);
      }
      if (path === "sys/health") {
        result = health(url.searchParams);
        if (request.method === "HEAD") result = { status: result.status };
      } else if (path === "sys/seal-status") result = sealStatus();
      else if (faults.sealed) throw new VaultHttpError(503, ["Vault is sealed"]);
      else if (namespaceName !== "" && !namespaces.has(namespaceName))
        throw new VaultHttpError(403, ["permission denied"]);
      else {
        const lagging = faults.standbyAppliedIndex;
        if (
          lagging !== undefined &&
          requiredIndex(request.headers["x-vault-index"]) > lagging &&
          request.headers["x-vault-inconsistent"] !== "forward-active-node"
        ) {
          throw new VaultHttpError(412, ["required index state not present"]);
        }
        const tokenHeader = request.headers["x-vault-token"];
        const peerCertificate =
          request.socket instanceof TLSSocket ? request.socket.getPeerX509Certificate() : undefined;
        const ancestors = [...namespaces.keys()]
          .filter((name) => name !== namespaceName && (name === "" || namespaceName.startsWith(`${name}/`)))
          .sort((a, b) => b.length - a.length)
          .map((name) => namespace(name));
        result = await namespace(namespaceName).handle(
          {
            method,
            path,
            query: url.searchParams,
            body: await readBody(request),
            token: typeof tokenHeader === "string" ? tokenHeader : undefined,
            ...(peerCertificate ? { peerCertificate } : {}),
          },
          ancestors,
        );
        if (options.replicationStates && method !== "GET" && method !== "LIST" && result.status < 400) {
          writeIndex += 1;
          headers = { "X-Vault-Index": replicationState(writeIndex) };
        }
      }
    } catch (error) {
      if (!(error instanceof VaultHttpError)) throw error;
      result = { status: error.status, body: { errors: error.errors, ...error.body } };
    }
    entry.status = result.status;
    if (result.identity !== undefined) entry.identity = result.identity;
    const requestId = (result.body as { request_id?: unknown } | undefined)?.request_id;
    if (typeof requestId === "string") entry.requestId = requestId;
    send(response, result, headers);
  }

  const listener: RequestListener = (request, response) => {
    handle(request, response).catch((error: unknown) => {
      send(response, { status: 500, body: { errors: [`internal error: ${(error as Error).message}`] } });
    });
  };
  const tls = options.tls;
  const server = tls
    ? createTlsServer(
        {
          cert: tls.cert,
          key: tls.key,
          requestCert: true,
          rejectUnauthorized: tls.clientCa !== undefined,
          ...(tls.clientCa !== undefined ? { ca: tls.clientCa } : {}),
        },
        listener,
      )
    : createServer(listener);
  server.on("upgrade", (request: IncomingMessage, socket: Duplex, head: Buffer) =>
    events.upgrade(request, socket, head),
  );
  server.listen(0, "127.0.0.1");
  await new Promise<void>((resolve, reject) => {
    server.once("listening", resolve);
    server.once("error", reject);
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `${options.tls ? "https" : "http"}://127.0.0.1:${port}`,
    rootToken,
    root,
    namespace,
    faults,
    events,
    requests,
    count: (filter = {}) => requests.filter((entry) => matchesFilter(entry, filter)).length,
    clearLog: () => {
      requests.length = 0;
    },
    stop: async () => {
      events.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
