// Where a store's Microsoft Entra ID tokens come from, per authType:
//   - WorkloadIdentity: a TokenRequest token of serviceAccountRef (audience
//     api://AzureADTokenExchange) is the client assertion of
//     ClientAssertionCredential, for the client ID of authSecretRef.clientId
//     or the service account's azure.workload.identity/client-id annotation;
//     Entra ID checks it against the app's federated identity credentials.
//     Without serviceAccountRef: the controller's own (WorkloadIdentityCredential,
//     from AZURE_CLIENT_ID, AZURE_TENANT_ID, AZURE_FEDERATED_TOKEN_FILE).
//   - ServicePrincipal: ClientSecretCredential or ClientCertificateCredential
//     on credentials read from Secrets (re-read every few minutes, so a rotated
//     secret is taken up).
//   - ManagedIdentity: ManagedIdentityCredential (IMDS, or the endpoint its
//     documented environment names: IDENTITY_ENDPOINT, MSI_ENDPOINT…).
// Every token goes through one cache per identity: reused until a margin
// before expiry, one request in flight, the old token kept while a refresh
// fails and it is still valid. A token Key Vault refuses before its expiry
// (revoked) is dropped and replaced once (renew); the SDK's challenge policy
// keeps its own copy until near expiry, so requests still carrying it are
// given the replacement.
import {
  ClientAssertionCredential,
  ClientCertificateCredential,
  ClientSecretCredential,
  ManagedIdentityCredential,
  WorkloadIdentityCredential,
  type AccessToken,
  type GetTokenOptions,
  type TokenCredential,
} from "@azure/identity";
import { AccessDeniedError, InvalidSpecError } from "../../errors.ts";
import type { ProviderContext } from "../types.ts";
import { entraError } from "./errors.ts";
import type { AzureKvProviderSpec, SecretKeyRef, ServiceAccountRef, VaultEndpoint } from "./spec.ts";

export const TOKEN_EXCHANGE_AUDIENCE = "api://AzureADTokenExchange";
export const CLIENT_ID_ANNOTATION = "azure.workload.identity/client-id";
export const TENANT_ID_ANNOTATION = "azure.workload.identity/tenant-id";
/** Refresh this long before expiry (the SDK's bearer policy refreshes 2 minutes before). */
export const REFRESH_MARGIN_MS = 5 * 60_000;
/** An old token still serves after a failed refresh until this close to expiry. */
const EXPIRY_SAFETY_MS = 30_000;
/** Credentials in Secrets (and service-account annotations) are read again this often. */
const REREAD_MS = 5 * 60_000;

export interface StoreCredential extends TokenCredential {
  /** True when a client secret or certificate from a Secret is in use. */
  readonly staticCredentials: boolean;
  /** Who the identity is, for messages (never a credential): `client <id> in tenant <t>`. */
  describe(): string | undefined;
  /**
   * Key Vault answered 401 to a request carrying `token`, before its expiry: the token to send
   * instead. The first call for a token this cache handed out drops it and fetches one new token;
   * later calls for the same token share that fetch or its result. Undefined when `token` is not
   * the current identity's.
   */
  renew(token: string): Promise<string | undefined>;
  /** The token to send in place of `token` when that one was renewed, else undefined. */
  replacement(token: string): string | undefined;
}

