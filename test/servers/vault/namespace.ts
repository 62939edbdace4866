/**
 * One Vault namespace (the root namespace is ""): its mounts, auth methods,
 * policies, tokens and leases, the request handling for its API paths, and
 * the typed admin API tests use to set it up.
 */
import { randomBytes, randomUUID, type JsonWebKey, type X509Certificate } from "node:crypto";
import {
  login,
  type AppRoleRole,
  type AuthMethod,
  type AwsIamRole,
  type CertRole,
  type PasswordUser,
  type JwtRole,
  type KubernetesRole,
  type TokenReviewer,
} from "./auth-methods.ts";
import { badRequest, notFound, permissionDenied, policyDenied, VaultHttpError } from "./http-error.ts";
import { KvV1, KvV2, type KvChange } from "./kv.ts";
import { PkiEngine, type PkiRole } from "./pki.ts";
import { allowed, type Capability, type PolicyRule } from "./policy.ts";
import { TokenStore, type LeaseRecord, type Token, type TokenOptions } from "./tokens.ts";

export interface VaultRequest {
  /** GET, POST, PUT, DELETE, or LIST (a GET with `?list=true`). */
  method: string;
  /** The API path after `/v1/`, without a trailing slash. */
  path: string;
  query: URLSearchParams;
  body: Record<string, unknown>;
  token: string | undefined;
  /** The client certificate of the TLS handshake (cert auth). */
  peerCertificate?: X509Certificate;
}

export interface VaultResponse {
  status: number;
  body?: unknown;
  /** The display name of the token that made the request, for the log (never the token). */
  identity?: string;
}

interface DatabaseRole {
  ttl: number;
  maxTtl: number;
}

class DatabaseEngine {
  readonly roles = new Map<string, DatabaseRole>();
}

type Mount = KvV1 | KvV2 | DatabaseEngine | PkiEngine;

/** KV v1's default lease hint, as Vault reports it. */
const KV_V1_LEASE_DURATION = 2764800;

function envelope(fields: Record<string, unknown>): Record<string, unknown> {
  return {
    request_id: randomUUID(),
    lease_id: "",
    renewable: false,
    lease_duration: 0,
    data: null,
    wrap_info: null,
    warnings: null,
    auth: null,
    mount_type: "",
    ...fields,
  };
}

const ok = (fields: Record<string, unknown>): VaultResponse => ({ status: 200, body: envelope(fields) });
const noContent: VaultResponse = { status: 204 };

function numberField(body: Record<string, unknown>, field: string): number | undefined {
  const value = body[field];
  if (typeof value === "number") return value;
  if (typeof value === "string" && /^\d+s?$/.test(value)) return Number.parseInt(value, 10);
  return undefined;
}

const DURATION_UNITS: Record<string, number> = { h: 3600, m: 60, s: 1, ms: 0.001 };

/**
 * A duration parameter as Vault reads it (parseutil.ParseDurationSecond): a number of seconds, a
 * string of digits, or a Go duration string such as "1h", "90m" or "1h30m15s". Returns whole seconds.
 */
export function durationField(body: Record<string, unknown>, field: string): number | undefined {
  const value = body[field];
  if (value === undefined || value === null || value === "") return undefined;
  if (typeof value === "number" && Number.isFinite(value) && value >= 0) return Math.floor(value);
  if (typeof value === "string") {
    if (/^\d+$/.test(value)) return Number.parseInt(value, 10);
    if (/^(\d+(\.\d+)?(h|ms|m|s))+$/.test(value)) {
      let seconds = 0;
      for (const [, amount, unit] of value.matchAll(/(\d+(?:\.\d+)?)(h|ms|m|s)/g))
        seconds += Number(amount) * (DURATION_UNITS[unit ?? "s"] ?? 1);
      return Math.floor(seconds);
    }
  }
  throw badRequest(`error parsing ${field}: invalid duration ${JSON.stringify(value)}`);
}

function versionsField(body: Record<string, unknown>): number[] {
  const versions = body.versions;
  if (!Array.isArray(versions) || versions.length === 0) throw badRequest("no version number provided");
  return versions.map(Number);
}

export class VaultNamespace {
  readonly name: string;
  readonly tokens = new TokenStore();
  private readonly mounts = new Map<string, Mount>();
  private readonly authMounts = new Map<string, AuthMethod>();
  private readonly policies = new Map<string, PolicyRule[]>();

  constructor(name: string) {
    this.name = name;
  }

