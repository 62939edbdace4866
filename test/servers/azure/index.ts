// An Azure Key Vault + Microsoft Entra ID protocol test server on loopback
// HTTPS, driven by Microsoft's own @azure/keyvault-* and @azure/identity.
//
//   https://localhost:<port>/{tenant}/v2.0/.well-known/openid-configuration
//   https://localhost:<port>/{tenant}/oauth2/v2.0/token        client credentials:
//       client_secret, or client_assertion (a certificate's signed JWT, or a
//       Kubernetes service-account token checked against the app's federated
//       identity credentials and the cluster's real TokenReview)
//   https://localhost:<port>/msi/token                          managed identity (App Service protocol:
//       IDENTITY_ENDPOINT + IDENTITY_HEADER)
//   https://<vault>.vault.localhost:<port>/secrets|keys|certificates/…   Key Vault REST
//
// Key Vault answers an unauthenticated request with the challenge the SDK
// expects (401, `WWW-Authenticate: Bearer authorization=<authority>/<tenant>,
// resource=https://vault.localhost`), checks the token's tenant, applies
// RBAC per principal and object (the data actions of Key Vault Secrets User
// and Officer), keeps versions, disabled and soft-deleted secrets, pages
// lists with nextLink, and has fault switches (429 with Retry-After, 503)
// and a request log.
import { createHash, createPublicKey, randomBytes, randomUUID, verify, X509Certificate } from "node:crypto";
import { once } from "node:events";
import { createServer, type Server } from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { createPki, trustCa, useLoopbackDns, type Pki } from "./pki.ts";

export const TOKEN_EXCHANGE_AUDIENCE = "api://AzureADTokenExchange";
export const VAULT_RESOURCE = "https://vault.localhost";
export const VAULT_SUFFIX = ".vault.localhost";
/** The Key Vault data actions refsync uses (Key Vault Secrets User: getSecret + readMetadata; Officer adds setSecret). */
export type DataAction =
  | "secrets/getSecret"
  | "secrets/readMetadata"
  | "secrets/setSecret"
  | "keys/read"
  | "certificates/read";
export const SECRETS_USER: DataAction[] = ["secrets/getSecret", "secrets/readMetadata"];
export const SECRETS_OFFICER: DataAction[] = [...SECRETS_USER, "secrets/setSecret"];

/** Verifies a service-account token: its `system:serviceaccount:<ns>:<name>` subject, or undefined. */
export type TokenReviewer = (token: string, audience: string) => Promise<string | undefined>;

export interface FederatedCredential {
  issuer: string;
  subject: string;
  audiences?: string[];
}

export interface AppSpec {
  tenant: string;
  name: string;
  clientSecret?: string;
  /** PEM certificates whose keys may sign client assertions. */
  certificates?: string[];
  federated?: FederatedCredential[];
}

export interface RoleAssignment {
  /** Client ID of the app or managed identity. */
  principal: string;
  actions: DataAction[];
  /** Object names the assignment covers; unset: the whole vault. */
  objects?: string[];
}

export interface LoggedRequest {
  service: "entra" | "msi" | "vault";
  operation: string;
  status: number;
  /** Key Vault's (or Entra's) error code. */
  error?: string;
  /** Client ID of the caller (token request or bearer token). */
  principal?: string;
  tenant?: string;
  vault?: string;
  object?: string;
  version?: string;
  apiVersion?: string;
  /** The x-ms-request-id answered (Key Vault's audit log records it as the request's id). */
  requestId?: string;
  userAgent?: string;
}

export type FaultKind = "throttle" | "unavailable";
export interface FaultMatch {
  service?: LoggedRequest["service"];
  operation?: string;
  principal?: string;
}

interface Version {
  id: string;
  value: string;
  contentType?: string;
  enabled: boolean;
  created: number;
}
interface SecretObject {
  versions: Version[];
  tags: Record<string, string>;
  deleted: boolean;
}
interface Vault {
  name: string;
  tenant: string;
  secrets: Map<string, SecretObject>;
  keys: Map<string, { versions: { id: string; n: Buffer; e: Buffer }[] }>;
  certificates: Map<string, { versions: { id: string; der: Buffer }[] }>;
  roles: RoleAssignment[];
}
interface IssuedToken {
  tenant: string;
  principal: string;
  resource: string;
  expiresAt: number;
}

