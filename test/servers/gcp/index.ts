// A Google Cloud protocol test server for the gcpsm provider:
//   - google.cloud.secretmanager.v1.SecretManagerService over gRPC with TLS
//     (a throwaway CA), from the .proto files that ship in the client's npm
//     packages, checking the bearer token of every call;
//   - the STS token endpoint (RFC 8693 token exchange, form-encoded as Google's
//     is), validating the subject token with the cluster's real TokenReview
//     and the configured workload identity provider or GKE identity namespace;
//   - the IAM Credentials generateAccessToken endpoint, with per-service-account
//     impersonation bindings.
// Documented status codes and messages, version states, labels, pagination,
// fault switches, latency and a request log.
import { execFile } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import {
  createServer,
  type IncomingMessage,
  type Server as HttpServer,
  type ServerResponse,
} from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createRequire } from "node:module";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import {
  Metadata,
  Server,
  ServerCredentials,
  loadPackageDefinition,
  status as Status,
  type GrpcObject,
  type ServiceClientConstructor,
  type ServerUnaryCall,
  type sendUnaryData,
} from "@grpc/grpc-js";
import { loadSync } from "@grpc/proto-loader";
import { Identities, issuerOf, type Binding, type TokenReviewer } from "./identity.ts";
import { PubSub, type PubSubTopics } from "./pubsub.ts";
import type * as Protobuf from "protobufjs";
import {
  RpcError,
  SecretsModel,
  type ErrorDetail,
  type Secret,
  type Version,
  type VersionState,
} from "./model.ts";

export type { TokenReviewer, Binding } from "./identity.ts";

const run = promisify(execFile);
const require = createRequire(import.meta.url);

export type Fault = "UNAVAILABLE" | "RESOURCE_EXHAUSTED" | "DEADLINE_EXCEEDED" | "PERMISSION_DENIED";

export interface FaultMatch {
  /** gRPC method (`AccessSecretVersion`), or `ExchangeToken` / `GenerateAccessToken`. */
  method?: string;
  /** The authenticated principal (gRPC calls only). */
  principal?: string;
  /** A substring of the resource named (`/secrets/<id>/`; gRPC calls only). */
  resource?: string;
}

export interface LoggedRequest {
  service: "secretmanager" | "sts" | "iamcredentials" | "metadata";
  method: string;
  /** gRPC status name, or the HTTP status of STS / IAM Credentials. */
  status: string;
  principal?: string;
  /** The resource named (secret version, secret, parent, service account). */
  resource?: string;
  /** The caller's user agent (gRPC calls: what Cloud Audit Logs show as callerSuppliedUserAgent). */
  userAgent?: string;
}

export interface GcpServerOptions {
  projectID?: string;
  projectNumber?: string;
  /** Verifies Kubernetes tokens for the STS (see kubeTokenReviewer). */
  reviewToken?: TokenReviewer;
  /** Lifetime of issued access tokens (default 3600 s). */
  tokenSeconds?: number;
}

