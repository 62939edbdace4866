/**
 * The Vault ProviderClient: KV v1/v2 reads (pinned versions), leased reads
 * of dynamic engines (database/creds/<role>), recursive find, KV v2 version
 * checks, idempotent writes for `refsync migrate`, and lease renewal and
 * revocation — all through one shared token session per store identity.
 */
import { isDeepStrictEqual } from "node:util";
import type NodeVault from "node-vault";
import { InvalidReferenceError, InvalidSpecError, SecretNotFoundError } from "../../errors.ts";
import type {
  FindQuery,
  Lease,
  ProviderClient,
  ProviderContext,
  ReadRequest,
  SecretValue,
  ValidationResult,
  WriteResult,
} from "../types.ts";
import { clientCertificate, credentialRef, loginFor, type Login } from "./auth.ts";
import { findKeys } from "./find.ts";
import { goMetadataJson } from "../extract.ts";
import { dataPath, locate, metadataPath } from "./paths.ts";
import { acquireSession, releaseSession, type TokenSession } from "./session.ts";
import type { CaProvider } from "../spec.ts";
import type { VaultSpec } from "./spec.ts";
import type { ClientCertificate } from "./transport.ts";

interface VaultBody {
  data?: Record<string, unknown> | null;
  lease_id?: string;
  lease_duration?: number;
  renewable?: boolean;
  warnings?: string[] | null;
}

interface KvV2Data {
  data: Record<string, unknown> | null;
  metadata?: { version?: number };
}

function withQuery(path: string, query: Record<string, string | undefined>): string {
  const params = Object.entries(query).filter((entry): entry is [string, string] => entry[1] !== undefined);
  return params.length === 0 ? path : `${path}?${new URLSearchParams(params).toString()}`;
}

function parseVersion(version: string | undefined, key: string): string | undefined {
  if (version === undefined || version === "" || version === "latest") return undefined;
  if (!/^\d+$/.test(version))
    throw new InvalidReferenceError(`Vault key "${key}": version must be a number, got "${version}"`);
  return version;
}

export class VaultProviderClient implements ProviderClient {
  readonly provider = "vault" as const;
  private readonly spec: VaultSpec;
  private readonly context: ProviderContext;
  private readonly login: Login;
  private session: Promise<TokenSession> | undefined;

  constructor(spec: VaultSpec, context: ProviderContext) {
    this.spec = spec;
    this.context = context;
    this.login = loginFor(spec.auth, context);
  }

  private get kv(): "v1" | "v2" {
    return this.spec.version;
  }

  private async openSession(signal?: AbortSignal): Promise<TokenSession> {
    const { caBundle, caProvider, tls, headers, readYourWrites, forwardInconsistent } = this.spec;
    let ca: string | undefined;
    if (caBundle !== undefined) ca = Buffer.from(caBundle, "base64").toString("utf8");
    else if (caProvider !== undefined) ca = await this.providedCa(caProvider, signal);
    const authNamespace = this.spec.auth?.namespace;
    return acquireSession(
      {
        server: this.spec.server,
        ...(this.spec.namespace !== undefined ? { namespace: this.spec.namespace } : {}),
        ...(authNamespace !== undefined ? { authNamespace } : {}),
        ...(ca !== undefined ? { ca } : {}),
        ...(tls !== undefined ? { clientCertificate: await this.tlsCertificate(tls, signal) } : {}),
        ...(headers !== undefined ? { headers } : {}),
        ...(readYourWrites !== undefined ? { readYourWrites } : {}),
        ...(forwardInconsistent !== undefined ? { forwardInconsistent } : {}),
      },
      this.login,
      this.context,
    );
  }

  /** The client certificate for mutual TLS (`tls`), read from its Secrets. */
  private async tlsCertificate(
    tls: NonNullable<VaultSpec["tls"]>,
    signal?: AbortSignal,
  ): Promise<ClientCertificate> {
    const [cert, key] = await Promise.all([
      this.context.readCredential(credentialRef(tls.certSecretRef), signal),
      this.context.readCredential(credentialRef(tls.keySecretRef), signal),
    ]);
    return clientCertificate(cert, key, `${this.context.storeName}: tls`);
  }

  /** The PEM bundle in the key of the Secret or ConfigMap that caProvider names. */
  private providedCa(caProvider: CaProvider, signal?: AbortSignal): Promise<string> {
    const ref = {
      name: caProvider.name,
      key: caProvider.key,
      ...(caProvider.namespace !== undefined ? { namespace: caProvider.namespace } : {}),
    };
    if (caProvider.type === "Secret") return this.context.readCredential(ref, signal);
    if (!this.context.readConfigMap) {
      throw new InvalidSpecError(
        `${this.context.storeName}: caProvider: type ConfigMap is not supported here; use caBundle or a Secret`,
      );
    }
    return this.context.readConfigMap({ ...ref, field: "caProvider" }, signal);
  }

