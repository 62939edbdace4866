// Where a store's Google access tokens come from:
//   - auth.workloadIdentityFederation: a TokenRequest token for the store's
//     ServiceAccount, exchanged at Google's STS (RFC 8693) for a federated
//     token, then, with gcpServiceAccountEmail, for that service account's
//     token (IAM Credentials generateAccessToken). google-auth-library's
//     IdentityPoolClient speaks both protocols; the token comes from a supplier.
//   - auth.workloadIdentity (GKE): the same exchange for the cluster's identity
//     namespace, impersonating the service account that the ServiceAccount's
//     iam.gke.io/gcp-service-account annotation names, if any; the cluster's
//     project, location and name, unset, from the metadata server (gke-cluster.ts);
//   - auth.secretRef: a service-account key file from a Secret, used as
//     self-signed JWTs (StaticCredentials warning);
//   - otherwise Application Default Credentials.
// Tokens are cached per client (one client per store and acting namespace,
// so per identity), refreshed a margin before expiry, one fetch in flight.
import { GoogleAuth, IdentityPoolClient, JWT } from "google-auth-library";
import {
  AccessDeniedError,
  BackendUnavailableError,
  InvalidSpecError,
  ThrottledError,
} from "../../errors.ts";
import type { SecretKeySelector } from "../spec.ts";
import type { CallResult, ProviderContext } from "../types.ts";
import { gkeCluster } from "./gke-cluster.ts";
import type { FederationSpec, GcpsmSpec, GkeIdentitySpec } from "./spec.ts";

export const CLOUD_PLATFORM = "https://www.googleapis.com/auth/cloud-platform";
export const DEFAULT_STS = "https://sts.googleapis.com/v1/token";
export const DEFAULT_IAM_CREDENTIALS = "https://iamcredentials.googleapis.com";
export const GSA_ANNOTATION = "iam.gke.io/gcp-service-account";
const JWT_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:jwt";
/** Refresh this long before expiry (or at half the lifetime of shorter tokens). */
const REFRESH_MARGIN_MS = 5 * 60_000;
/** An old token still serves after a failed refresh until this close to expiry. */
const EXPIRY_SAFETY_MS = 30_000;
/** A key file is re-read from its Secret this often, so a rotated key is taken up. */
const KEY_REREAD_MS = 5 * 60_000;

export interface TokenSource {
  /** A bearer token for Google APIs. */
  token(): Promise<string>;
  /** Forgets the cached token (the API answered UNAUTHENTICATED): the next call fetches anew. */
  invalidate(): void;
  /** True for a long-lived key read from a Secret. */
  readonly staticKey: boolean;
  /** True when the identity is the ExternalSecret's namespace's, unknown until one uses the store. */
  readonly perNamespace: boolean;
}

interface Fetched {
  token: string;
  expiresAt: number;
}

/**
 * Single-flight cache: one fetch at a time, reused until REFRESH_MARGIN_MS
 * (or half the lifetime) before expiry; after a failed refresh the old token
 * serves while it is still valid.
 */
export function cachedToken(fetch: () => Promise<Fetched>): { get(): Promise<string>; invalidate(): void } {
  let current: (Fetched & { refreshAt: number }) | undefined;
  let inFlight: Promise<string> | undefined;
  return {
    get() {
      if (current && Date.now() < current.refreshAt) return Promise.resolve(current.token);
      inFlight ??= fetch()
        .then(
          (fetched) => {
            const margin = Math.min(REFRESH_MARGIN_MS, (fetched.expiresAt - Date.now()) / 2);
            current = { ...fetched, refreshAt: fetched.expiresAt - margin };
            return fetched.token;
          },
          (error: unknown) => {
            if (current && Date.now() < current.expiresAt - EXPIRY_SAFETY_MS) return current.token;
            throw error;
          },
        )
        .finally(() => {
          inFlight = undefined;
        });
      return inFlight;
    },
    invalidate() {
      current = undefined;
    },
  };
}

/**
 * The store's project, as ESO finds it: projectID; unset, workloadIdentity's clusterProjectID, else the
 * environment's (GOOGLE_CLOUD_PROJECT or GCLOUD_PROJECT, then, through google-auth-library, the
 * metadata server of GKE or Compute Engine). Looked up on each client creation, so a failed lookup is
 * tried again. The schema keeps a key file's project from being looked up.
 */
export async function projectOf(spec: GcpsmSpec, context: ProviderContext): Promise<string> {
  const known = spec.projectID ?? spec.auth?.workloadIdentity?.clusterProjectID;
  if (known !== undefined) return known;
  const found = await new GoogleAuth().getProjectId().catch(() => undefined);
  if (!found) {
    throw new InvalidSpecError(
      `${context.storeName}: spec.provider.gcpsm.projectID is unset and no project was found (GOOGLE_CLOUD_PROJECT, the GKE metadata server): set projectID`,
    );
  }
  return found;
}