  // ---- admin API (tests) ----

  mountKv(path: string, version: 1 | 2): void {
    const engine = version === 1 ? new KvV1() : new KvV2();
    engine.onChange = (change) => this.onKvChange(path, change);
    this.mounts.set(path, engine);
  }

  /** Told about every KV change in this namespace, with its mount (the server's event notifications). */
  onKvChange: (mount: string, change: KvChange) => void = () => undefined;

  /** Whether `token` is a live token of this namespace whose policies grant `capability` on `path`. */
  can(token: string | undefined, path: string, capability: Capability): boolean {
    const found = this.tokens.lookup(token);
    return found !== undefined && allowed(this.policies, found.policies, path, capability, found.meta);
  }

  mountDatabase(path: string): void {
    this.mounts.set(path, new DatabaseEngine());
  }

  /** A PKI secrets engine (its CA is made on first use); returns it for its CA and issued serials. */
  mountPki(path: string): PkiEngine {
    const engine = new PkiEngine();
    this.mounts.set(path, engine);
    return engine;
  }

  addPkiRole(name: string, role: PkiRole, mount = "pki"): void {
    const engine = this.mounts.get(mount);
    if (!(engine instanceof PkiEngine)) throw new Error(`no PKI mount at ${mount}`);
    engine.roles.set(name, role);
  }

  /** Writes a KV secret (a new version on v2); returns the version (v1: 0). */
  putSecret(
    mount: string,
    path: string,
    data: Record<string, unknown>,
    customMetadata?: Record<string, string>,
  ): number {
    const engine = this.mounts.get(mount);
    if (engine instanceof KvV1) {
      engine.write(path, data);
      return 0;
    }
    if (!(engine instanceof KvV2)) throw new Error(`no KV mount at ${mount}`);
    const version = engine.write(path, data).version as number;
    if (customMetadata) engine.writeMetadata(path, customMetadata);
    return version;
  }

  /** Soft-deletes versions of a KV v2 secret (default: the current one). */
  softDeleteSecret(mount: string, path: string, versions?: number[]): void {
    const engine = this.mounts.get(mount);
    if (!(engine instanceof KvV2)) throw new Error(`no KV v2 mount at ${mount}`);
    engine.softDelete(path, versions);
  }

  /** The current data of a KV secret, for assertions; undefined when absent. */
  getSecret(mount: string, path: string): Record<string, unknown> | undefined {
    const engine = this.mounts.get(mount);
    try {
      if (engine instanceof KvV1) return engine.read(path);
      if (engine instanceof KvV2) return engine.read(path).data as Record<string, unknown>;
    } catch {
      return undefined;
    }
    throw new Error(`no KV mount at ${mount}`);
  }

  writePolicy(name: string, rules: { path: string; capabilities: Capability[] }[]): void {
    this.policies.set(name, rules);
  }

  createToken(options: TokenOptions, displayName = "token"): string {
    return this.tokens.create(options, displayName, "auth/token/create").id;
  }

  /** The "token revoked" fault: every token (and its leases) dies, as after a `vault token revoke`. */
  revokeAllTokens(): number {
    return this.tokens.revokeAll();
  }

  enableAppRole(mount = "approle"): void {
    this.authMounts.set(mount, { type: "approle", roles: new Map() });
  }

  enableKubernetesAuth(tokenReviewer: TokenReviewer, mount = "kubernetes"): void {
    this.authMounts.set(mount, { type: "kubernetes", tokenReviewer, roles: new Map() });
  }

  enableJwtAuth(keys: () => JsonWebKey[] | Promise<JsonWebKey[]>, mount = "jwt"): void {
    this.authMounts.set(mount, { type: "jwt", keys, roles: new Map() });
  }

  enableUserpass(mount = "userpass"): void {
    this.authMounts.set(mount, { type: "userpass", users: new Map() });
  }

  /** LDAP auth; the test server is its own directory (users and passwords added with addLdapUser). */
  enableLdap(mount = "ldap"): void {
    this.authMounts.set(mount, { type: "ldap", users: new Map() });
  }

  enableCertAuth(mount = "cert"): void {
    this.authMounts.set(mount, { type: "cert", roles: new Map() });
  }

  /** The AWS auth method (iam type), sending signed requests to `stsEndpoint` (the AWS test server). */
  enableAwsAuth(stsEndpoint: string, options: { serverIdHeader?: string } = {}, mount = "aws"): void {
    this.authMounts.set(mount, { type: "aws", stsEndpoint, ...options, roles: new Map() });
  }