  /** The store's shared token session; the Vault event source subscribes with it too. */
  sessionFor(signal?: AbortSignal): Promise<TokenSession> {
    this.session ??= this.openSession(signal).catch((error: unknown) => {
      this.session = undefined;
      throw error;
    });
    return this.session;
  }

  private async call<T>(
    call: string,
    path: string,
    request: (vault: NodeVault.client) => Promise<T>,
    signal?: AbortSignal,
  ): Promise<T> {
    const session = await this.sessionFor(signal);
    return session.call(call, path, request, signal);
  }

  async read(request: ReadRequest, signal?: AbortSignal): Promise<SecretValue> {
    if (request.metadata) return this.readMetadata(request, signal);
    const location = locate(this.spec.path, request.key);
    const path = dataPath(this.kv, location);
    if (this.kv === "v1") {
      if (parseVersion(request.version, request.key) !== undefined) {
        throw new InvalidReferenceError(`Vault key "${request.key}": versions exist only on KV v2 stores`);
      }
      const body = (await this.call("read", path, (vault) => vault.read(path), signal)) as VaultBody;
      const value: SecretValue = { data: body.data ?? {} };
      if (body.lease_id) {
        value.lease = {
          id: body.lease_id,
          durationSeconds: body.lease_duration ?? 0,
          renewable: body.renewable === true,
        };
      }
      return value;
    }
    const version = parseVersion(request.version, request.key);
    const body = (await this.call(
      "read",
      path,
      (vault) => vault.read(withQuery(path, { version })),
      signal,
    )) as {
      data?: KvV2Data;
    };
    const secret = body.data;
    // A soft-deleted or destroyed version reads as data: null.
    if (!secret?.data)
      throw new SecretNotFoundError(`${this.context.storeName}: read ${path}: version deleted`);
    return {
      data: secret.data,
      ...(secret.metadata?.version !== undefined ? { version: String(secret.metadata.version) } : {}),
    };
  }

  /**
   * metadataPolicy Fetch, as ESO reads it: KV v2's created_time, current_version and
   * delete_version_after, then custom_metadata (which wins on equal keys), all as strings.
   */
  private async readMetadata(request: ReadRequest, signal?: AbortSignal): Promise<SecretValue> {
    if (this.kv === "v1") {
      throw new InvalidSpecError(
        `${this.context.storeName}: key "${request.key}": metadataPolicy Fetch reads KV v2 metadata; this store is KV v1`,
      );
    }
    const path = metadataPath(this.kv, locate(this.spec.path, request.key));
    const body = (await this.call("metadata", path, (vault) => vault.read(path), signal)) as {
      data?: Record<string, unknown>;
    };
    const data = body.data ?? {};
    const metadata: Record<string, string> = {};
    for (const key of ["created_time", "current_version", "delete_version_after"]) {
      const v = data[key];
      if (v !== undefined && v !== null) metadata[key] = String(v);
    }
    const custom = data.custom_metadata;
    if (typeof custom === "object" && custom !== null) {
      for (const [k, v] of Object.entries(custom)) metadata[k] = typeof v === "string" ? v : String(v);
    }
    return { data: goMetadataJson(metadata, true) };
  }

  /** The version `read` would return now: a pinned version stays itself; KV v1 has none. */
  async currentVersion(request: ReadRequest, signal?: AbortSignal): Promise<string | undefined> {
    if (this.kv === "v1") return undefined;
    const pinned = parseVersion(request.version, request.key);
    if (pinned !== undefined) return pinned;
    const path = metadataPath(this.kv, locate(this.spec.path, request.key));
    const body = (await this.call("metadata", path, (vault) => vault.read(path), signal)) as {
      data?: { current_version?: number };
    };
    const current = body.data?.current_version;
    return current === undefined ? undefined : String(current);
  }

  /** dataFrom.find: see ./find.ts. */
  list(query: FindQuery, signal?: AbortSignal): Promise<string[]> {
    return findKeys(query, {
      storeMount: this.spec.path,
      kv: this.kv,
      get: (call, path) => this.call(call, path, (vault) => vault.read(path), signal),
      list: (path) => this.call("list", path, (vault) => vault.list(path), signal),
    });
  }