export function storeCredential(
  spec: AzureKvProviderSpec,
  endpoint: VaultEndpoint,
  context: ProviderContext,
): StoreCredential {
  const authType = spec.authType ?? "WorkloadIdentity";
  const options = {
    authorityHost: endpoint.authorityHost,
    // A store names its tenant: a Key Vault challenge naming another tenant is refused by the credential.
    additionallyAllowedTenants: [],
    ...(spec.customCloudConfig ? { disableInstanceDiscovery: true } : {}),
  };
  let who: string | undefined;
  let source: () => Promise<{ key: string; credential: TokenCredential }>;
  if (authType === "ManagedIdentity") {
    const id = spec.identityId;
    const credential =
      id === undefined
        ? new ManagedIdentityCredential({})
        : id.startsWith("/")
          ? new ManagedIdentityCredential({ resourceId: id })
          : new ManagedIdentityCredential({ clientId: id });
    who = id === undefined ? "the system-assigned managed identity" : `managed identity ${id}`;
    source = () => Promise.resolve({ key: "managed", credential });
  } else if (authType === "ServicePrincipal") {
    source = servicePrincipal(spec, context, options, (w) => (who = w));
  } else if (spec.serviceAccountRef) {
    source = workloadIdentity(spec, spec.serviceAccountRef, context, options, (w) => (who = w));
  } else {
    const credential = new WorkloadIdentityCredential({
      ...options,
      ...(spec.tenantId ? { tenantId: spec.tenantId } : {}),
    });
    who = "the controller's workload identity";
    source = () => Promise.resolve({ key: "environment", credential });
  }
  const cache = new TokenCache(context);
  return {
    staticCredentials: authType === "ServicePrincipal",
    describe: () => who,
    async getToken(scopes, getOptions) {
      const { key, credential } = await source();
      return cache.get(key, scopes, getOptions ?? {}, credential, () => who);
    },
    renew: (token) => cache.renew(token),
    replacement: (token) => cache.replacement(token),
  };
}

type Options = ConstructorParameters<typeof ClientSecretCredential>[3] & object;

/** A client secret or certificate from Secrets; the credential is rebuilt when what the Secrets hold changes. */
function servicePrincipal(
  spec: AzureKvProviderSpec,
  context: ProviderContext,
  options: Options,
  describe: (who: string) => void,
): () => Promise<{ key: string; credential: TokenCredential }> {
  const auth = spec.authSecretRef ?? {};
  return reread(async () => {
    const read = (ref: SecretKeyRef | undefined) =>
      ref ? context.readCredential(ref).then((v) => v.trim()) : Promise.resolve(undefined);
    const [clientId, tenantFromSecret, secret, certificate] = await Promise.all([
      read(auth.clientId),
      spec.tenantId ? undefined : read(auth.tenantId),
      read(auth.clientSecret),
      read(auth.clientCertificate),
    ]);
    const tenantId = spec.tenantId ?? tenantFromSecret;
    if (!clientId || !tenantId) {
      throw new InvalidSpecError(`${context.storeName}: ServicePrincipal needs a client ID and a tenant ID`);
    }
    describe(`client ${clientId} in tenant ${tenantId}`);
    const credential = secret
      ? new ClientSecretCredential(tenantId, clientId, secret, options)
      : new ClientCertificateCredential(
          tenantId,
          clientId,
          { certificate: `${certificate ?? ""}\n` },
          options,
        );
    // The key tells a new credential from the old one without holding the secret itself.
    const fingerprint = await digest(`${tenantId}\0${clientId}\0${secret ?? ""}\0${certificate ?? ""}`);
    return { key: fingerprint, credential };
  });
}