  addAwsIamRole(name: string, role: AwsIamRole, mount = "aws"): void {
    this.authMethod(mount, "aws").roles.set(name, role);
  }

  addUserpassUser(username: string, user: PasswordUser, mount = "userpass"): void {
    this.authMethod(mount, "userpass").users.set(username, user);
  }

  addLdapUser(username: string, user: PasswordUser, mount = "ldap"): void {
    this.authMethod(mount, "ldap").users.set(username, user);
  }

  addCertRole(name: string, role: CertRole, mount = "cert"): void {
    this.authMethod(mount, "cert").roles.set(name, role);
  }

  addAppRole(name: string, role: AppRoleRole, mount = "approle"): void {
    this.authMethod(mount, "approle").roles.set(name, role);
  }

  addKubernetesRole(name: string, role: KubernetesRole, mount = "kubernetes"): void {
    this.authMethod(mount, "kubernetes").roles.set(name, role);
  }

  addJwtRole(name: string, role: JwtRole, mount = "jwt"): void {
    this.authMethod(mount, "jwt").roles.set(name, role);
  }

  addDatabaseRole(name: string, role: DatabaseRole, mount = "database"): void {
    const engine = this.mounts.get(mount);
    if (!(engine instanceof DatabaseEngine)) throw new Error(`no database mount at ${mount}`);
    engine.roles.set(name, role);
  }

  /** Leases issued so far (revoked and expired ones included), for assertions. */
  leases(): (LeaseRecord & { live: boolean })[] {
    return [...this.tokens.leases.values()].map((lease) => ({
      ...lease,
      live: this.tokens.liveLease(lease.id) !== undefined,
    }));
  }

  /** Whether the database would still accept this username (its lease is live). */
  credentialsValid(username: string): boolean {
    return this.leases().some((lease) => lease.live && lease.data.username === username);
  }

  /**
   * The auth mount a login path addresses: `auth/<mount>/login`, or `auth/<mount>/login/<user>`
   * for the methods that take the user in the path (userpass, LDAP), as Vault routes them.
   */
  private loginRoute(path: string): { mount: string; user?: string; method: AuthMethod } | undefined {
    for (const [mount, method] of this.authMounts) {
      const rest = path.startsWith(`auth/${mount}/login`)
        ? path.slice(`auth/${mount}/login`.length)
        : undefined;
      const byUser = method.type === "userpass" || method.type === "ldap";
      if (rest === "" && !byUser) return { mount, method };
      if (rest !== undefined && byUser && /^\/[^/]+$/.test(rest)) {
        return { mount, method, user: decodeURIComponent(rest.slice(1)) };
      }
    }
    return undefined;
  }

  private authMethod<T extends AuthMethod["type"]>(mount: string, type: T): Extract<AuthMethod, { type: T }> {
    const method = this.authMounts.get(mount);
    if (method?.type !== type) throw new Error(`no ${type} auth method at auth/${mount}`);
    return method as Extract<AuthMethod, { type: T }>;
  }

  // ---- API ----

  /**
   * @param ancestors the enclosing namespaces, nearest first: as in Vault, a token of an enclosing
   * namespace works here, under its own namespace's policies with this namespace's path prefixed.
   */
  async handle(request: VaultRequest, ancestors: VaultNamespace[] = []): Promise<VaultResponse> {
    const { method, path } = request;
    const loginMatch = /^auth\/(.+)\/login(?:\/[^/]+)?$/.exec(path);
    if (loginMatch && (method === "POST" || method === "PUT")) {
      const route = this.loginRoute(path);
      if (!route) throw new VaultHttpError(400, [`no handler for route "${path}". route entry not found.`]);
      const { mount, user, method: authMethod } = route;
      const result = await login(authMethod, mount, {
        body: request.body,
        ...(user !== undefined ? { user } : {}),
        ...(request.peerCertificate ? { peerCertificate: request.peerCertificate } : {}),
      });
      const token = this.tokens.create(
        result.options,
        result.displayName,
        `auth/${mount}/login`,
        result.meta,
      );
      return {
        status: 200,
        body: envelope({ auth: this.tokens.authBlock(token) }),
        identity: token.displayName,
      };
    }

    const token = this.tokens.lookup(request.token) ?? this.inherited(request.token, ancestors);
    if (!token) throw permissionDenied();
    const response = await this.handleAuthenticated(request, token);
    return { ...response, identity: token.displayName };
  }