export interface GcpTestServer {
  readonly projectID: string;
  readonly projectNumber: string;
  /** host:port of the Secret Manager gRPC endpoint (TLS). */
  readonly secretManager: string;
  /** Base64 PEM of the CA that signed the gRPC endpoint's certificate. */
  readonly caBundle: string;
  /** URL of the STS token endpoint. */
  readonly sts: string;
  /** Base URL of the IAM Credentials API. */
  readonly iamCredentials: string;
  /**
   * host:port of the GCE metadata server, for GCE_METADATA_HOST: project/project-id and
   * project/numeric-project-id, and the instance attributes (logged as method `metadata`).
   */
  readonly metadataHost: string;
  /** The instance attributes the metadata server serves (a GKE node's cluster-name, cluster-location). */
  setInstanceAttributes(attributes: Record<string, string>): void;
  /** A workload identity pool provider trusting `issuer`; returns its STS audience. */
  addProvider(pool: string, id: string, issuer: string, allowedAudiences?: string[]): string;
  /** A GKE cluster's identity namespace; returns the STS audience. */
  addGkeCluster(location: string, name: string): string;
  /** The member that a pool's federated token for `subject` is. */
  subjectMember(pool: string, subject: string): string;
  /** A Google service account; `impersonators` are members allowed generateAccessToken. */
  addServiceAccount(email: string, impersonators?: string[]): void;
  /** A JSON key file for a service account. */
  createKey(email: string): string;
  bind(binding: Binding): void;
  /** Creates the secret if needed and adds a version; returns its number. */
  putSecret(
    id: string,
    value: string | Uint8Array,
    options?: { labels?: Record<string, string>; annotations?: Record<string, string>; location?: string },
  ): number;
  setVersionState(id: string, version: number, state: VersionState, location?: string): void;
  /** Pub/Sub (google.pubsub.v1.Subscriber on the same endpoint) and Secret Manager's notifications. */
  readonly pubsub: PubSubTopics;
  /** The next `count` matching calls fail with `fault`. */
  failNext(fault: Fault, count: number, match?: FaultMatch): void;
  /** Ends every fault still pending: the outage is over. */
  clearFaults(): void;
  setLatency(ms: number): void;
  /** Expires every access token issued so far: the next call with one is UNAUTHENTICATED. */
  expireTokens(): void;
  readonly requests: readonly LoggedRequest[];
  clearRequests(): void;
  count(method: string, filter?: { status?: string; principal?: string }): number;
  close(): Promise<void>;
}

const GRPC_STATUS_NAME = Object.fromEntries(Object.entries(Status).map(([k, v]) => [v, k])) as Record<
  number,
  string
>;

// The packages' own protos: the client's, and the common ones google-gax ships.
const smMain = require.resolve("@google-cloud/secret-manager");
const gaxMain = createRequire(smMain).resolve("google-gax");
const packageRoot = (main: string) => main.slice(0, main.lastIndexOf("/build/"));
const smRoot = join(packageRoot(smMain), "build", "protos");
const gaxRoot = join(packageRoot(gaxMain), "build", "protos");

/**
 * Encodes error details as Google's APIs send them: a binary google.rpc.Status
 * (code, message, details as google.protobuf.Any) for the
 * `grpc-status-details-bin` trailer, from google-gax's own copies of
 * google/rpc/status.proto and error_details.proto, encoded with the protobufjs
 * google-gax uses to decode them.
 */
function statusEncoder(): (code: number, message: string, details: ErrorDetail[]) => Buffer {
  const protobuf = createRequire(gaxMain)("protobufjs") as typeof Protobuf;
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => (target.startsWith("google/") ? join(gaxRoot, target) : target);
  root.loadSync(["google/rpc/status.proto", "google/rpc/error_details.proto"]);
  const status = root.lookupType("google.rpc.Status");
  return (code, message, details) => {
    const any = details.map(({ type, value }) => {
      const t = root.lookupType(type);
      // google.protobuf.Any comes from protobufjs's common types, which keep snake_case names.
      return { type_url: `type.googleapis.com/${type}`, value: t.encode(t.fromObject(value)).finish() };
    });
    return Buffer.from(status.encode(status.fromObject({ code, message, details: any })).finish());
  };
}

const SERVICE = "secretmanager.googleapis.com";

/** google.rpc.ErrorInfo of an IAM denial, naming the permission checked (AIP-193). */
function iamDenied(permission?: string, resource?: string): ErrorDetail {
  const metadata: Record<string, string> = { service: SERVICE };
  if (permission) metadata["permission"] = permission;
  if (resource) metadata["resource"] = resource;
  return {
    type: "google.rpc.ErrorInfo",
    value: { reason: "IAM_PERMISSION_DENIED", domain: "iam.googleapis.com", metadata },
  };
}

/** google.rpc.ResourceInfo of what was not found, typed from its resource name. */
function notFound(name: string): ErrorDetail {
  const resourceType = /\/versions\/[^/]+$/.test(name)
    ? `${SERVICE}/SecretVersion`
    : /\/secrets\/[^/]+$/.test(name)
      ? `${SERVICE}/Secret`
      : "cloudresourcemanager.googleapis.com/Project";
  return { type: "google.rpc.ResourceInfo", value: { resourceType, resourceName: name } };
}