/** A federated service-account token for the client ID the store or the service account names. */
function workloadIdentity(
  spec: AzureKvProviderSpec,
  account: ServiceAccountRef,
  context: ProviderContext,
  options: Options,
  describe: (who: string) => void,
): () => Promise<{ key: string; credential: TokenCredential }> {
  const namespace = account.namespace ?? context.namespace;
  const where = `${context.storeName}: service account ${namespace ?? "?"}/${account.name}`;
  if (!context.requestServiceAccountToken) {
    throw new InvalidSpecError(
      `${where}: WorkloadIdentity with serviceAccountRef needs service-account tokens, which this caller cannot request`,
    );
  }
  const requestToken = context.requestServiceAccountToken.bind(context);
  const annotationsOf = context.serviceAccountAnnotations?.bind(context);
  const credentials = new Map<string, TokenCredential>();
  return reread(async () => {
    const needAnnotations = !spec.authSecretRef?.clientId || (!spec.tenantId && !spec.authSecretRef.tenantId);
    const annotations =
      needAnnotations && annotationsOf ? await annotationsOf({ name: account.name, namespace }) : {};
    const clientId = spec.authSecretRef?.clientId
      ? (await context.readCredential(spec.authSecretRef.clientId)).trim()
      : annotations[CLIENT_ID_ANNOTATION];
    const tenantId =
      spec.tenantId ??
      (spec.authSecretRef?.tenantId
        ? (await context.readCredential(spec.authSecretRef.tenantId)).trim()
        : annotations[TENANT_ID_ANNOTATION]);
    if (!clientId) {
      throw new AccessDeniedError(
        `${where}: no client ID: annotate the service account with ${CLIENT_ID_ANNOTATION} or set spec.provider.azurekv.authSecretRef.clientId`,
      );
    }
    if (!tenantId) {
      throw new AccessDeniedError(
        `${where}: no tenant ID: set spec.provider.azurekv.tenantId or annotate the service account with ${TENANT_ID_ANNOTATION}`,
      );
    }
    describe(`client ${clientId} in tenant ${tenantId} as ${namespace ?? "?"}/${account.name}`);
    const key = `${tenantId}\0${clientId}`;
    let credential = credentials.get(key);
    if (!credential) {
      credential = new ClientAssertionCredential(
        tenantId,
        clientId,
        () =>
          requestToken({
            name: account.name,
            namespace,
            audiences: account.audiences ?? [TOKEN_EXCHANGE_AUDIENCE],
          }),
        options,
      );
      credentials.set(key, credential);
    }
    return { key, credential };
  });
}

/** Runs `load` again when its result is older than REREAD_MS; one load in flight. */
function reread<T>(load: () => Promise<T>): () => Promise<T> {
  let current: { value: T; at: number } | undefined;
  let inFlight: Promise<T> | undefined;
  return () => {
    if (current && Date.now() - current.at < REREAD_MS) return Promise.resolve(current.value);
    inFlight ??= load()
      .then((value) => {
        current = { value, at: Date.now() };
        return value;
      })
      .finally(() => {
        inFlight = undefined;
      });
    return inFlight;
  };
}

async function digest(text: string): Promise<string> {
  const bytes = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Buffer.from(bytes).toString("hex");
}

interface Entry {
  token?: AccessToken;
  refreshAt: number;
  inFlight?: Promise<AccessToken>;
  /** Fetches this entry's token anew with `claims`, for renew(): the last caller's credential, scopes and tenant. */
  again?: (claims: string) => Promise<AccessToken>;
}

/**
 * Tokens per (identity, scopes, tenant): reused until REFRESH_MARGIN_MS (or
 * half the lifetime, for short-lived ones) before expiry, one request in
 * flight. A request carrying CAE claims always goes to Entra ID. A token
 * refused before its expiry is renewed once: dropped, never served again.
 */
export class TokenCache {
  readonly #entries = new Map<string, Entry>();
  /** Refused tokens, until their own expiry, and the entry whose token replaces them. */
  readonly #revoked = new Map<string, { entry: Entry; expiresOnTimestamp: number }>();
  #identity: string | undefined;
  readonly #context: Pick<ProviderContext, "onCall" | "storeName">;

  constructor(context: Pick<ProviderContext, "onCall" | "storeName">) {
    this.#context = context;
  }