  /** Tokens of enclosing namespaces seen here, with the namespace whose policies they carry. */
  private readonly foreign = new WeakMap<Token, VaultNamespace>();

  private inherited(id: string | undefined, ancestors: VaultNamespace[]): Token | undefined {
    for (const ancestor of ancestors) {
      const token = ancestor.tokens.lookup(id);
      if (token) {
        this.foreign.set(token, ancestor);
        return token;
      }
    }
    return undefined;
  }

  private check(token: Token, path: string, capability: Capability): void {
    const owner = this.foreign.get(token);
    const relative = owner ? `${this.name.slice(owner.name.length).replace(/^\/+/, "")}/${path}` : path;
    if (!allowed((owner ?? this).policies, token.policies, relative, capability, token.meta))
      throw policyDenied();
  }

  private async handleAuthenticated(request: VaultRequest, token: Token): Promise<VaultResponse> {
    const { method, path, body } = request;
    const write = method === "POST" || method === "PUT";
    switch (path) {
      case "auth/token/lookup-self":
        this.check(token, path, "read");
        return ok({ data: this.tokens.lookupBlock(token) });
      case "auth/token/renew-self":
        if (!write) break;
        this.check(token, path, "update");
        this.tokens.renew(token, durationField(body, "increment"));
        return ok({ auth: this.tokens.authBlock(token) });
      case "auth/token/revoke-self":
        if (!write) break;
        this.check(token, path, "update");
        this.tokens.revoke(token);
        return noContent;
      case "sys/leases/renew":
      case "sys/leases/revoke":
      case "sys/leases/lookup":
        if (!write) break;
        this.check(token, path, "update");
        return this.handleLease(path, body);
    }

    const mountPath = [...this.mounts.keys()]
      .filter((mount) => path === mount || path.startsWith(`${mount}/`))
      .sort((a, b) => b.length - a.length)[0];
    if (mountPath === undefined) {
      throw new VaultHttpError(404, [`no handler for route "${path}". route entry not found.`]);
    }
    const engine = this.mounts.get(mountPath)!;
    const rest = path.slice(mountPath.length + 1);
    if (engine instanceof KvV1) return this.handleKvV1(engine, request, token, rest);
    if (engine instanceof KvV2) return this.handleKvV2(engine, request, token, mountPath, rest);
    if (engine instanceof PkiEngine) return this.handlePki(engine, request, token, mountPath, rest);
    return this.handleDatabase(engine, request, token, mountPath, rest);
  }

  private handleLease(path: string, body: Record<string, unknown>): VaultResponse {
    const leaseId = typeof body.lease_id === "string" ? body.lease_id : "";
    if (leaseId === "") throw badRequest("lease_id must be specified");
    if (path === "sys/leases/revoke") {
      const lease = this.tokens.leases.get(leaseId);
      if (lease) lease.revoked = true;
      return noContent;
    }
    if (path === "sys/leases/lookup") {
      const lease = this.tokens.liveLease(leaseId);
      if (!lease) throw badRequest("invalid lease");
      return ok({
        data: {
          id: lease.id,
          issue_time: new Date(lease.issuedAt).toISOString(),
          expire_time: new Date(lease.expiresAt).toISOString(),
          last_renewal_time:
            lease.lastRenewedAt === undefined ? null : new Date(lease.lastRenewedAt).toISOString(),
          renewable: true,
          ttl: this.tokens.leaseDuration(lease),
        },
      });
    }
    const { lease, warnings } = this.tokens.renewLease(leaseId, durationField(body, "increment"));
    return ok({
      lease_id: lease.id,
      renewable: true,
      lease_duration: this.tokens.leaseDuration(lease),
      warnings: warnings.length > 0 ? warnings : null,
    });
  }

  private handleKvV1(engine: KvV1, request: VaultRequest, token: Token, rest: string): VaultResponse {
    const { method, path } = request;
    switch (method) {
      case "GET":
        this.check(token, path, "read");
        return ok({ data: engine.read(rest), lease_duration: KV_V1_LEASE_DURATION, mount_type: "kv" });
      case "LIST":
        this.check(token, `${path}/`, "list");
        return ok({ data: { keys: engine.list(rest) }, mount_type: "kv" });
      case "POST":
      case "PUT":
        this.check(token, path, engine.secrets.has(rest) ? "update" : "create");
        engine.write(rest, request.body);
        return noContent;
      case "DELETE":
        this.check(token, path, "delete");
        engine.delete(rest);
        return noContent;
    }
    throw new VaultHttpError(405, [`unsupported operation`]);
  }

