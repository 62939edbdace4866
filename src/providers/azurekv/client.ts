// The Azure Key Vault provider client: ProviderClient over Microsoft's
// official @azure/keyvault-secrets (and -keys, -certificates for ESO's `key/`
// and `cert/` objects), with the SDK's challenge-based authentication and
// its retry policies (Retry-After honoured on 429). A token Key Vault refuses
// before its expiry is renewed and the request sent again, once. Every HTTP
// attempt is counted; every logical call takes one token of the store's rate
// limit.
import { failedValidation } from "../call-result.ts";
import { attribution, subjectSuffix } from "../attribution.ts";
import { CertificateClient } from "@azure/keyvault-certificates";
import { KeyClient, type JsonWebKey } from "@azure/keyvault-keys";
import { SecretClient, type KeyVaultSecret, type SecretClientOptions } from "@azure/keyvault-secrets";
import { isDeepStrictEqual } from "node:util";
import { InvalidSpecError, SecretNotFoundError } from "../../errors.ts";
import type {
  FindQuery,
  ProviderClient,
  ProviderContext,
  ReadRequest,
  SecretValue,
  ValidationResult,
  WriteResult,
} from "../types.ts";
import { storeCredential, type StoreCredential } from "./credentials.ts";
import { callResultOfStatus, toProviderError } from "./errors.ts";
import { objectRef, versionOf, type ObjectRef } from "./keys.ts";
import { azureMetadata } from "./metadata.ts";
import { vaultEndpoint, type AzureKvProviderSpec, type VaultEndpoint } from "./spec.ts";

type PipelinePolicy = NonNullable<SecretClientOptions["additionalPolicies"]>[number]["policy"];

/** SDK retries per call (exponential, and Retry-After on 429/503); then the controller's per-key back-off. */
export const MAX_RETRIES = 3;
/** The content type refsync migrate writes. */
export const JSON_CONTENT_TYPE = "application/json";

/**
 * Content types whose value Key Vault holds as base64 text: a certificate's
 * PKCS#12 bundle, and any type that says base64 (`application/octet-stream;base64`).
 * Their values are returned as the bytes they encode.
 */
export function isBase64ContentType(contentType: string | undefined): boolean {
  if (!contentType) return false;
  const type = contentType.toLowerCase();
  return type === "application/x-pkcs12" || /(^|[;\s+/=])base64($|[;\s])/.test(type);
}