/** google.rpc.RetryInfo: how long to wait before retrying. */
const retryAfter = (seconds: number): ErrorDetail => ({
  type: "google.rpc.RetryInfo",
  value: { retryDelay: { seconds, nanos: 0 } },
});

/** The service definition, from the protos of @google-cloud/secret-manager and google-gax. */
function secretManagerService(): ServiceClientConstructor {
  const definition = loadSync("google/cloud/secretmanager/v1/service.proto", {
    includeDirs: [smRoot, gaxRoot],
    keepCase: false,
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
  });
  const root = loadPackageDefinition(definition);
  const v1 = (((root["google"] as GrpcObject)["cloud"] as GrpcObject)["secretmanager"] as GrpcObject)[
    "v1"
  ] as GrpcObject;
  return v1["SecretManagerService"] as ServiceClientConstructor;
}

async function makeTls(dir: string): Promise<{ ca: string; cert: string; key: string }> {
  const p = (n: string) => join(dir, n);
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2"];
  await run("openssl", [
    "req",
    "-x509",
    ...ec,
    "-keyout",
    p("ca.key"),
    "-out",
    p("ca.crt"),
    "-subj",
    "/CN=gcp-test-ca",
  ]);
  await run("openssl", [
    "req",
    "-x509",
    ...ec,
    "-keyout",
    p("tls.key"),
    "-out",
    p("tls.crt"),
    "-CA",
    p("ca.crt"),
    "-CAkey",
    p("ca.key"),
    "-subj",
    "/CN=secretmanager.test",
    "-addext",
    "subjectAltName=IP:127.0.0.1,DNS:localhost",
    "-addext",
    "extendedKeyUsage=serverAuth",
  ]);
  const [ca, cert, key] = await Promise.all(
    ["ca.crt", "tls.crt", "tls.key"].map((n) => readFile(p(n), "utf8")),
  );
  return { ca: ca as string, cert: cert as string, key: key as string };
}