  private handleKvV2(
    engine: KvV2,
    request: VaultRequest,
    token: Token,
    mount: string,
    rest: string,
  ): VaultResponse {
    const { method, path, body } = request;
    const slash = rest.indexOf("/");
    const section = slash === -1 ? rest : rest.slice(0, slash);
    const key = slash === -1 ? "" : rest.slice(slash + 1);
    const write = method === "POST" || method === "PUT";
    const kv = (fields: Record<string, unknown>): VaultResponse => ok({ ...fields, mount_type: "kv" });
    if (section === "data" && key !== "") {
      if (method === "GET") {
        this.check(token, path, "read");
        const version = request.query.get("version");
        return kv({ data: engine.read(key, version ? Number(version) : undefined) });
      }
      if (write) {
        this.check(token, path, engine.secrets.has(key) ? "update" : "create");
        if (typeof body.data !== "object" || body.data === null) throw badRequest("no data provided");
        const options = (body.options ?? {}) as Record<string, unknown>;
        return kv({
          data: engine.write(key, body.data as Record<string, unknown>, numberField(options, "cas")),
        });
      }
      if (method === "DELETE") {
        this.check(token, path, "delete");
        engine.softDelete(key);
        return noContent;
      }
    }
    if (section === "metadata") {
      if (method === "LIST") {
        this.check(token, `${path}/`, "list");
        return kv({ data: { keys: engine.list(key) } });
      }
      if (method === "GET" && key !== "") {
        this.check(token, path, "read");
        return kv({ data: engine.metadata(key) });
      }
      if (write && key !== "") {
        this.check(token, path, "update");
        engine.writeMetadata(key, (body.custom_metadata ?? {}) as Record<string, string>);
        return noContent;
      }
      if (method === "DELETE" && key !== "") {
        this.check(token, path, "delete");
        engine.deleteMetadata(key);
        return noContent;
      }
    }
    if (write && key !== "" && (section === "delete" || section === "undelete" || section === "destroy")) {
      this.check(token, path, "update");
      const versions = versionsField(body);
      if (section === "delete") engine.softDelete(key, versions);
      else if (section === "undelete") engine.undelete(key, versions);
      else engine.destroy(key, versions);
      return noContent;
    }
    // A v1-style path on a v2 mount: Vault answers 404 with a hint.
    throw new VaultHttpError(404, [], {
      warnings: [
        `Invalid path for a versioned K/V secrets engine. See the API docs for the appropriate API endpoints to use. If using the Vault CLI, use 'vault kv get' for this operation.`,
      ],
      mount,
    });
  }

  private handleDatabase(
    engine: DatabaseEngine,
    request: VaultRequest,
    token: Token,
    mount: string,
    rest: string,
  ): VaultResponse {
    const match = /^creds\/([^/]+)$/.exec(rest);
    if (!match || request.method !== "GET") throw notFound();
    this.check(token, request.path, "read");
    const roleName = match[1]!;
    const role = engine.roles.get(roleName);
    if (!role) throw badRequest(`unknown role: ${roleName}`);
    const data = {
      username: `v-${roleName}-${randomBytes(6).toString("hex")}`,
      password: randomBytes(15).toString("base64url"),
    };
    const lease = this.tokens.createLease(`${mount}/creds/${roleName}`, token, role.ttl, role.maxTtl, data);
    return ok({
      lease_id: lease.id,
      renewable: true,
      lease_duration: role.ttl,
      data,
      mount_type: "database",
    });
  }

  private handlePki(
    engine: PkiEngine,
    request: VaultRequest,
    token: Token,
    mount: string,
    rest: string,
  ): VaultResponse {
    const match = /^issue\/([^/]+)$/.exec(rest);
    if (!match || (request.method !== "POST" && request.method !== "PUT")) throw notFound();
    this.check(token, request.path, "update");
    const roleName = match[1]!;
    const { data, ttl } = engine.issue(roleName, request.body, durationField(request.body, "ttl"));
    const lease = engine.roles.get(roleName)?.generateLease
      ? this.tokens.createLease(`${mount}/issue/${roleName}`, token, ttl, ttl, {
          serial_number: data.serial_number,
        })
      : undefined;
    return ok({
      ...(lease ? { lease_id: lease.id, lease_duration: ttl } : {}),
      data,
      mount_type: "pki",
    });
  }
}