export class AzureKeyVaultClient implements ProviderClient {
  readonly provider = "azurekv" as const;
  readonly metersOwnRequests = true;
  readonly #context: ProviderContext;
  readonly #endpoint: VaultEndpoint;
  readonly #credential: StoreCredential;
  readonly #secrets: SecretClient;
  readonly #options: {
    retryOptions: { maxRetries: number };
    userAgentOptions: { userAgentPrefix: string };
    additionalPolicies: SecretClientOptions["additionalPolicies"];
  };
  /** WorkloadIdentity whose service account lives in each ExternalSecret's namespace. */
  readonly #perNamespace: boolean;
  #keys?: KeyClient;
  #certificates?: CertificateClient;

  constructor(spec: AzureKvProviderSpec, context: ProviderContext) {
    this.#context = context;
    this.#endpoint = vaultEndpoint(spec);
    this.#credential = storeCredential(spec, this.#endpoint, context);
    this.#perNamespace =
      (spec.authType ?? "WorkloadIdentity") === "WorkloadIdentity" &&
      spec.serviceAccountRef !== undefined &&
      spec.serviceAccountRef.namespace === undefined;
    this.#options = {
      retryOptions: { maxRetries: MAX_RETRIES },
      // Key Vault's audit log shows the user agent as ClientInfo.
      userAgentOptions: { userAgentPrefix: attribution(context.namespace) },
      additionalPolicies: [
        // In this order: a request sent again with a renewed token is counted twice.
        { policy: reauthenticate(this.#credential), position: "perRetry" },
        { policy: attemptCounter(context), position: "perRetry" },
      ],
    };
    this.#secrets = new SecretClient(this.#endpoint.url, this.#credential, this.#options);
  }

  async read(request: ReadRequest, signal?: AbortSignal): Promise<SecretValue> {
    const object = this.#object(request.key);
    const version = versionOf(request.version, request.key, this.#context.storeName);
    const options = { ...(version ? { version } : {}), ...(signal ? { abortSignal: signal } : {}) };
    switch (object.type) {
      case "secret": {
        const secret = await this.#send("get secret", request.key, () =>
          this.#secrets.getSecret(object.name, options),
        );
        if (request.metadata) return azureMetadata(object.name, secret.properties);
        return this.#secretValue(secret, request.key);
      }
      case "key": {
        const key = await this.#send("get key", request.key, () =>
          this.#keyClient().getKey(object.name, options),
        );
        if (request.metadata) return azureMetadata(object.name, key.properties);
        if (!key.key)
          throw new SecretNotFoundError(`${this.#where("get key", request.key)}: no key material`);
        return {
          data: publicJwk(key.key),
          ...(key.properties.version ? { version: key.properties.version } : {}),
        };
      }
      case "cert": {
        const cert = await this.#send("get certificate", request.key, () =>
          version
            ? this.#certificateClient().getCertificateVersion(
                object.name,
                version,
                signal ? { abortSignal: signal } : {},
              )
            : this.#certificateClient().getCertificate(object.name, signal ? { abortSignal: signal } : {}),
        );
        if (request.metadata) return azureMetadata(object.name, cert.properties);
        if (!cert.cer)
          throw new SecretNotFoundError(`${this.#where("get certificate", request.key)}: no certificate`);
        return {
          data: pem(cert.cer),
          ...(cert.properties.version ? { version: cert.properties.version } : {}),
        };
      }
    }
  }

  /** Enabled secrets whose name matches the regexp (and starts with `path`) and whose tags all match. */
  async list(query: FindQuery, signal?: AbortSignal): Promise<string[]> {
    const regexp = query.name ? compile(query.name.regexp, this.#context.storeName) : undefined;
    const prefix = query.path ?? "";
    const names: string[] = [];
    const pages = this.#secrets.listPropertiesOfSecrets(signal ? { abortSignal: signal } : {}).byPage();
    for (;;) {
      // Each page is one request (the next follows Key Vault's nextLink): one rate-limit token each.
      const page = await this.#send("list secrets", prefix || "*", () => pages.next());
      if (page.done) break;
      for (const secret of page.value) {
        if (secret.enabled === false || secret.managed) continue;
        if (!secret.name.startsWith(prefix)) continue;
        if (regexp && !regexp.test(secret.name)) continue;
        const tags = secret.tags ?? {};
        if (!Object.entries(query.tags ?? {}).every(([k, v]) => tags[k] === v)) continue;
        names.push(secret.name);
      }
    }
    return names.sort();
  }

  /** The version id a reference resolves to now (the value read is discarded at once). */
  async currentVersion(request: ReadRequest, signal?: AbortSignal): Promise<string | undefined> {
    try {
      return (await this.read(request, signal)).version;
    } catch (error) {
      if (error instanceof SecretNotFoundError) return undefined;
      throw error;
    }
  }

  /** Writes `data` as a JSON secret (content type application/json); the same value again is "unchanged". */
  async write(key: string, data: Record<string, string>, signal?: AbortSignal): Promise<WriteResult> {
    const object = this.#object(key);
    if (object.type !== "secret") {
      throw new InvalidSpecError(
        `${this.#where("set secret", key)}: refsync migrate writes secrets, not ${object.type}s`,
      );
    }
    let existing: SecretValue | undefined;
    try {
      existing = await this.read({ key }, signal);
    } catch (error) {
      if (!(error instanceof SecretNotFoundError)) throw error;
    }
    if (existing && sameJson(existing.data, data)) return { outcome: "unchanged", version: existing.version };
    const written = await this.#send("set secret", key, () =>
      this.#secrets.setSecret(object.name, JSON.stringify(data), {
        contentType: JSON_CONTENT_TYPE,
        ...(signal ? { abortSignal: signal } : {}),
      }),
    );
    return { outcome: existing ? "updated" : "created", version: written.properties.version };
  }

  /**
   * Proves the identity and the vault without reading a value: one page of
   * one secret's properties. A 403 still proves both (Entra ID issued the
   * token and the vault accepted it): an identity whose role covers single
   * secrets may not list the vault, and that is no reason to stop its reads.
   */
  async validate(signal?: AbortSignal): Promise<ValidationResult> {
    const warnings = this.#credential.staticCredentials
      ? [
          {
            type: "StaticCredentials",
            reason: "StaticCredentials",
            message:
              "The store uses a long-lived client secret or certificate from a Secret; prefer authType WorkloadIdentity, whose tokens rotate by themselves.",
          },
        ]
      : undefined;
    // A ClusterSecretStore acting for each ExternalSecret's namespace has no identity to check until one uses it.
    if (this.#perNamespace && !this.#context.namespace) return { status: "Ready" };
    try {
      const pages = this.#secrets
        .listPropertiesOfSecrets(signal ? { abortSignal: signal } : {})
        .byPage({ maxPageSize: 1 });
      await this.#context.takeToken?.(signal);
      await pages.next();
      return { status: "Ready", ...(warnings ? { warnings } : {}) };
    } catch (error) {
      if ((error as { statusCode?: number }).statusCode === 403) {
        return { status: "Ready", ...(warnings ? { warnings } : {}) };
      }
      const mapped = toProviderError(error, `${this.#context.storeName}: list secrets`);
      return failedValidation(mapped, warnings);
    }
  }

  async close(): Promise<void> {
    // The SDK clients hold no sockets of their own beyond keep-alive connections, which time out.
  }

  #object(key: string): ObjectRef {
    return objectRef(key, this.#endpoint.name, this.#context.storeName);
  }

  #keyClient(): KeyClient {
    return (this.#keys ??= new KeyClient(this.#endpoint.url, this.#credential, this.#options));
  }

  #certificateClient(): CertificateClient {
    return (this.#certificates ??= new CertificateClient(
      this.#endpoint.url,
      this.#credential,
      this.#options,
    ));
  }

  #secretValue(secret: KeyVaultSecret, key: string): SecretValue {
    if (secret.value === undefined)
      throw new SecretNotFoundError(`${this.#where("get secret", key)}: no value`);
    const version = secret.properties.version;
    let data: string | Uint8Array = secret.value;
    if (isBase64ContentType(secret.properties.contentType)) {
      const text = secret.value.replace(/\s+/g, "");
      if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) {
        throw new InvalidSpecError(
          `${this.#where("get secret", key)}: content type ${secret.properties.contentType} says base64, but the value is not`,
        );
      }
      data = new Uint8Array(Buffer.from(text, "base64"));
    }
    return { data, ...(version ? { version } : {}) };
  }

  #where(operation: string, key: string): string {
    return `${this.#context.storeName}: ${operation} "${key}"`;
  }

  /** One logical call: a rate-limit token, then the SDK (its retries inside); errors typed and named. */
  async #send<T>(operation: string, key: string, call: () => Promise<T>): Promise<T> {
    await this.#context.takeToken?.();
    try {
      return await call();
    } catch (error) {
      throw toProviderError(error, this.#where(operation, key));
    }
  }
}