  /** Idempotent: writing what Vault already holds changes nothing ("unchanged"). KV v2 writes use check-and-set. */
  async write(key: string, data: Record<string, string>, signal?: AbortSignal): Promise<WriteResult> {
    const location = locate(this.spec.path, key);
    let current: SecretValue | undefined;
    try {
      current = await this.read({ key }, signal);
    } catch (error) {
      if (!(error instanceof SecretNotFoundError)) throw error;
    }
    if (current && isDeepStrictEqual(current.data, data)) {
      return { outcome: "unchanged", ...(current.version !== undefined ? { version: current.version } : {}) };
    }
    const outcome = current ? "updated" : "created";
    const path = dataPath(this.kv, location);
    if (this.kv === "v1") {
      await this.call("write", path, (vault) => vault.write(path, data), signal);
      return { outcome };
    }
    // cas 0 = "only if absent"; a soft-deleted secret still has a current version in its metadata.
    const cas =
      current?.version !== undefined ? Number(current.version) : await this.metadataVersion(key, signal);
    const body = (await this.call(
      "write",
      path,
      (vault) => vault.write(path, { data, options: { cas } }),
      signal,
    )) as {
      data?: { version?: number };
    };
    return { outcome, ...(body.data?.version !== undefined ? { version: String(body.data.version) } : {}) };
  }

  private async metadataVersion(key: string, signal?: AbortSignal): Promise<number> {
    try {
      return Number((await this.currentVersion({ key }, signal)) ?? 0);
    } catch (error) {
      if (error instanceof SecretNotFoundError) return 0;
      throw error;
    }
  }

  /**
   * Renews a lease for its original duration. Vault caps renewals at the
   * lease's max TTL; a grant shorter than asked comes back `renewable: false`,
   * telling the caller to read new credentials before this grant runs out.
   */
  async renewLease(lease: Lease, signal?: AbortSignal): Promise<Lease> {
    let body: VaultBody;
    try {
      body = (await this.call(
        "renew-lease",
        "sys/leases/renew",
        (vault) => vault.renew({ lease_id: lease.id, increment: lease.durationSeconds }),
        signal,
      )) as VaultBody;
    } catch (error) {
      // Vault answers 400 "lease not found" once a lease expired or was revoked.
      if (!(error instanceof InvalidSpecError)) throw error;
      throw new SecretNotFoundError(
        `${this.context.storeName}: renew lease: the lease expired or was revoked`,
      );
    }
    const granted = body.lease_duration ?? 0;
    // Vault says so in a warning ("…exceeded the effective max_ttl…; TTL value is capped accordingly").
    const capped = granted < lease.durationSeconds || (body.warnings ?? []).some((w) => /max_ttl/.test(w));
    return {
      id: body.lease_id ?? lease.id,
      durationSeconds: granted,
      renewable: body.renewable === true && !capped,
    };
  }

  async revokeLease(lease: Lease, signal?: AbortSignal): Promise<void> {
    await this.call(
      "revoke-lease",
      "sys/leases/revoke",
      (vault) => vault.revoke({ lease_id: lease.id }),
      signal,
    );
  }

  async validate(signal?: AbortSignal): Promise<ValidationResult> {
    const warnings = this.login.isStatic
      ? [
          {
            type: "StaticCredentials",
            reason: "StaticVaultToken",
            message:
              "the store authenticates with a static Vault token kept in a Secret; prefer kubernetes, jwt or appRole auth, which issue short-lived tokens",
          },
        ]
      : [];
    try {
      if (this.login.awaitsNamespace) {
        // Each namespace logs in as itself, so there is no identity to try yet: check that Vault answers.
        const session = await this.sessionFor(signal);
        const health = (await session.unauthenticated(
          "health sys/health",
          (vault) => vault.health(),
          signal,
        )) as {
          sealed?: boolean;
        };
        if (health.sealed) return { status: "Error", message: `${this.context.storeName}: Vault is sealed` };
      } else {
        await this.call("lookup-token", "auth/token/lookup-self", (vault) => vault.tokenLookupSelf(), signal);
      }
      return { status: "Ready", ...(warnings.length > 0 ? { warnings } : {}) };
    } catch (error) {
      return {
        status: "Error",
        message: (error as Error).message,
        ...(warnings.length > 0 ? { warnings } : {}),
      };
    }
  }

  async close(): Promise<void> {
    const session = this.session;
    this.session = undefined;
    if (!session) return;
    try {
      releaseSession(await session);
    } catch {
      // never opened: nothing to release
    }
  }
}
