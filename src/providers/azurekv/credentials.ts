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
// fails and it is still valid.
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
}

/**
 * Tokens per (identity, scopes, tenant): reused until REFRESH_MARGIN_MS (or
 * half the lifetime, for short-lived ones) before expiry, one request in
 * flight. A request carrying CAE claims always goes to Entra ID.
 */
export class TokenCache {
  readonly #entries = new Map<string, Entry>();
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
      this.#identity = identity;
    }
    let entry = this.#entries.get(key);
    if (!entry) {
      entry = { refreshAt: 0 };
      this.#entries.set(key, entry);
    }
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