/**
 * Renews a token Key Vault refuses before its expiry (401 to a request that
 * carried it: revoked, or its principal's sessions invalidated). The SDK's
 * challenge policy would answer that 401 with its own cached copy of the
 * same token, so every read would fail until that copy neared expiry. Here,
 * behind the challenge policy, the store's credential drops the token and
 * fetches one new token (shared by every request refused with it), and the
 * request is sent again with it, at most once per logical call; requests the
 * SDK still signs with the old token carry the new one. A CAE claims
 * challenge is left to the SDK, which asks for a token with those claims.
 */
function reauthenticate(credential: StoreCredential): PipelinePolicy {
  const renewed = new WeakSet<object>();
  return {
    name: "refsyncReauthenticate",
    async sendRequest(request, next) {
      const sent = bearerOf(request.headers.get("authorization"));
      const replacement = sent && credential.replacement(sent);
      if (replacement) request.headers.set("authorization", `Bearer ${replacement}`);
      const response = await next(request);
      const refused = bearerOf(request.headers.get("authorization"));
      if (response.status !== 401 || !refused || renewed.has(request)) return response;
      if (/insufficient_claims/.test(response.headers.get("www-authenticate") ?? "")) return response;
      // The SDK's retries and challenge answer send this same request object again: one renewal for all.
      renewed.add(request);
      const fresh = await credential.renew(refused);
      if (!fresh || fresh === refused) return response;
      request.headers.set("authorization", `Bearer ${fresh}`);
      return next(request);
    },
  };
}

