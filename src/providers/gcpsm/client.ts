// The Google Cloud Secret Manager provider client: ProviderClient over the
// official @google-cloud/secret-manager (gRPC). The API has no batch read, so
// each distinct secret version costs one AccessSecretVersion; the shared read
// cache, single flight and the store's rate limit keep it to one per slot.
//
// Authentication: the token source (credentials.ts) gives a bearer token that
// goes with each call; the channel carries only TLS (the store's CA, if any).
// Retries: the client's own retry codes and back-off for each method (its
// shipped client config), run here so that every attempt is counted and
// charged to the store's rate limit; at most MAX_ATTEMPTS, after which the
// controller's per-key back-off takes over.
import { createRequire } from "node:module";
import { setTimeout as sleep } from "node:timers/promises";
import { isDeepStrictEqual } from "node:util";
import { SecretManagerServiceClient } from "@google-cloud/secret-manager";
import { credentials as grpcCredentials } from "@grpc/grpc-js";
import { PassThroughClient } from "google-auth-library";
import {
  AccessDeniedError,
  InvalidSpecError,
  RefsyncError,
  SecretNotFoundError,
  SecretVersionStateError,
} from "../../errors.ts";
import type {
  FindQuery,
  ProviderClient,
  ProviderContext,
  ReadRequest,
  SecretValue,
  ValidationResult,
  WriteResult,
} from "../types.ts";
import { goMetadataJson } from "../extract.ts";
import { attribution } from "../attribution.ts";
import { tokenSource, type TokenSource } from "./credentials.ts";
import { Code, callResult, statusCode, toProviderError } from "./errors.ts";
import type { ProjectGcpsmSpec } from "./spec.ts";

/** Attempts per call, the first included (the client's own config allows up to 10 minutes of retries). */
export const MAX_ATTEMPTS = 3;
const PAGE_SIZE = 100;
const SECRET_ID = /^[A-Za-z0-9_-]{1,255}$/;
const VERSION = /^[A-Za-z0-9_-]{1,63}$/;
const LABEL = /^[\p{Ll}\p{Lo}0-9_-]{1,63}$/u;
const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

type Client = SecretManagerServiceClient;
/** The gax call options this client sets (a subset of google-gax's CallOptions). */
interface CallOptions {
  retry: null;
  otherArgs: { headers: Record<string, string> };
  autoPaginate?: boolean;
}

interface Backoff {
  codes: Set<number>;
  initialMs: number;
  multiplier: number;
  maxMs: number;
}

/** The client's own retry settings of one method, read from the config it ships. */
function retrySettings(method: string): Backoff {
  const none: Backoff = { codes: new Set(), initialMs: 100, multiplier: 1.3, maxMs: 60_000 };
  try {
    const config = createRequire(import.meta.url)(
      "@google-cloud/secret-manager/build/src/v1/secret_manager_service_client_config.json",
    ) as {
      interfaces: Record<
        string,
        {
          retry_codes: Record<string, string[]>;
          retry_params: Record<
            string,
            {
              initial_retry_delay_millis: number;
              retry_delay_multiplier: number;
              max_retry_delay_millis: number;
            }
          >;
          methods: Record<string, { retry_codes_name: string; retry_params_name: string }>;
        }
      >;
    };
    const service = config.interfaces["google.cloud.secretmanager.v1.SecretManagerService"];
    const settings = service?.methods[method];
    if (!service || !settings) return none;
    const params = service.retry_params[settings.retry_params_name];
    const codes = (service.retry_codes[settings.retry_codes_name] ?? []).map(
      (name) => (Code as Record<string, number>)[name] ?? -1,
    );
    return {
      codes: new Set(codes),
      initialMs: params?.initial_retry_delay_millis ?? none.initialMs,
      multiplier: params?.retry_delay_multiplier ?? none.multiplier,
      maxMs: params?.max_retry_delay_millis ?? none.maxMs,
    };
  } catch {
    return none;
  }
}

export class GcpsmClient implements ProviderClient {
  readonly provider = "gcpsm" as const;
  /** Every attempt takes a rate-limit token and is counted here (#call). */
  readonly metersOwnRequests = true;
  readonly #spec: ProjectGcpsmSpec;
  readonly #context: ProviderContext;
  readonly #tokens: TokenSource;
  readonly #parent: string;
  readonly #retry = new Map<string, Backoff>();
  #client: Promise<Client> | undefined;