export async function startGcpServer(options: GcpServerOptions = {}): Promise<GcpTestServer> {
  const projectID = options.projectID ?? "refsync-test";
  const projectNumber = options.projectNumber ?? "123456789012";
  const tokenSeconds = options.tokenSeconds ?? 3600;
  const identities = new Identities(projectNumber);
  const model = new SecretsModel();
  const requests: LoggedRequest[] = [];
  const faults: (FaultMatch & { fault: Fault; remaining: number })[] = [];
  let latencyMs = 0;
  let instanceAttributes: Record<string, string> = {};
  const encodeStatus = statusEncoder();
  const pubsub = new PubSub();

  const takeFault = (method: string, principal?: string, resource?: string): Fault | undefined => {
    const f = faults.find(
      (x) =>
        x.remaining > 0 &&
        (x.method === undefined || x.method === method) &&
        (x.principal === undefined || x.principal === principal) &&
        (x.resource === undefined || (resource ?? "").includes(x.resource)),
    );
    if (!f) return undefined;
    f.remaining--;
    return f.fault;
  };

  /** `projects/<id or number>[/locations/<l>]` of a resource name, normalised to the project id. */
  const parentOf = (name: string): { parent: string; rest: string } => {
    const m = /^projects\/([^/]+)((?:\/locations\/[^/]+)?)(\/.*)?$/.exec(name);
    if (!m || (m[1] !== projectID && m[1] !== projectNumber)) {
      throw new RpcError(Status.NOT_FOUND, `Project [${name.split("/")[1] ?? ""}] not found.`);
    }
    return { parent: `projects/${projectID}${m[2] ?? ""}`, rest: m[3] ?? "" };
  };
  const normalise = (name: string) => {
    const { parent, rest } = parentOf(name);
    return parent + rest;
  };
  const numbered = (name: string) => name.replace(/^projects\/[^/]+/, `projects/${projectNumber}`);
  const denied = (permission: string, resource: string) =>
    new RpcError(
      Status.PERMISSION_DENIED,
      `Permission '${permission}' denied for resource '${resource}' (or it may not exist).`,
      [iamDenied(permission, resource)],
    );
  const timestamp = (d: Date) => ({
    seconds: String(Math.floor(d.getTime() / 1000)),
    nanos: (d.getTime() % 1000) * 1_000_000,
  });
  const secretMessage = (s: Secret) => ({
    name: numbered(s.name),
    labels: s.labels,
    annotations: s.annotations ?? {},
    createTime: timestamp(s.createTime),
    replication: s.parent.includes("/locations/") ? null : { automatic: {} },
  });
  const versionMessage = (s: Secret, v: Version) => ({
    name: numbered(`${s.name}/versions/${v.number}`),
    state: v.state,
    createTime: timestamp(v.createTime),
  });

  /** One page of a List call's results: pageSize (at most 25,000) from the offset its pageToken encodes. */
  const paged = <T>(request: Record<string, unknown>, all: T[]) => {
    const pageSize = Math.min(Number(request["pageSize"]) || 25_000, 25_000);
    const token = String(request["pageToken"] ?? "");
    const offset = token ? Number(Buffer.from(token, "base64url").toString()) : 0;
    if (!Number.isInteger(offset) || offset < 0)
      throw new RpcError(Status.INVALID_ARGUMENT, "Invalid page token.");
    const end = offset + pageSize;
    return {
      page: all.slice(offset, end),
      nextPageToken: end < all.length ? Buffer.from(String(end)).toString("base64url") : "",
      totalSize: all.length,
    };
  };

  type Handler = (request: Record<string, unknown>, principal: string, entry: LoggedRequest) => unknown;
  const handlers: Record<string, Handler> = {
    AccessSecretVersion(request, principal, entry) {
      const name = normalise(String(request["name"]));
      entry.resource = name;
      const secretId = /\/secrets\/([^/]+)\//.exec(name)?.[1] ?? "";
      if (!identities.allows(principal, "secretmanager.versions.access", secretId))
        throw denied("secretmanager.versions.access", name);
      const { secret, version } = model.version(name);
      if (version.state !== "ENABLED") {
        throw new RpcError(
          Status.FAILED_PRECONDITION,
          `Secret Version [${numbered(`${secret.name}/versions/${version.number}`)}] is in ${version.state} state.`,
        );
      }
      return {
        name: numbered(`${secret.name}/versions/${version.number}`),
        payload: { data: version.payload },
      };
    },
    GetSecretVersion(request, principal, entry) {
      const name = normalise(String(request["name"]));
      entry.resource = name;
      const secretId = /\/secrets\/([^/]+)\//.exec(name)?.[1] ?? "";
      if (!identities.allows(principal, "secretmanager.versions.get", secretId))
        throw denied("secretmanager.versions.get", name);
      const { secret, version } = model.version(name);
      return versionMessage(secret, version);
    },
    ListSecretVersions(request, principal, entry) {
      const name = normalise(String(request["parent"]));
      entry.resource = name;
      const secretId = name.split("/").at(-1) ?? "";
      if (!identities.allows(principal, "secretmanager.versions.list", secretId))
        throw denied("secretmanager.versions.list", name);
      const secret = model.get(name);
      const { page, nextPageToken, totalSize } = paged(
        request,
        model.listVersions(name, String(request["filter"] ?? "")),
      );
      return { versions: page.map((v) => versionMessage(secret, v)), nextPageToken, totalSize };
    },
    GetSecret(request, principal, entry) {
      const name = normalise(String(request["name"]));
      entry.resource = name;
      const secretId = name.split("/").at(-1) ?? "";
      if (!identities.allows(principal, "secretmanager.secrets.get", secretId))
        throw denied("secretmanager.secrets.get", name);
      return secretMessage(model.get(name));
    },
    ListSecrets(request, principal, entry) {
      const { parent } = parentOf(String(request["parent"]));
      entry.resource = parent;
      if (!identities.allows(principal, "secretmanager.secrets.list", "*"))
        throw denied("secretmanager.secrets.list", parent);
      const { page, nextPageToken, totalSize } = paged(
        request,
        model.list(parent, String(request["filter"] ?? "")),
      );
      return { secrets: page.map(secretMessage), nextPageToken, totalSize };
    },
    CreateSecret(request, principal, entry) {
      const { parent } = parentOf(String(request["parent"]));
      const id = String(request["secretId"]);
      entry.resource = `${parent}/secrets/${id}`;
      if (!identities.allows(principal, "secretmanager.secrets.create", id))
        throw denied("secretmanager.secrets.create", parent);
      const secret = (request["secret"] ?? {}) as { labels?: Record<string, string>; replication?: unknown };
      if (!parent.includes("/locations/") && !secret.replication)
        throw new RpcError(Status.INVALID_ARGUMENT, "Secret.replication is required.");
      return secretMessage(model.create(parent, id, secret.labels ?? {}));
    },
    AddSecretVersion(request, principal, entry) {
      const name = normalise(String(request["parent"]));
      entry.resource = name;
      const secretId = name.split("/").at(-1) ?? "";
      if (!identities.allows(principal, "secretmanager.versions.add", secretId))
        throw denied("secretmanager.versions.add", name);
      const payload = (request["payload"] ?? {}) as { data?: Buffer };
      const secret = model.get(name);
      return versionMessage(secret, model.add(name, Buffer.from(payload.data ?? Buffer.alloc(0))));
    },
  };

  const faultError = (fault: Fault): RpcError => {
    switch (fault) {
      case "RESOURCE_EXHAUSTED":
        return new RpcError(
          Status.RESOURCE_EXHAUSTED,
          "Quota exceeded for quota metric 'Access requests' of service 'secretmanager.googleapis.com'.",
          [
            {
              type: "google.rpc.ErrorInfo",
              value: {
                reason: "RATE_LIMIT_EXCEEDED",
                domain: "googleapis.com",
                metadata: {
                  service: SERVICE,
                  quota_metric: `${SERVICE}/access_requests`,
                  quota_limit: "AccessRequestsPerMinutePerProject",
                },
              },
            },
            retryAfter(1),
          ],
        );
      case "UNAVAILABLE":
        return new RpcError(Status.UNAVAILABLE, "The service is currently unavailable.", [retryAfter(1)]);
      case "DEADLINE_EXCEEDED":
        return new RpcError(Status.DEADLINE_EXCEEDED, "Deadline exceeded.");
      case "PERMISSION_DENIED":
        return new RpcError(Status.PERMISSION_DENIED, "The caller does not have permission", [iamDenied()]);
    }
  };

  const implementation = Object.fromEntries(
    Object.entries(handlers).map(([method, handler]) => [
      method[0]!.toLowerCase() + method.slice(1),
      (call: ServerUnaryCall<Record<string, unknown>, unknown>, callback: sendUnaryData<unknown>) => {
        const entry: LoggedRequest = { service: "secretmanager", method, status: "OK" };
        const agent = call.metadata.get("user-agent")[0];
        if (agent !== undefined) entry.userAgent = String(agent);
        requests.push(entry);
        void (async () => {
          if (latencyMs > 0) await sleep(latencyMs);
          try {
            const header = String(call.metadata.get("authorization")[0] ?? "");
            const token = /^Bearer (.+)$/.exec(header)?.[1];
            const principal = token ? identities.authenticate(token) : undefined;
            if (!principal) {
              throw new RpcError(
                Status.UNAUTHENTICATED,
                "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.",
              );
            }
            entry.principal = principal;
            const named = call.request["name"] ?? call.request["parent"];
            const fault = takeFault(method, principal, typeof named === "string" ? named : undefined);
            if (fault) throw faultError(fault);
            callback(null, handler(call.request, principal, entry));
          } catch (error) {
            const e =
              error instanceof RpcError
                ? error
                : new RpcError(Status.INTERNAL, "Internal error encountered.");
            entry.status = GRPC_STATUS_NAME[e.code] ?? String(e.code);
            const details = [...e.details];
            if (e.code === Status.NOT_FOUND && !details.some((d) => d.type === "google.rpc.ResourceInfo")) {
              const named = entry.resource ?? call.request["name"] ?? call.request["parent"];
              details.push(notFound(typeof named === "string" ? named : ""));
            }
            const metadata = new Metadata();
            if (details.length > 0)
              metadata.set("grpc-status-details-bin", encodeStatus(e.code, e.message, details));
            callback({ code: e.code, details: e.message, metadata });
          }
        })();
      },
    ]),
  );

  const dir = await mkdtemp(join(tmpdir(), "refsync-gcp-"));
  const tls = await makeTls(dir);
  const grpcServer = new Server();
  grpcServer.addService(secretManagerService().service, implementation);
  const subscriber = pubsub.service({
    authenticate: (authorization) => {
      const token = /^Bearer (.+)$/.exec(authorization)?.[1];
      return token ? identities.authenticate(token) : undefined;
    },
    mayConsume: (principal, subscription) =>
      identities.allows(principal, "pubsub.subscriptions.consume", subscription),
  });
  grpcServer.addService(subscriber.definition, subscriber.implementation);
  model.onChange = ({ type, secret, version }) =>
    pubsub.secretChanged({
      eventType: type,
      secretId: numbered(secret.name),
      ...(version && { versionId: numbered(`${secret.name}/versions/${version.number}`) }),
      resource: version ? versionMessage(secret, version) : secretMessage(secret),
    });
  const grpcPort = await new Promise<number>((resolve, reject) =>
    grpcServer.bindAsync(
      "localhost:0",
      ServerCredentials.createSsl(null, [
        { private_key: Buffer.from(tls.key), cert_chain: Buffer.from(tls.cert) },
      ]),
      (err, port) => (err ? reject(err) : resolve(port)),
    ),
  );

  // STS and IAM Credentials over HTTP on loopback.
  async function handleHttp(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString("utf8");
    const url = new URL(req.url ?? "/", "http://localhost");
    const reply = (status: number, value: unknown) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(value));
    };
    if (latencyMs > 0) await sleep(latencyMs);
    if (req.method === "GET" && url.pathname.startsWith("/computeMetadata/v1/")) {
      const entry: LoggedRequest = { service: "metadata", method: "metadata", status: "200" };
      entry.resource = url.pathname.slice("/computeMetadata/v1/".length);
      requests.push(entry);
      const [status, text] = metadata(entry.resource, req.headers["metadata-flavor"]);
      entry.status = String(status);
      res.writeHead(status, { "content-type": "application/text", "metadata-flavor": "Google" });
      res.end(text);
      return;
    }
    if (req.method === "POST" && url.pathname === "/v1/token") {
      const entry: LoggedRequest = { service: "sts", method: "ExchangeToken", status: "200" };
      requests.push(entry);
      const [status, value] = await exchange(new URLSearchParams(body), entry);
      entry.status = String(status);
      reply(status, value);
      return;
    }
    const impersonation = /^\/v1\/projects\/-\/serviceAccounts\/([^/:]+):generateAccessToken$/.exec(
      url.pathname,
    );
    if (req.method === "POST" && impersonation) {
      const entry: LoggedRequest = {
        service: "iamcredentials",
        method: "GenerateAccessToken",
        status: "200",
      };
      requests.push(entry);
      const email = decodeURIComponent(impersonation[1] as string);
      entry.resource = email;
      const [status, value] = generateAccessToken(
        email,
        String(req.headers.authorization ?? ""),
        body,
        entry,
      );
      entry.status = String(status);
      reply(status, value);
      return;
    }
    reply(404, { error: { code: 404, message: "Not Found", status: "NOT_FOUND" } });
  }

  /** The GCE metadata server's answer, as Compute Engine gives it: the header required, 404 for a missing key. */
  function metadata(path: string, flavor: string | string[] | undefined): [number, string] {
    if (flavor !== "Google") return [403, "Missing required header: Metadata-Flavor"];
    const attribute = /^instance\/attributes\/([^/]+)$/.exec(path)?.[1];
    const value =
      path === "project/project-id"
        ? projectID
        : path === "project/numeric-project-id"
          ? projectNumber
          : attribute !== undefined && Object.hasOwn(instanceAttributes, attribute)
            ? instanceAttributes[attribute]
            : undefined;
    return value === undefined ? [404, "Not Found"] : [200, value];
  }

  const oauthError = (error: string, description: string): [number, unknown] => [
    400,
    { error, error_description: description },
  ];
  const httpFault = (fault: Fault | undefined): [number, unknown] | undefined => {
    if (fault === "RESOURCE_EXHAUSTED")
      return [429, { error: { code: 429, message: "Quota exceeded.", status: "RESOURCE_EXHAUSTED" } }];
    if (fault === "UNAVAILABLE")
      return [
        503,
        { error: { code: 503, message: "The service is currently unavailable.", status: "UNAVAILABLE" } },
      ];
    if (fault === "DEADLINE_EXCEEDED")
      return [504, { error: { code: 504, message: "Deadline exceeded.", status: "DEADLINE_EXCEEDED" } }];
    if (fault === "PERMISSION_DENIED")
      return [
        403,
        { error: { code: 403, message: "The caller does not have permission", status: "PERMISSION_DENIED" } },
      ];
    return undefined;
  };

  async function exchange(params: URLSearchParams, entry: LoggedRequest): Promise<[number, unknown]> {
    const faulted = httpFault(takeFault("ExchangeToken"));
    if (faulted) return faulted;
    if (params.get("grant_type") !== "urn:ietf:params:oauth:grant-type:token-exchange")
      return oauthError("unsupported_grant_type", "The grant type is not supported.");
    if (params.get("subject_token_type") !== "urn:ietf:params:oauth:token-type:jwt")
      return oauthError("invalid_request", "Invalid subject token type.");
    const audience = params.get("audience") ?? "";
    const subjectToken = params.get("subject_token") ?? "";
    entry.resource = audience;
    const provider = identities.provider(audience);
    const cluster = identities.cluster(audience);
    if (!provider && !cluster)
      return oauthError(
        "invalid_target",
        'The target service indicated by the "audience" parameters is invalid.',
      );
    const allowed = provider ? provider.allowedAudiences : [cluster!.identityNamespace];
    const subject = options.reviewToken ? await options.reviewToken(subjectToken, allowed) : undefined;
    if (!subject)
      return oauthError("invalid_grant", "The audience in ID Token does not match the expected audience.");
    if (provider && issuerOf(subjectToken) !== provider.issuer)
      return oauthError("invalid_grant", "The issuer in ID Token does not match the expected issuer.");
    let principal: string;
    if (provider) principal = identities.subjectMember(provider.pool, subject);
    else {
      const sa = /^system:serviceaccount:([^:]+):([^:]+)$/.exec(subject);
      if (!sa) return oauthError("invalid_grant", "The subject is not a Kubernetes service account.");
      principal = `serviceAccount:${cluster!.identityNamespace}[${sa[1]}/${sa[2]}]`;
    }
    entry.principal = principal;
    const issued = identities.issue(principal, tokenSeconds);
    return [
      200,
      {
        access_token: issued.token,
        issued_token_type: "urn:ietf:params:oauth:token-type:access_token",
        token_type: "Bearer",
        expires_in: tokenSeconds,
      },
    ];
  }

  function generateAccessToken(
    email: string,
    authorization: string,
    body: string,
    entry: LoggedRequest,
  ): [number, unknown] {
    const token = /^Bearer (.+)$/.exec(authorization)?.[1];
    const principal = token ? identities.authenticate(token) : undefined;
    if (!principal) {
      return [
        401,
        {
          error: {
            code: 401,
            message: "Request had invalid authentication credentials.",
            status: "UNAUTHENTICATED",
          },
        },
      ];
    }
    entry.principal = principal;
    const faulted = httpFault(takeFault("GenerateAccessToken", principal));
    if (faulted) return faulted;
    let scope: unknown;
    try {
      scope = (JSON.parse(body || "{}") as { scope?: unknown }).scope;
    } catch {
      return [
        400,
        { error: { code: 400, message: "Invalid JSON payload received.", status: "INVALID_ARGUMENT" } },
      ];
    }
    if (!Array.isArray(scope) || scope.length === 0)
      return [400, { error: { code: 400, message: "Scope required.", status: "INVALID_ARGUMENT" } }];
    const may = identities.mayImpersonate(principal, email);
    if (may !== true) {
      const message =
        may === undefined
          ? `Not found; Gaia id not found for email ${email}`
          : "Permission 'iam.serviceAccounts.getAccessToken' denied on resource (or it may not exist).";
      return [
        may === undefined ? 404 : 403,
        {
          error: {
            code: may === undefined ? 404 : 403,
            message,
            status: may === undefined ? "NOT_FOUND" : "PERMISSION_DENIED",
          },
        },
      ];
    }
    const issued = identities.issue(`serviceAccount:${email}`, tokenSeconds);
    return [200, { accessToken: issued.token, expireTime: new Date(issued.expiresAt).toISOString() }];
  }

  const http: HttpServer = createServer((req, res) => {
    handleHttp(req, res).catch((error: unknown) => {
      res.writeHead(500);
      res.end(String(error));
    });
  });
  http.listen(0, "127.0.0.1");
  await once(http, "listening");
  const httpBase = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;

  const secretName = (id: string, location?: string) =>
    `projects/${projectID}${location ? `/locations/${location}` : ""}/secrets/${id}`;

  return {
    projectID,
    projectNumber,
    secretManager: `localhost:${grpcPort}`,
    caBundle: Buffer.from(tls.ca).toString("base64"),
    sts: `${httpBase}/v1/token`,
    iamCredentials: httpBase,
    metadataHost: httpBase.slice("http://".length),
    setInstanceAttributes(attributes) {
      instanceAttributes = { ...attributes };
    },
    addProvider: (pool, id, issuer, allowedAudiences) =>
      identities.addProvider(pool, id, issuer, allowedAudiences).audience,
    addGkeCluster: (location, name) => identities.addGkeCluster(projectID, location, name).audience,
    subjectMember: (pool, subject) => identities.subjectMember(pool, subject),
    addServiceAccount: (email, impersonators) => identities.addServiceAccount(email, impersonators),
    createKey: (email) => identities.createKey(email, projectID),
    bind: (binding) => identities.bind(binding),
    putSecret(id, value, opts = {}) {
      const parent = `projects/${projectID}${opts.location ? `/locations/${opts.location}` : ""}`;
      const name = secretName(id, opts.location);
      const secret = model.find(name) ?? model.create(parent, id, opts.labels);
      if (opts.labels) secret.labels = { ...opts.labels };
      if (opts.annotations) secret.annotations = { ...opts.annotations };
      return model.add(name, Buffer.from(value)).number;
    },
    setVersionState: (id, version, state, location) =>
      model.setState(`${secretName(id, location)}/versions/${version}`, state),
    pubsub,
    failNext(fault, count, match = {}) {
      faults.push({ fault, remaining: count, ...match });
    },
    clearFaults() {
      faults.length = 0;
    },
    setLatency(ms) {
      latencyMs = ms;
    },
    expireTokens: () => identities.expireTokens(),
    requests,
    clearRequests() {
      requests.length = 0;
    },
    count: (method, filter = {}) =>
      requests.filter(
        (r) =>
          r.method === method &&
          (filter.status === undefined || r.status === filter.status) &&
          (filter.principal === undefined || r.principal === filter.principal),
      ).length,
    async close() {
      grpcServer.forceShutdown();
      http.closeAllConnections();
      http.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A TokenReviewer on the cluster's real TokenReview API. */
export { kubeTokenReviewer } from "./token-review.ts";