function bearerOf(header: string | undefined): string | undefined {
  return header?.startsWith("Bearer ") ? header.slice("Bearer ".length) : undefined;
}

/** The SDK's user agent of each request, before the subjects of the attempt under way were added. */
const sdkAgents = new WeakMap<object, string>();

/**
 * Counts each HTTP attempt (retries included) by Key Vault operation, with
 * the x-ms-request-id Key Vault answered, and appends whom the call serves
 * to the user agent. It sits inside the retry policy and behind the
 * challenge policy, so the challenge's unauthenticated first request is
 * counted as "Challenge".
 */
function attemptCounter(context: ProviderContext): PipelinePolicy {
  return {
    name: "refsyncAttemptCounter",
    async sendRequest(request, next) {
      const started = performance.now();
      const operation = operationOf(request.method, new URL(request.url).pathname);
      const agent = sdkAgents.get(request) ?? request.headers.get("user-agent") ?? "";
      sdkAgents.set(request, agent);
      request.headers.set("user-agent", agent + subjectSuffix(context.subject?.() ?? [], 512));
      try {
        const response = await next(request);
        const challenged = response.status === 401 && !request.headers.has("authorization");
        const requestId = response.headers.get("x-ms-request-id");
        context.onCall?.(
          challenged ? "Challenge" : operation,
          challenged ? "success" : callResultOfStatus(response.status),
          (performance.now() - started) / 1000,
          requestId ? { requestId } : undefined,
        );
        return response;
      } catch (error) {
        context.onCall?.(operation, "error", (performance.now() - started) / 1000);
        throw error;
      }
    },
  };
}

/** `GET /secrets/db/<v>` → GetSecret, `GET /secrets` → ListSecrets, `PUT /secrets/db` → SetSecret… */
function operationOf(method: string, path: string): string {
  const [collection, name] = path.split("/").filter(Boolean);
  const noun =
    collection === "keys"
      ? "Key"
      : collection === "certificates"
        ? "Certificate"
        : collection === "secrets"
          ? "Secret"
          : "Object";
  if (name === undefined) return `List${noun}s`;
  return `${method === "PUT" ? "Set" : method === "GET" ? "Get" : method.charAt(0) + method.slice(1).toLowerCase()}${noun}`;
}

/** The public JSON Web Key (RFC 7517 member names, binary members base64url): Key Vault never returns private parts. */
export function publicJwk(key: JsonWebKey): Record<string, unknown> {
  const b64 = (bytes: Uint8Array | undefined) =>
    bytes ? Buffer.from(bytes).toString("base64url") : undefined;
  const jwk: Record<string, unknown> = {
    kid: key.kid,
    kty: key.kty,
    key_ops: key.keyOps,
    n: b64(key.n),
    e: b64(key.e),
    crv: key.crv,
    x: b64(key.x),
    y: b64(key.y),
  };
  return Object.fromEntries(Object.entries(jwk).filter(([, v]) => v !== undefined));
}

/** A DER certificate as PEM text. */
export function pem(der: Uint8Array): string {
  const lines =
    Buffer.from(der)
      .toString("base64")
      .match(/.{1,64}/g) ?? [];
  return `-----BEGIN CERTIFICATE-----\n${lines.join("\n")}\n-----END CERTIFICATE-----\n`;
}

function compile(source: string, store: string): RegExp {
  try {
    return new RegExp(source);
  } catch (error) {
    throw new InvalidSpecError(`${store}: find.name.regexp "${source}": ${(error as Error).message}`);
  }
}

function sameJson(stored: SecretValue["data"], data: Record<string, string>): boolean {
  if (typeof stored !== "string") return false;
  try {
    return isDeepStrictEqual(JSON.parse(stored), data);
  } catch {
    return false;
  }
}