  constructor(spec: ProjectGcpsmSpec, context: ProviderContext) {
    this.#spec = spec;
    this.#context = context;
    this.#tokens = tokenSource(spec, context);
    this.#parent = spec.location
      ? `projects/${spec.projectID}/locations/${spec.location}`
      : `projects/${spec.projectID}`;
  }

  async read(request: ReadRequest, signal?: AbortSignal): Promise<SecretValue> {
    if (request.metadata) return this.#metadata(request.key, signal);
    const name = `${this.#secretName(request.key)}/versions/${this.#version(request.version)}`;
    const access = (version: string) =>
      this.#call(
        "AccessSecretVersion",
        request.key,
        (client, options) => client.accessSecretVersion({ name: version }, options),
        signal,
      );
    const [response] = await access(name).catch(async (error: unknown) => {
      // Only a key without version whose latest is disabled or destroyed falls back.
      if (!(this.#fallsBack(request) && error instanceof SecretVersionStateError)) throw error;
      return access(await this.#newestEnabled(request.key, signal));
    });
    const data = response.payload?.data;
    if (data === undefined || data === null) {
      throw new SecretNotFoundError(
        `${this.#where("AccessSecretVersion", request.key)}: the version holds no payload`,
      );
    }
    const bytes = typeof data === "string" ? Buffer.from(data, "base64") : new Uint8Array(data);
    const version = versionOf(response.name);
    return { data: text(bytes) ?? bytes, ...(version ? { version } : {}) };
  }

  /** metadataPolicy Fetch: the secret's labels and annotations (GetSecret), as ESO reads them. */
  async #metadata(key: string, signal?: AbortSignal): Promise<SecretValue> {
    const [secret] = await this.#call(
      "GetSecret",
      key,
      (client, options) => client.getSecret({ name: this.#secretName(key) }, options),
      signal,
    );
    // Go's protobuf maps are nil when empty, and encoding/json writes nil maps as null.
    const map = (m: Record<string, string> | null | undefined) => (m && Object.keys(m).length ? m : null);
    return {
      data: goMetadataJson({ annotations: map(secret.annotations), labels: map(secret.labels) }, true),
      metadata: { shape: "labels", escapeHtml: true },
    };
  }

  /**
   * LatestOrFetch's fallback: the name of the secret's most recently created ENABLED version
   * (ListSecretVersions, state:ENABLED, every page); none: `latest` again, whose access then
   * fails as it did.
   */
  async #newestEnabled(key: string, signal?: AbortSignal): Promise<string> {
    const parent = this.#secretName(key);
    let newest: { name: string; at: bigint } | undefined;
    let pageToken = "";
    do {
      const [versions, , response] = await this.#call(
        "ListSecretVersions",
        key,
        (client, options) =>
          client.listSecretVersions(
            { parent, filter: "state:ENABLED", pageSize: PAGE_SIZE, ...(pageToken ? { pageToken } : {}) },
            { ...options, autoPaginate: false },
          ),
        signal,
      );
      for (const version of versions) {
        const time = version.createTime;
        const at = BigInt(String(time?.seconds ?? 0)) * 1_000_000_000n + BigInt(time?.nanos ?? 0);
        // Strictly newer, as ESO: of equal creation times the first listed (the API lists newest first).
        if (version.name && (newest === undefined || at > newest.at)) newest = { name: version.name, at };
      }
      pageToken = response?.nextPageToken ?? "";
    } while (pageToken);
    return newest?.name ?? `${parent}/versions/latest`;
  }

  /** The number of the version the request names now (GetSecretVersion: no payload is read). */
  async currentVersion(request: ReadRequest, signal?: AbortSignal): Promise<string | undefined> {
    const name = `${this.#secretName(request.key)}/versions/${this.#version(request.version)}`;
    const [version] = await this.#call(
      "GetSecretVersion",
      request.key,
      (client, options) => client.getSecretVersion({ name }, options),
      signal,
    );
    // The version read() would return: LatestOrFetch's fallback when latest is not ENABLED.
    if (this.#fallsBack(request) && version.state !== "ENABLED" && version.state !== 1) {
      return versionOf(await this.#newestEnabled(request.key, signal));
    }
    return versionOf(version.name);
  }