export function tokenSource(spec: GcpsmSpec, context: ProviderContext): TokenSource {
  const auth = spec.auth;
  if (auth?.workloadIdentityFederation) return federated(spec, auth.workloadIdentityFederation, context);
  if (auth?.workloadIdentity) return gke(spec, auth.workloadIdentity, context);
  if (auth?.secretRef) return keyFile(auth.secretRef.secretAccessKeySecretRef, context);
  return applicationDefault();
}

interface Exchange {
  serviceAccount: FederationSpec["serviceAccountRef"];
  /**
   * The STS audience (the workload identity provider, or GKE's identity namespace) and the
   * audiences of the Kubernetes token, once known.
   */
  audiences(): Promise<{ sts: string; token: string[] }>;
  /** The Google service account to impersonate, once known. */
  impersonate(namespace: string | undefined): Promise<string | undefined>;
}

function federated(spec: GcpsmSpec, federation: FederationSpec, context: ProviderContext): TokenSource {
  const provider = `https:${federation.audience}`;
  const audiences = { sts: federation.audience, token: federation.serviceAccountRef.audiences ?? [provider] };
  return exchanged(spec, context, {
    serviceAccount: federation.serviceAccountRef,
    audiences: () => Promise.resolve(audiences),
    impersonate: () => Promise.resolve(federation.gcpServiceAccountEmail),
  });
}

function gke(spec: GcpsmSpec, identity: GkeIdentitySpec, context: ProviderContext): TokenSource {
  const annotations = context.serviceAccountAnnotations?.bind(context);
  const account = identity.serviceAccountRef;
  // Found once (what the metadata server says does not change), looked up again after a failure.
  let found: Promise<{ sts: string; token: string[] }> | undefined;
  const audiences = async () => {
    const { project, location, name } = await gkeCluster(identity, context.storeName);
    const pool = `${project}.svc.id.goog`;
    const cluster = `https://container.googleapis.com/v1/projects/${project}/locations/${location}/clusters/${name}`;
    return { sts: `identitynamespace:${pool}:${cluster}`, token: [pool, ...(account.audiences ?? [])] };
  };
  return exchanged(spec, context, {
    serviceAccount: account,
    audiences: () =>
      (found ??= audiences().catch((error: unknown) => {
        found = undefined;
        throw error;
      })),
    impersonate: async (namespace) =>
      annotations ? (await annotations({ name: account.name, namespace }))[GSA_ANNOTATION] : undefined,
  });
}

/** A TokenRequest token exchanged at STS, then for a service account's token when one is named. */
function exchanged(spec: GcpsmSpec, context: ProviderContext, exchange: Exchange): TokenSource {
  const account = exchange.serviceAccount;
  const namespace = account.namespace ?? context.namespace;
  const where = `${context.storeName}: service account ${namespace ?? "?"}/${account.name}`;
  if (!context.requestServiceAccountToken) {
    throw new InvalidSpecError(
      `${where}: workload identity needs service-account tokens, which this caller cannot request`,
    );
  }
  const requestToken = context.requestServiceAccountToken.bind(context);
  const sts = spec.endpoints?.sts ?? DEFAULT_STS;
  const iam = (spec.endpoints?.iamCredentials ?? DEFAULT_IAM_CREDENTIALS).replace(/\/+$/, "");
  const onCall = context.onCall?.bind(context);
  const cache = cachedToken(async () => {
    const audiences = await exchange.audiences();
    const gsa = await exchange.impersonate(namespace);
    const subject = await requestToken({ name: account.name, namespace, audiences: audiences.token });
    const client = new IdentityPoolClient({
      type: "external_account",
      audience: audiences.sts,
      subject_token_type: JWT_TOKEN_TYPE,
      token_url: sts,
      subject_token_supplier: { getSubjectToken: () => Promise.resolve(subject) },
      scopes: [CLOUD_PLATFORM],
      ...(gsa
        ? {
            service_account_impersonation_url: `${iam}/v1/projects/-/serviceAccounts/${encodeURIComponent(gsa)}:generateAccessToken`,
          }
        : {}),
      transporterOptions: { fetchImplementation: countingFetch(onCall, sts) },
    });
    // The STS exchange goes through a Gaxios of its own (StsCredentials); give it the client's
    // counting one, so that every exchange attempt is counted like the impersonation calls.
    const exchanger = (client as unknown as { stsCredential?: { transporter?: unknown } }).stsCredential;
    if (exchanger && "transporter" in exchanger) exchanger.transporter = client.transporter;
    try {
      const { token } = await client.getAccessToken();
      if (!token) throw new AccessDeniedError(`${where}: STS returned no access token`);
      const expiry = client.credentials.expiry_date;
      return { token, expiresAt: typeof expiry === "number" ? expiry : Date.now() + 3_600_000 };
    } catch (error) {
      throw exchangeError(error, `${where}: ${gsa ? "token exchange or impersonation" : "token exchange"}`);
    }
  });
  return {
    token: () => cache.get(),
    invalidate: () => cache.invalidate(),
    staticKey: false,
    perNamespace: account.namespace === undefined && context.namespace === undefined,
  };
}