export interface AzureTestServer {
  /** `https://localhost:<port>`: the Entra ID authority host (customCloudConfig.activeDirectoryEndpoint). */
  readonly authorityHost: string;
  /** `spec.provider.azurekv.customCloudConfig` of a store reaching this server (Entra ID and Key Vault). */
  readonly customCloudConfig: { activeDirectoryEndpoint: string; keyVaultDNSSuffix: string };
  readonly port: number;
  readonly pki: Pki;
  /** `https://<name>.vault.localhost:<port>`. */
  vaultUrl(name: string): string;
  addVault(name: string, tenant: string): void;
  /** Registers an app; returns its client ID. */
  addApp(spec: AppSpec): string;
  /** Registers a managed identity reachable through /msi/token; returns its client ID. */
  addManagedIdentity(tenant: string, name: string): string;
  /** The IDENTITY_ENDPOINT and IDENTITY_HEADER of the managed-identity endpoint. */
  readonly msi: { endpoint: string; header: string };
  assignRole(vault: string, assignment: RoleAssignment): void;
  /** Adds a secret version; returns its id. */
  putSecret(
    vault: string,
    name: string,
    value: string,
    options?: { contentType?: string; tags?: Record<string, string>; enabled?: boolean },
  ): string;
  setEnabled(vault: string, name: string, enabled: boolean): void;
  deleteSecret(vault: string, name: string): void;
  putKey(vault: string, name: string, pem: string): string;
  putCertificate(vault: string, name: string, der: Buffer): string;
  /** The current value of a secret (for write tests). */
  secretValue(vault: string, name: string): { value: string; contentType?: string } | undefined;
  failNext(kind: FaultKind, count: number, match?: FaultMatch): void;
  /** Lifetime of issued tokens (default 3600 s). */
  setTokenSeconds(seconds: number): void;
  /** Expires every token issued so far. */
  expireTokens(): void;
  /** Items per list page (default 25). */
  setPageSize(size: number): void;
  readonly requests: readonly LoggedRequest[];
  clearRequests(): void;
  count(
    filter: Partial<Pick<LoggedRequest, "service" | "operation" | "status" | "principal" | "object">>,
  ): number;
  close(): Promise<void>;
}

class HttpError extends Error {
  readonly status: number;
  readonly code: string;
  readonly extra: { inner?: string; headers?: Record<string, string>; oauth?: boolean };
  constructor(
    status: number,
    code: string,
    message: string,
    extra: { inner?: string; headers?: Record<string, string>; oauth?: boolean } = {},
  ) {
    super(message);
    this.status = status;
    this.code = code;
    this.extra = extra;
  }
}

const b64url = (b: Buffer | string) => Buffer.from(b).toString("base64url");

function decodeJwt(
  token: string,
):
  | { header: Record<string, unknown>; payload: Record<string, unknown>; signed: string; signature: Buffer }
  | undefined {
  const parts = token.split(".");
  if (parts.length !== 3) return undefined;
  try {
    return {
      header: JSON.parse(Buffer.from(parts[0] as string, "base64url").toString("utf8")) as Record<
        string,
        unknown
      >,
      payload: JSON.parse(Buffer.from(parts[1] as string, "base64url").toString("utf8")) as Record<
        string,
        unknown
      >,
      signed: `${parts[0]}.${parts[1]}`,
      signature: Buffer.from(parts[2] as string, "base64url"),
    };
  } catch {
    return undefined;
  }
}