  get(
    identity: string,
    scopes: string | string[],
    options: GetTokenOptions,
    credential: TokenCredential,
    who: () => string | undefined,
  ): Promise<AccessToken> {
    const scopeList = typeof scopes === "string" ? [scopes] : scopes;
    const key = JSON.stringify([identity, scopeList, options.tenantId ?? null]);
    if (identity !== this.#identity) {
      // Another identity (a rotated client secret, a new client ID): no token of the old one is kept.
      this.#entries.clear();
      this.#revoked.clear();
      this.#identity = identity;
    }
    let entry = this.#entries.get(key);
    if (!entry) {
      entry = { refreshAt: 0 };
      this.#entries.set(key, entry);
    }
    // A request's abort signal and CAE claims are its own: a renewal carries neither.
    const { abortSignal: _signal, claims: _claims, ...renewal } = options;
    entry.again = (claims) => this.get(identity, scopeList, { ...renewal, claims }, credential, who);
    const now = Date.now();
    if (entry.token && now < entry.refreshAt && !options.claims) return Promise.resolve(entry.token);
    const held = entry;
    held.inFlight ??= this.#fetch(credential, scopeList, options, who)
      .then(
        (token) => {
          const fetchedAt = Date.now();
          const margin = Math.min(REFRESH_MARGIN_MS, (token.expiresOnTimestamp - fetchedAt) / 2);
          held.token = token;
          held.refreshAt = Math.min(
            token.expiresOnTimestamp - margin,
            token.refreshAfterTimestamp ?? Infinity,
          );
          return token;
        },
        (error: unknown) => {
          if (held.token && Date.now() < held.token.expiresOnTimestamp - EXPIRY_SAFETY_MS) return held.token;
          throw error;
        },
      )
      .finally(() => {
        held.inFlight = undefined;
      });
    return held.inFlight;
  }

  renew(token: string): Promise<string | undefined> {
    const now = Date.now();
    for (const [old, { expiresOnTimestamp }] of this.#revoked) {
      if (expiresOnTimestamp <= now) this.#revoked.delete(old);
    }
    let entry = this.#revoked.get(token)?.entry;
    if (entry) {
      // Renewed already (for a concurrent request, or one the SDK signed with its own copy): no new request.
      if (entry.inFlight) return entry.inFlight.then((t) => t.token);
      if (entry.token) return Promise.resolve(entry.token.token);
    } else {
      entry = [...this.#entries.values()].find((e) => e.token?.token === token);
      if (!entry?.token) return Promise.resolve(undefined);
      this.#revoked.set(token, { entry, expiresOnTimestamp: entry.token.expiresOnTimestamp });
      // Dropped, not merely due: a failed renewal must not fall back to it.
      entry.token = undefined;
      entry.refreshAt = 0;
    }
    // Claims are what makes MSAL skip its own token cache and go to Entra ID (a managed identity's
    // credential does not pass them on: its endpoint answers from its cache). The claim asks, as
    // a CAE challenge does, for a token issued no earlier than now.
    const notBefore = JSON.stringify({
      access_token: { nbf: { essential: true, value: String(Math.floor(Date.now() / 1000)) } },
    });
    return entry.again ? entry.again(notBefore).then((t) => t.token) : Promise.resolve(undefined);
  }

  replacement(token: string): string | undefined {
    const renewed = this.#revoked.get(token);
    if (!renewed) return undefined;
    if (renewed.expiresOnTimestamp <= Date.now()) {
      this.#revoked.delete(token);
      return undefined;
    }
    return renewed.entry.token?.token;
  }

  async #fetch(
    credential: TokenCredential,
    scopes: string[],
    options: GetTokenOptions,
    who: () => string | undefined,
  ): Promise<AccessToken> {
    const started = performance.now();
    const seconds = () => (performance.now() - started) / 1000;
    try {
      const token = await credential.getToken(scopes, options);
      if (!token) throw new AccessDeniedError(`${this.#context.storeName}: Entra ID returned no token`);
      this.#context.onCall?.("GetToken", "success", seconds());
      return token;
    } catch (error) {
      const mapped = entraError(
        error,
        `${this.#context.storeName}: token for ${who() ?? "the store's identity"}`,
      );
      this.#context.onCall?.("GetToken", mapped instanceof AccessDeniedError ? "denied" : "error", seconds());
      throw mapped;
    }
  }
}