/** A key file from a Secret, as self-signed JWTs for the API (no token endpoint call). */
function keyFile(ref: SecretKeySelector, context: ProviderContext): TokenSource {
  const where = `${context.storeName}: key file in Secret ${ref.name}`;
  let loaded: { jwt: JWT; at: number } | undefined;
  const client = async (): Promise<JWT> => {
    if (loaded && Date.now() - loaded.at < KEY_REREAD_MS) return loaded.jwt;
    const text = await context.readCredential(ref);
    let key: { client_email?: unknown; private_key?: unknown; private_key_id?: unknown };
    try {
      key = JSON.parse(text) as typeof key;
    } catch {
      throw new InvalidSpecError(`${where}, key "${ref.key}": not a JSON service-account key file`);
    }
    if (typeof key.client_email !== "string" || typeof key.private_key !== "string") {
      throw new InvalidSpecError(
        `${where}, key "${ref.key}": the key file has no client_email or private_key`,
      );
    }
    const jwt = new JWT({
      email: key.client_email,
      key: key.private_key,
      ...(typeof key.private_key_id === "string" ? { keyId: key.private_key_id } : {}),
      scopes: [CLOUD_PLATFORM],
    });
    // Self-signed JWTs carrying the scope: no call to an OAuth token endpoint.
    jwt.useJWTAccessWithScope = true;
    loaded = { jwt, at: Date.now() };
    return jwt;
  };
  return {
    async token() {
      const headers = await (await client()).getRequestHeaders();
      return bearer(headers.get("authorization"), where);
    },
    invalidate() {
      loaded = undefined;
    },
    staticKey: true,
    perNamespace: false,
  };
}

function applicationDefault(): TokenSource {
  const auth = new GoogleAuth({ scopes: [CLOUD_PLATFORM] });
  return {
    async token() {
      let header: string | null;
      try {
        const client = await auth.getClient();
        // A key file found by ADC signs its own JWTs, as auth.secretRef's does.
        if (client instanceof JWT) client.useJWTAccessWithScope = true;
        header = (await client.getRequestHeaders()).get("authorization");
      } catch (error) {
        throw new AccessDeniedError(
          `no Application Default Credentials could be resolved (${(error as Error).name})`,
        );
      }
      return bearer(header, "Application Default Credentials");
    },
    invalidate() {},
    staticKey: false,
    perNamespace: false,
  };
}

function bearer(header: string | null, where: string): string {
  const match = /^Bearer (.+)$/.exec(header ?? "");
  if (!match?.[1]) throw new AccessDeniedError(`${where}: no access token could be made`);
  return match[1];
}

/** Counts each HTTP attempt of the token exchange and of generateAccessToken. */
function countingFetch(onCall: ProviderContext["onCall"], sts: string): typeof fetch {
  return async (input, init) => {
    const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
    const call = url.startsWith(sts) ? "ExchangeToken" : "GenerateAccessToken";
    const started = performance.now();
    let result: CallResult = "error";
    try {
      const response = await fetch(input, init);
      result = response.ok
        ? "success"
        : response.status === 429
          ? "throttled"
          : response.status === 401 || response.status === 403 || response.status === 400
            ? "denied"
            : "error";
      return response;
    } finally {
      onCall?.(call, result, (performance.now() - started) / 1000);
    }
  };
}

/** A typed error for a failed exchange: the HTTP status and OAuth error code, never the token. */
function exchangeError(error: unknown, where: string): Error {
  if (error instanceof AccessDeniedError || error instanceof InvalidSpecError) return error;
  const e = error as { status?: number; response?: { status?: number; data?: { error?: unknown } } };
  const status = e.response?.status ?? e.status;
  const data = e.response?.data as { error?: unknown } | undefined;
  const code =
    typeof data?.error === "string"
      ? data.error
      : typeof (data?.error as { status?: unknown } | undefined)?.status === "string"
        ? String((data?.error as { status: string }).status)
        : undefined;
  const detail = [status && `HTTP ${status}`, code].filter(Boolean).join(", ");
  const message = `${where}: ${detail || (error as Error).name || "failed"}`;
  if (status === 429) return new ThrottledError(`${message}: throttled`);
  if (status !== undefined && status >= 400 && status < 500)
    return new AccessDeniedError(`${message}: denied`);
  return new BackendUnavailableError(`${message}: unavailable`);
}