export async function startAzureServer(
  options: { reviewToken?: TokenReviewer } = {},
): Promise<AzureTestServer> {
  const pki = await createPki();
  trustCa(pki.caPem);
  useLoopbackDns();
  const vaults = new Map<string, Vault>();
  const apps = new Map<string, AppSpec & { clientId: string }>();
  const identities = new Map<string, { tenant: string; clientId: string; name: string }>();
  const tokens = new Map<string, IssuedToken>();
  const requests: LoggedRequest[] = [];
  const faults: (FaultMatch & { kind: FaultKind; remaining: number })[] = [];
  const msiHeader = randomBytes(16).toString("hex");
  let tokenSeconds = 3600;
  let pageSize = 25;
  let port = 0;
  const authorityHost = () => `https://localhost:${port}`;

  const vault = (name: string): Vault => {
    const v = vaults.get(name);
    if (!v) throw new Error(`no vault ${name}`);
    return v;
  };

  function takeFault(entry: LoggedRequest): FaultKind | undefined {
    const fault = faults.find(
      (f) =>
        f.remaining > 0 &&
        (f.service === undefined || f.service === entry.service) &&
        (f.operation === undefined || f.operation === entry.operation) &&
        (f.principal === undefined || f.principal === entry.principal),
    );
    if (!fault) return undefined;
    fault.remaining--;
    return fault.kind;
  }

  function injectFault(entry: LoggedRequest): void {
    const kind = takeFault(entry);
    if (kind === "throttle") {
      throw new HttpError(
        429,
        "Throttled",
        "Request was not processed because too many requests were received. Reason: VaultRequestTypeLimitReached",
        {
          headers: { "retry-after": "1" },
        },
      );
    }
    if (kind === "unavailable") throw new HttpError(503, "ServiceUnavailable", "The service is unavailable.");
  }

  function issue(
    tenant: string,
    principal: string,
    resource: string,
  ): { access_token: string; expires_in: number } {
    const token = randomBytes(24).toString("base64url");
    tokens.set(token, { tenant, principal, resource, expiresAt: Date.now() + tokenSeconds * 1000 });
    return { access_token: token, expires_in: tokenSeconds };
  }

  // ---- Entra ID ----
  async function entra(req: IncomingMessage, url: URL, body: string, entry: LoggedRequest): Promise<unknown> {
    const [tenant, ...rest] = url.pathname.split("/").filter(Boolean);
    const path = rest.join("/");
    entry.tenant = tenant;
    if (
      req.method === "GET" &&
      (path === "v2.0/.well-known/openid-configuration" || path === ".well-known/openid-configuration")
    ) {
      entry.operation = "OpenIdConfiguration";
      const base = `${authorityHost()}/${tenant}`;
      return {
        token_endpoint: `${base}/oauth2/v2.0/token`,
        authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
        end_session_endpoint: `${base}/oauth2/v2.0/logout`,
        device_authorization_endpoint: `${base}/oauth2/v2.0/devicecode`,
        issuer: `${base}/v2.0`,
        jwks_uri: `${base}/discovery/v2.0/keys`,
        response_types_supported: ["code", "id_token", "code id_token", "id_token token"],
        token_endpoint_auth_methods_supported: [
          "client_secret_post",
          "private_key_jwt",
          "client_secret_basic",
        ],
      };
    }
    if (req.method !== "POST" || path !== "oauth2/v2.0/token")
      throw new HttpError(404, "not_found", "Not found", { oauth: true });
    entry.operation = "Token";
    const form = new URLSearchParams(body);
    const clientId = form.get("client_id") ?? "";
    entry.principal = clientId;
    injectFault(entry);
    const oauth = (code: string, message: string, status = 400) =>
      new HttpError(status, code, message, { oauth: true });
    if (form.get("grant_type") !== "client_credentials")
      throw oauth("unsupported_grant_type", "AADSTS70003: The app requested an unsupported grant type.");
    const app = apps.get(clientId);
    if (!app || app.tenant !== tenant) {
      throw oauth(
        "unauthorized_client",
        `AADSTS700016: Application with identifier '${clientId}' was not found in the directory '${tenant}'.`,
      );
    }
    const scope = form.get("scope") ?? "";
    const resource = scope.replace(/\/\.default$/, "");
    if (!scope.endsWith("/.default"))
      throw oauth("invalid_scope", "AADSTS1002012: The provided value for scope is not valid.");
    const secret = form.get("client_secret");
    const assertion = form.get("client_assertion");
    if (secret !== null) {
      if (!app.clientSecret || secret !== app.clientSecret)
        throw oauth(
          "invalid_client",
          `AADSTS7000215: Invalid client secret provided for app '${clientId}'.`,
          401,
        );
    } else if (assertion !== null) {
      if (form.get("client_assertion_type") !== "urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
        throw oauth("invalid_request", "AADSTS50027: client_assertion_type is not supported.");
      const jwt = decodeJwt(assertion);
      if (!jwt) throw oauth("invalid_client", "AADSTS50027: JWT token is invalid or malformed.");
      if (jwt.header["x5t"] !== undefined || jwt.header["x5t#S256"] !== undefined) {
        certificateAssertion(app, jwt, `${authorityHost()}/${tenant}/oauth2/v2.0/token`);
      } else {
        await federatedAssertion(app, assertion, jwt.payload);
      }
    } else {
      throw oauth(
        "invalid_client",
        "AADSTS7000218: The request body must contain client_assertion or client_secret.",
        401,
      );
    }
    return {
      token_type: "Bearer",
      ext_expires_in: tokenSeconds,
      ...issue(tenant as string, clientId, resource),
    };
  }

  function certificateAssertion(
    app: AppSpec & { clientId: string },
    jwt: NonNullable<ReturnType<typeof decodeJwt>>,
    tokenEndpoint: string,
  ): void {
    const fail = (why: string) =>
      new HttpError(
        401,
        "invalid_client",
        `AADSTS700027: Client assertion failed signature validation or claims check: ${why}.`,
        { oauth: true },
      );
    const cert = (app.certificates ?? [])
      .map((pem) => new X509Certificate(pem))
      .find((c) => {
        const der = c.raw;
        return (
          jwt.header["x5t"] === b64url(createHash("sha1").update(der).digest()) ||
          jwt.header["x5t#S256"] === b64url(createHash("sha256").update(der).digest())
        );
      });
    if (!cert) throw fail("no certificate of the app has that thumbprint");
    const alg = jwt.header["alg"];
    const key = createPublicKey(cert.publicKey.export({ format: "pem", type: "spki" }));
    const ok =
      alg === "RS256"
        ? verify("sha256", Buffer.from(jwt.signed), key, jwt.signature)
        : alg === "PS256"
          ? verify("sha256", Buffer.from(jwt.signed), { key, padding: 6, saltLength: 32 }, jwt.signature)
          : false;
    if (!ok) throw fail("signature");
    const { iss, sub, aud, exp } = jwt.payload;
    if (iss !== app.clientId || sub !== app.clientId) throw fail("iss and sub must be the client ID");
    if (aud !== tokenEndpoint) throw fail("aud must be the token endpoint");
    if (typeof exp !== "number" || exp * 1000 < Date.now()) throw fail("expired");
  }

  async function federatedAssertion(
    app: AppSpec & { clientId: string },
    token: string,
    payload: Record<string, unknown>,
  ): Promise<void> {
    const oauth = (code: string, message: string) => new HttpError(400, code, message, { oauth: true });
    const audiences =
      typeof payload["aud"] === "string"
        ? [payload["aud"]]
        : ((payload["aud"] as string[] | undefined) ?? []);
    const issuer = String(payload["iss"] ?? "");
    const subject = String(payload["sub"] ?? "");
    const reviewed = options.reviewToken
      ? await options.reviewToken(token, TOKEN_EXCHANGE_AUDIENCE)
      : undefined;
    if (!reviewed || reviewed !== subject) {
      throw oauth(
        "invalid_client",
        "AADSTS700024: Client assertion is not within its valid time range or could not be verified by its issuer.",
      );
    }
    const byIssuer = (app.federated ?? []).filter((f) => f.issuer === issuer);
    if (byIssuer.length === 0) {
      throw oauth(
        "invalid_request",
        `AADSTS700211: No matching federated identity record found for presented assertion issuer '${issuer}'.`,
      );
    }
    const match = byIssuer.find((f) => f.subject === subject);
    if (!match) {
      throw oauth(
        "invalid_request",
        `AADSTS700213: No matching federated identity record found for presented assertion subject '${subject}'. Check your federated identity credential Subject, Audience and Issuer against the presented assertion.`,
      );
    }
    const allowed = match.audiences ?? [TOKEN_EXCHANGE_AUDIENCE];
    if (!audiences.some((a) => allowed.includes(a))) {
      throw oauth(
        "invalid_request",
        `AADSTS700212: No matching federated identity record found for presented assertion audience '${audiences.join(",")}'.`,
      );
    }
  }

  // ---- Managed identity (App Service protocol) ----
  function managedIdentity(req: IncomingMessage, url: URL, entry: LoggedRequest): unknown {
    entry.operation = "ManagedIdentityToken";
    if (req.headers["x-identity-header"] !== msiHeader)
      throw new HttpError(401, "invalid_request", "missing or wrong X-IDENTITY-HEADER", { oauth: true });
    const clientId = url.searchParams.get("client_id");
    const resourceId = url.searchParams.get("mi_res_id");
    const all = [...identities.values()];
    const identity = clientId
      ? all.find((i) => i.clientId === clientId)
      : resourceId
        ? all.find((i) =>
            resourceId.toLowerCase().endsWith(`/userassignedidentities/${i.name}`.toLowerCase()),
          )
        : all.find((i) => i.name === "system");
    if (!identity)
      throw new HttpError(400, "invalid_request", "No managed identity matches the request.", {
        oauth: true,
      });
    entry.principal = identity.clientId;
    entry.tenant = identity.tenant;
    injectFault(entry);
    const resource = (url.searchParams.get("resource") ?? "").replace(/\/$/, "");
    const issued = issue(identity.tenant, identity.clientId, resource);
    return {
      access_token: issued.access_token,
      expires_on: String(Math.floor(Date.now() / 1000) + issued.expires_in),
      resource,
      token_type: "Bearer",
      client_id: identity.clientId,
    };
  }

  // ---- Key Vault ----
  function keyVault(
    req: IncomingMessage,
    url: URL,
    host: string,
    body: string,
    entry: LoggedRequest,
  ): unknown {
    const name = host.slice(0, -VAULT_SUFFIX.length);
    entry.vault = name;
    const v = vaults.get(name);
    if (!v) throw new HttpError(404, "VaultNotFound", "No such vault.");
    const [collection, objectName, version] = url.pathname.split("/").filter(Boolean).map(decodeURIComponent);
    const method = req.method ?? "GET";
    const noun = collection === "keys" ? "Key" : collection === "certificates" ? "Certificate" : "Secret";
    entry.operation =
      objectName === undefined ? `List${noun}s` : `${method === "PUT" ? "Set" : "Get"}${noun}`;
    if (objectName !== undefined) entry.object = objectName;
    if (version) entry.version = version;
    const apiVersion = url.searchParams.get("api-version") ?? undefined;
    if (apiVersion) entry.apiVersion = apiVersion;
    const challenge = {
      "www-authenticate": `Bearer authorization="${authorityHost()}/${v.tenant}", resource="${VAULT_RESOURCE}"`,
    };
    const auth = req.headers.authorization;
    if (!auth?.startsWith("Bearer "))
      throw new HttpError(401, "Unauthorized", "AKV10000: Request is missing a Bearer or PoP token.", {
        headers: challenge,
      });
    const issued = tokens.get(auth.slice("Bearer ".length));
    if (!issued || issued.expiresAt <= Date.now())
      throw new HttpError(401, "Unauthorized", "AKV10022: Invalid audience or token expired.", {
        headers: challenge,
      });
    entry.principal = issued.principal;
    entry.tenant = issued.tenant;
    if (issued.resource !== VAULT_RESOURCE)
      throw new HttpError(401, "Unauthorized", "AKV10022: Invalid audience.", { headers: challenge });
    if (issued.tenant !== v.tenant)
      throw new HttpError(
        401,
        "Unauthorized",
        `AKV10032: Invalid issuer. Expected one of the vault's tenant, found ${issued.tenant}.`,
        { headers: challenge },
      );
    if (!apiVersion) throw new HttpError(400, "BadParameter", "The request needs an api-version.");
    injectFault(entry);
    const can = (action: DataAction, object?: string) =>
      v.roles.some(
        (r) =>
          r.principal === issued.principal &&
          r.actions.includes(action) &&
          (!r.objects || (object !== undefined && r.objects.includes(object))),
      );
    const deny = (action: DataAction): HttpError =>
      new HttpError(
        403,
        "Forbidden",
        `Caller is not authorized to perform action on resource. Action: 'Microsoft.KeyVault/vaults/${action}/action'`,
        { inner: "ForbiddenByRbac" },
      );
    const base = `https://${host}:${port}`;

    if (collection === "secrets") {
      if (objectName === undefined) {
        if (!can("secrets/readMetadata")) throw deny("secrets/readMetadata");
        const max = Math.min(Number(url.searchParams.get("maxresults") ?? pageSize), pageSize);
        const skip = Number(url.searchParams.get("$skiptoken") ?? 0);
        const names = [...v.secrets.entries()]
          .filter(([, s]) => !s.deleted)
          .map(([n]) => n)
          .sort();
        const page = names.slice(skip, skip + max);
        const next =
          skip + max < names.length
            ? `${base}/secrets?api-version=${apiVersion}&$skiptoken=${skip + max}&maxresults=${max}`
            : null;
        return {
          value: page.map((n) => {
            const s = v.secrets.get(n) as SecretObject;
            const latest = s.versions.at(-1) as Version;
            return {
              id: `${base}/secrets/${n}`,
              attributes: attributes(latest),
              tags: s.tags,
              ...(latest.contentType ? { contentType: latest.contentType } : {}),
            };
          }),
          nextLink: next,
        };
      }
      if (method === "PUT") {
        if (!can("secrets/setSecret", objectName)) throw deny("secrets/setSecret");
        const input = JSON.parse(body || "{}") as {
          value?: string;
          contentType?: string;
          tags?: Record<string, string>;
        };
        if (typeof input.value !== "string") throw new HttpError(400, "BadParameter", "value is required.");
        const existing = v.secrets.get(objectName);
        if (existing?.deleted)
          throw new HttpError(
            409,
            "Conflict",
            `Secret ${objectName} is currently in a deleted but recoverable state.`,
            { inner: "ObjectIsDeletedButRecoverable" },
          );
        const id = addSecretVersion(v, objectName, input.value, {
          contentType: input.contentType,
          tags: input.tags,
        });
        entry.version = id;
        return secretBundle(base, objectName, v.secrets.get(objectName) as SecretObject, id, false);
      }
      if (!can("secrets/getSecret", objectName)) throw deny("secrets/getSecret");
      const s = v.secrets.get(objectName);
      if (!s || s.deleted)
        throw new HttpError(
          404,
          "SecretNotFound",
          `A secret with (name/id) ${objectName} was not found in this key vault.`,
        );
      return secretBundle(base, objectName, s, version, true);
    }
    if (collection === "keys" && objectName !== undefined) {
      if (!can("keys/read", objectName)) throw deny("keys/read");
      const k = v.keys.get(objectName);
      const kv = version ? k?.versions.find((x) => x.id === version) : k?.versions.at(-1);
      if (!kv)
        throw new HttpError(
          404,
          "KeyNotFound",
          `A key with (name/id) ${objectName} was not found in this key vault.`,
        );
      return {
        key: {
          kid: `${base}/keys/${objectName}/${kv.id}`,
          kty: "RSA",
          key_ops: ["sign", "verify"],
          n: b64url(kv.n),
          e: b64url(kv.e),
        },
        attributes: { enabled: true, created: 1, updated: 1, recoveryLevel: "Recoverable" },
      };
    }
    if (collection === "certificates" && objectName !== undefined) {
      if (!can("certificates/read", objectName)) throw deny("certificates/read");
      const c = v.certificates.get(objectName);
      const cv = version ? c?.versions.find((x) => x.id === version) : c?.versions.at(-1);
      if (!cv)
        throw new HttpError(
          404,
          "CertificateNotFound",
          `A certificate with (name/id) ${objectName} was not found in this key vault.`,
        );
      return {
        id: `${base}/certificates/${objectName}/${cv.id}`,
        kid: `${base}/keys/${objectName}/${cv.id}`,
        sid: `${base}/secrets/${objectName}/${cv.id}`,
        x5t: b64url(createHash("sha1").update(cv.der).digest()),
        cer: cv.der.toString("base64"),
        attributes: { enabled: true, created: 1, updated: 1, recoveryLevel: "Recoverable" },
      };
    }
    throw new HttpError(400, "BadParameter", "Unsupported request.");
  }

  function attributes(version: Version) {
    const t = Math.floor(version.created / 1000);
    return {
      enabled: version.enabled,
      created: t,
      updated: t,
      recoveryLevel: "Recoverable+Purgeable",
      recoverableDays: 90,
    };
  }

  function secretBundle(
    base: string,
    name: string,
    s: SecretObject,
    version: string | undefined,
    withValue: boolean,
  ): unknown {
    const found = version ? s.versions.find((x) => x.id === version) : s.versions.at(-1);
    if (!found)
      throw new HttpError(
        404,
        "SecretNotFound",
        `A secret with (name/id) ${name}/${version} was not found in this key vault.`,
      );
    if (!found.enabled && withValue)
      throw new HttpError(403, "Forbidden", "Operation get is not allowed on a disabled secret.", {
        inner: "SecretDisabled",
      });
    return {
      ...(withValue ? { value: found.value } : {}),
      id: `${base}/secrets/${name}/${found.id}`,
      attributes: attributes(found),
      tags: s.tags,
      ...(found.contentType ? { contentType: found.contentType } : {}),
    };
  }

  function addSecretVersion(
    v: Vault,
    name: string,
    value: string,
    opts: {
      contentType?: string | undefined;
      tags?: Record<string, string> | undefined;
      enabled?: boolean | undefined;
    },
  ): string {
    const s = v.secrets.get(name) ?? { versions: [], tags: {}, deleted: false };
    v.secrets.set(name, s);
    if (opts.tags) s.tags = opts.tags;
    const id = randomUUID().replaceAll("-", "");
    s.versions.push({
      id,
      value,
      enabled: opts.enabled ?? true,
      created: Date.now(),
      ...(opts.contentType ? { contentType: opts.contentType } : {}),
    });
    return id;
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString("utf8");
    const host = (req.headers.host ?? "").replace(/:\d+$/, "").toLowerCase();
    const url = new URL(req.url ?? "/", `https://${host}`);
    const isVault = host.endsWith(VAULT_SUFFIX);
    const isMsi = !isVault && url.pathname === "/msi/token";
    const entry: LoggedRequest = {
      service: isVault ? "vault" : isMsi ? "msi" : "entra",
      operation: "",
      status: 200,
      ...(req.headers["user-agent"] !== undefined && { userAgent: req.headers["user-agent"] }),
    };
    requests.push(entry);
    let status = 200;
    let payload: unknown;
    const headers: Record<string, string> = {
      "content-type": "application/json; charset=utf-8",
      "x-ms-request-id": randomUUID(),
    };
    entry.requestId = headers["x-ms-request-id"];
    try {
      payload = isVault
        ? keyVault(req, url, host, body, entry)
        : isMsi
          ? managedIdentity(req, url, entry)
          : await entra(req, url, body, entry);
    } catch (error) {
      const e = error instanceof HttpError ? error : new HttpError(500, "InternalServerError", String(error));
      status = e.status;
      entry.error = e.extra.inner ?? e.code;
      Object.assign(headers, e.extra.headers ?? {});
      payload = e.extra.oauth
        ? {
            error: e.code,
            error_description: `${e.message}\r\nTrace ID: ${randomUUID()}\r\nCorrelation ID: ${randomUUID()}\r\nTimestamp: ${new Date().toISOString()}`,
            error_codes: [Number(/AADSTS(\d+)/.exec(e.message)?.[1] ?? 0)],
          }
        : {
            error: {
              code: e.code,
              message: e.message,
              ...(e.extra.inner ? { innererror: { code: e.extra.inner } } : {}),
            },
          };
    }
    entry.status = status;
    res.writeHead(status, headers);
    res.end(JSON.stringify(payload));
  }

  const server: Server = createServer({ cert: pki.certPem, key: pki.keyPem }, (req, res) => {
    handle(req, res).catch((error: unknown) => {
      res.writeHead(500);
      res.end(String(error));
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  port = (server.address() as AddressInfo).port;

  return {
    get authorityHost() {
      return authorityHost();
    },
    get customCloudConfig() {
      return { activeDirectoryEndpoint: authorityHost(), keyVaultDNSSuffix: VAULT_SUFFIX };
    },
    port,
    pki,
    vaultUrl: (name) => `https://${name}${VAULT_SUFFIX}:${port}`,
    addVault(name, tenant) {
      vaults.set(name, {
        name,
        tenant,
        secrets: new Map(),
        keys: new Map(),
        certificates: new Map(),
        roles: [],
      });
    },
    addApp(spec) {
      const clientId = randomUUID();
      apps.set(clientId, { ...spec, clientId });
      return clientId;
    },
    addManagedIdentity(tenant, name) {
      const clientId = randomUUID();
      identities.set(clientId, { tenant, clientId, name });
      return clientId;
    },
    get msi() {
      return { endpoint: `${authorityHost()}/msi/token`, header: msiHeader };
    },
    assignRole: (name, assignment) => void vault(name).roles.push(assignment),
    putSecret: (name, secret, value, opts = {}) => addSecretVersion(vault(name), secret, value, opts),
    setEnabled(name, secret, enabled) {
      const latest = vault(name).secrets.get(secret)?.versions.at(-1);
      if (latest) latest.enabled = enabled;
    },
    deleteSecret(name, secret) {
      const s = vault(name).secrets.get(secret);
      if (s) s.deleted = true;
    },
    putKey(name, key, pem) {
      const jwk = createPublicKey(pem).export({ format: "jwk" });
      const k = vault(name).keys.get(key) ?? { versions: [] };
      vault(name).keys.set(key, k);
      const id = randomUUID().replaceAll("-", "");
      k.versions.push({
        id,
        n: Buffer.from(jwk.n ?? "", "base64url"),
        e: Buffer.from(jwk.e ?? "", "base64url"),
      });
      return id;
    },
    putCertificate(name, cert, der) {
      const c = vault(name).certificates.get(cert) ?? { versions: [] };
      vault(name).certificates.set(cert, c);
      const id = randomUUID().replaceAll("-", "");
      c.versions.push({ id, der });
      return id;
    },
    secretValue(name, secret) {
      const latest = vault(name).secrets.get(secret)?.versions.at(-1);
      return (
        latest && { value: latest.value, ...(latest.contentType ? { contentType: latest.contentType } : {}) }
      );
    },
    failNext(kind, count, match = {}) {
      faults.push({ kind, remaining: count, ...match });
    },
    setTokenSeconds(seconds) {
      tokenSeconds = seconds;
    },
    expireTokens() {
      for (const t of tokens.values()) t.expiresAt = 0;
    },
    setPageSize(size) {
      pageSize = size;
    },
    requests,
    clearRequests() {
      requests.length = 0;
    },
    count: (filter) =>
      requests.filter((r) => Object.entries(filter).every(([k, v]) => r[k as keyof LoggedRequest] === v))
        .length,
    async close() {
      server.closeAllConnections();
      server.close();
      await once(server, "close");
      await pki.close();
    },
  };
}

/** The `system:serviceaccount:<ns>:<name>` subject of a service-account token, through the cluster's TokenReview. */
export { kubeTokenReviewer } from "../aws/token-review.ts";