  /** Whether a read of `request` falls back when latest is disabled or destroyed (LatestOrFetch, as ESO). */
  #fallsBack(request: ReadRequest): boolean {
    return this.#spec.secretVersionSelectionPolicy === "LatestOrFetch" && !request.version;
  }

  /** Secret ids matching the labels (server-side filter) and the name regexp (here), all pages. */
  async list(query: FindQuery, signal?: AbortSignal): Promise<string[]> {
    const terms: string[] = [];
    for (const [key, value] of Object.entries(query.tags ?? {})) {
      if (!LABEL.test(key)) {
        throw new InvalidSpecError(
          `${this.#context.storeName}: find.tags: "${key}" is not a valid label key`,
        );
      }
      terms.push(`labels.${key}=${quote(value)}`);
    }
    if (query.path) terms.push(`name:${quote(query.path)}`);
    const nameRegexp = query.name ? this.#regexp(query.name.regexp) : undefined;
    const ids: string[] = [];
    let pageToken = "";
    do {
      const [secrets, , response] = await this.#call(
        "ListSecrets",
        "find",
        (client, options) =>
          client.listSecrets(
            {
              parent: this.#parent,
              pageSize: PAGE_SIZE,
              ...(terms.length ? { filter: terms.join(" AND ") } : {}),
              ...(pageToken ? { pageToken } : {}),
            },
            { ...options, autoPaginate: false },
          ),
        signal,
      );
      for (const secret of secrets) {
        const id = (secret.name ?? "").split("/").at(-1) ?? "";
        if (!id || (query.path && !id.startsWith(query.path))) continue;
        const labels = secret.labels ?? {};
        if (!Object.entries(query.tags ?? {}).every(([k, v]) => labels[k] === v)) continue;
        if (nameRegexp && !nameRegexp.test(id)) continue;
        ids.push(id);
      }
      pageToken = response?.nextPageToken ?? "";
    } while (pageToken);
    return ids.sort();
  }

  /**
   * Adds `data` as a JSON version (AddSecretVersion), creating the secret (automatic
   * replication, or in the store's location) when it does not exist; the same value as the
   * latest version again is "unchanged" and adds none.
   */
  async write(key: string, data: Record<string, string>, signal?: AbortSignal): Promise<WriteResult> {
    const parent = this.#secretName(key);
    let existing: SecretValue | undefined;
    try {
      existing = await this.read({ key }, signal);
    } catch (error) {
      if (!(error instanceof SecretNotFoundError)) throw error;
    }
    if (existing && sameJson(existing.data, data)) return { outcome: "unchanged", version: existing.version };
    let outcome: WriteResult["outcome"] = "updated";
    if (!existing) {
      const created = await this.#exists(key, signal);
      if (!created) {
        const secretId = parent.split("/").at(-1) as string;
        await this.#call(
          "CreateSecret",
          key,
          (client, options) =>
            client.createSecret(
              {
                parent: this.#parent,
                secretId,
                secret: this.#spec.location ? {} : { replication: { automatic: {} } },
              },
              options,
            ),
          signal,
        );
        outcome = "created";
      }
    }
    const [version] = await this.#call(
      "AddSecretVersion",
      key,
      (client, options) =>
        client.addSecretVersion(
          { parent, payload: { data: Buffer.from(JSON.stringify(data), "utf8") } },
          options,
        ),
      signal,
    );
    const id = versionOf(version.name);
    return { outcome, ...(id ? { version: id } : {}) };
  }

  /**
   * Proves the credentials by fetching a token and listing one secret of the project (needs
   * secretmanager.secrets.list); a caller allowed only to access versions is Unknown, not Error.
   */
  async validate(signal?: AbortSignal): Promise<ValidationResult> {
    const warnings = this.#tokens.staticKey
      ? [
          {
            type: "StaticCredentials",
            reason: "StaticCredentials",
            message:
              "The store uses a long-lived service-account key from a Secret; prefer auth.workloadIdentityFederation or auth.workloadIdentity, whose tokens expire by themselves.",
          },
        ]
      : undefined;
    // A ClusterSecretStore acting as each ExternalSecret's namespace has no identity to check yet.
    if (this.#tokens.perNamespace) return { status: "Ready" };
    try {
      const [secrets] = await this.#call(
        "ListSecrets",
        "validate",
        (client, options) =>
          client.listSecrets({ parent: this.#parent, pageSize: 1 }, { ...options, autoPaginate: false }),
        signal,
      );
      // Secret Manager names resources by project number: a projectNumber of another project would
      // let keys by number read that project, so it must be the one Google reports (when it has a secret).
      const reported = /^projects\/(\d+)\//.exec(secrets[0]?.name ?? "")?.[1];
      const { projectID, projectNumber } = this.#spec;
      if (projectNumber !== undefined && reported !== undefined && reported !== projectNumber) {
        return {
          status: "Error",
          message: `${this.#context.storeName}: projectNumber ${projectNumber} is not the number of project ${projectID}: Secret Manager names it ${reported}`,
          ...(warnings ? { warnings } : {}),
        };
      }
      return { status: "Ready", ...(warnings ? { warnings } : {}) };
    } catch (error) {
      const mapped = error instanceof RefsyncError ? error : toProviderError(error, this.#context.storeName);
      const reason = mapped instanceof RefsyncError ? mapped.reason : undefined;
      // Denied listing may still be allowed reading: only a failed token is a definite error.
      const tokenFailed =
        reason === "AccessDenied" && /token exchange|impersonation|key file/.test(mapped.message);
      return {
        status: tokenFailed || reason === "InvalidSpec" ? "Error" : "Unknown",
        message: mapped.message,
        ...(warnings ? { warnings } : {}),
      };
    }
  }

  async close(): Promise<void> {
    const client = await this.#client?.catch(() => undefined);
    await client?.close();
  }

  /** Whether the secret exists (GetSecret), so that write adds a version rather than creating it. */
  async #exists(key: string, signal?: AbortSignal): Promise<boolean> {
    try {
      await this.#call(
        "GetSecret",
        key,
        (client, options) => client.getSecret({ name: this.#secretName(key) }, options),
        signal,
      );
      return true;
    } catch (error) {
      if (error instanceof SecretNotFoundError) return false;
      throw error;
    }
  }

  /**
   * The resource name of a key: a secret id of the store's project, or a full
   * `projects/…/secrets/<id>` name naming the project by its id or, when the
   * store sets projectNumber, its number (sent as written: Google takes both).
   */
  #secretName(key: string): string {
    const full = /^projects\/([^/]+)(?:\/locations\/([^/]+))?\/secrets\/([^/]+)$/.exec(key);
    if (full) {
      const [, project, location, id] = full;
      const { projectID, projectNumber } = this.#spec;
      if (project !== projectID && project !== projectNumber) {
        const hint =
          /^\d+$/.test(project as string) && projectNumber === undefined
            ? ` (if ${project} is its number, set spec.provider.gcpsm.projectNumber)`
            : "";
        throw new AccessDeniedError(
          `${this.#context.storeName}: "${key}" is outside the store's project ${projectID}${projectNumber ? ` (number ${projectNumber})` : ""}${hint}`,
        );
      }
      if ((location ?? undefined) !== this.#spec.location) {
        throw new InvalidSpecError(
          `${this.#context.storeName}: "${key}" is ${location ? `in location ${location}` : "a global secret"}, but the store reads ${this.#spec.location ? `location ${this.#spec.location}` : "global secrets"}`,
        );
      }
      if (!SECRET_ID.test(id as string)) throw this.#badKey(key);
      return key;
    }
    if (!SECRET_ID.test(key)) throw this.#badKey(key);
    return `${this.#parent}/secrets/${key}`;
  }

  #badKey(key: string): InvalidSpecError {
    return new InvalidSpecError(
      `${this.#context.storeName}: "${key}" is not a secret id (letters, digits, - and _) or projects/<project>/secrets/<id>`,
    );
  }

  #version(version: string | undefined): string {
    if (version === undefined || version === "") return "latest";
    const bare = version.replace(/^versions\//, "");
    if (!VERSION.test(bare)) {
      throw new InvalidSpecError(
        `${this.#context.storeName}: version "${version}" must be latest, a version number or an alias`,
      );
    }
    return bare;
  }

  #regexp(source: string): RegExp {
    try {
      return new RegExp(source);
    } catch (error) {
      throw new InvalidSpecError(
        `${this.#context.storeName}: find.name.regexp "${source}": ${(error as Error).message}`,
      );
    }
  }

  #where(operation: string, key: string): string {
    return `${this.#context.storeName}: ${operation} "${key}"`;
  }

  #grpc(): Promise<Client> {
    this.#client ??= this.#makeClient();
    return this.#client;
  }

  async #makeClient(): Promise<Client> {
    const ca = await this.#ca();
    const endpoint =
      this.#spec.endpoints?.secretManager ??
      (this.#spec.location
        ? `secretmanager.${this.#spec.location}.rep.googleapis.com`
        : "secretmanager.googleapis.com");
    const [host, port] = endpoint.split(":");
    return new SecretManagerServiceClient({
      apiEndpoint: host,
      port: port ? Number(port) : 443,
      // The bearer token goes with each call (#call); the channel is TLS only.
      sslCreds: grpcCredentials.createSsl(ca ? Buffer.from(ca, "utf8") : null),
      authClient: new PassThroughClient(),
      universeDomain: "googleapis.com",
      // Cloud Audit Logs show it as requestMetadata.callerSuppliedUserAgent.
      "grpc.primary_user_agent": attribution(this.#context.namespace),
    });
  }

  async #ca(): Promise<string | undefined> {
    const { caBundle, caProvider } = this.#spec;
    if (caBundle !== undefined) return Buffer.from(caBundle, "base64").toString("utf8");
    if (!caProvider) return undefined;
    const { type, ...ref } = caProvider;
    if (type === "Secret") return this.#context.readCredential(ref);
    if (!this.#context.readConfigMap) {
      throw new InvalidSpecError(
        `${this.#context.storeName}: caProvider: type ConfigMap is not supported here; use caBundle or a Secret`,
      );
    }
    return this.#context.readConfigMap({ ...ref, field: "caProvider" });
  }

  /**
   * One API call with the client's retry codes and back-off: each attempt takes a rate-limit
   * token, carries a fresh bearer token and is counted. UNAUTHENTICATED drops the cached token
   * and tries once more (a token revoked or expired early); other errors become typed errors.
   */
  async #call<T>(
    operation: string,
    key: string,
    send: (client: Client, options: CallOptions) => Promise<T>,
    signal?: AbortSignal,
  ): Promise<T> {
    const client = await this.#grpc();
    let backoff = this.#retry.get(operation);
    if (!backoff) this.#retry.set(operation, (backoff = retrySettings(operation)));
    let delay = backoff.initialMs;
    let reauthenticated = false;
    for (let attempt = 1; ; attempt++) {
      signal?.throwIfAborted();
      await this.#context.takeToken?.(signal);
      const token = await this.#tokens.token();
      const started = performance.now();
      try {
        const promise = send(client, {
          retry: null,
          otherArgs: { headers: { authorization: `Bearer ${token}` } },
        });
        const cancel = () => (promise as { cancel?: () => void }).cancel?.();
        signal?.addEventListener("abort", cancel, { once: true });
        try {
          const result = await promise;
          this.#context.onCall?.(operation, "success", (performance.now() - started) / 1000);
          return result;
        } finally {
          signal?.removeEventListener("abort", cancel);
        }
      } catch (error) {
        const code = statusCode(error);
        this.#context.onCall?.(operation, callResult(code), (performance.now() - started) / 1000);
        if (signal?.aborted) throw signal.reason;
        if (code === Code.UNAUTHENTICATED && !reauthenticated) {
          reauthenticated = true;
          this.#tokens.invalidate();
          continue;
        }
        if (code !== undefined && backoff.codes.has(code) && attempt < MAX_ATTEMPTS) {
          // Full jitter, as Google's clients do.
          await sleep(Math.round(delay * (0.5 + Math.random() / 2)), undefined, { signal });
          delay = Math.min(delay * backoff.multiplier, backoff.maxMs);
          continue;
        }
        throw toProviderError(error, this.#where(operation, key));
      }
    }
  }
}

/** The version number at the end of a version's resource name. */
function versionOf(name: string | null | undefined): string | undefined {
  return name ? /\/versions\/([^/]+)$/.exec(name)?.[1] : undefined;
}

/** The payload as text when it is UTF-8, so JSON and text read as AWS SecretString; else the bytes. */
function text(bytes: Uint8Array): string | undefined {
  try {
    return utf8.decode(bytes);
  } catch {
    return undefined;
  }
}

/** A value in a ListSecrets filter: bare when plain, else double-quoted. */
function quote(value: string): string {
  return /^[A-Za-z0-9_-]+$/.test(value) ? value : `"${value.replace(/(["\\])/g, "\\$1")}"`;
}

function sameJson(stored: SecretValue["data"], data: Record<string, string>): boolean {
  if (typeof stored !== "string") return false;
  try {
    return isDeepStrictEqual(JSON.parse(stored), data);
  } catch {
    return false;
  }
}
