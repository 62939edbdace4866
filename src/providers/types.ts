/**
 * The provider contract, learnt from ESO's SecretsClient and AVP's Backend.
 * A provider is a factory that builds a client from a store's provider spec.
 * Its primitive is `read(key, version)`: the whole secret at one version, so
 * that the shared read cache in `src/store` can key on (store, key, version)
 * and serve every property of that secret from one backend call. Property
 * selection and decoding happen once, in `src/providers/extract.ts`.
 */

import type { z } from "zod";
import type { ProviderName } from "../refs/reference.ts";
import type { KubernetesConnection } from "./kubernetes/spec.ts";

/** A whole secret as the backend returned it. */
export interface SecretValue {
  /**
   * Structured backends (Vault KV, Kubernetes Secrets, fake) return a map of
   * key → value (string, number, boolean, object…, as the backend holds it;
   * Kubernetes bytes as Uint8Array). Blob backends (AWS SecretString) return
   * the string or bytes; JSON is parsed lazily by the extractor.
   */
  data: Record<string, unknown> | string | Uint8Array;
  /** The backend's version id of what was read (Vault KV version, AWS VersionId…). */
  version?: string;
  /** For leased (dynamic) secrets, the lease to renew and revoke. */
  lease?: Lease;
  /** How a metadata read's properties are selected when ESO's provider has its own rules. */
  metadata?: MetadataShape;
}

/**
 * `labels`: data is the JSON of `{annotations, labels}` (GCP, Kubernetes), and a property is
 * `labels`, `annotations` or one entry as `labels.KEY`. `tags` (Azure): a property is a tag, or
 * `TAG.PATH` inside a tag holding JSON; dataFrom.extract reads `extract`, ESO's flattened map.
 * escapeHtml: whether JSON escapes <, > and & as Go's json.Marshal does.
 */
export type MetadataShape =
  | { shape: "labels"; escapeHtml: boolean }
  | { shape: "tags"; escapeHtml: boolean; extract: Record<string, string> };

export interface Lease {
  id: string;
  durationSeconds: number;
  renewable: boolean;
}

export interface ReadRequest {
  key: string;
  version?: string;
  /**
   * ESO's `metadataPolicy: Fetch`: the secret's metadata (AWS tags, Vault KV v2 metadata and
   * custom_metadata, GCP and Kubernetes labels and annotations, Azure tags) instead of its value.
   */
  metadata?: boolean;
}

/** One id per distinct read (key, version, metadata or value), for caches and de-duplication. */
export function readRequestId(r: ReadRequest): string {
  return JSON.stringify(r.metadata ? [r.key, r.version ?? null, "metadata"] : [r.key, r.version ?? null]);
}

export interface FindQuery {
  /** Regular expression matched against the secret's name/key. */
  name?: { regexp: string };
  /** Tags that must all match (AWS tags; Vault custom metadata). */
  tags?: Record<string, string>;
  /** Optional path/prefix to restrict the search to. */
  path?: string;
}

export type ValidationStatus = "Ready" | "Unknown" | "Error";

export interface ValidationResult {
  status: ValidationStatus;
  /** Why, for Unknown/Error; never a credential. */
  message?: string;
  /** Conditions the store should show besides Ready, e.g. StaticCredentials. */
  warnings?: { type: string; reason: string; message: string }[];
}

export interface ProviderClient {
  readonly provider: ProviderName;
  /** Reads one whole secret. Throws the typed errors of `./errors.ts`. */
  read(request: ReadRequest, signal?: AbortSignal): Promise<SecretValue>;
  /**
   * Reads several secrets in as few backend calls as the backend allows
   * (AWS BatchGetSecretValue). Results are in request order; a failed entry is an Error.
   */
  readMany?(requests: ReadRequest[], signal?: AbortSignal): Promise<(SecretValue | Error)[]>;
  /**
   * The client takes a rate-limit token (ProviderContext.takeToken) and
   * reports (ProviderContext.onCall) each backend request itself, so a batch
   * or a coalesced read costs what it costs the backend; the caller then
   * neither charges nor counts its calls into the client.
   */
  readonly metersOwnRequests?: boolean;
  /** Names/keys of the secrets matching a find query (dataFrom.find). */
  list(query: FindQuery, signal?: AbortSignal): Promise<string[]>;
  /** Cheap version check for inline-mode freshness: the current version id of a key. */
  currentVersion?(request: ReadRequest, signal?: AbortSignal): Promise<string | undefined>;
  /** Writes a secret (used by `refsync migrate`). Returns the new version id. */
  write?(key: string, data: Record<string, string>, signal?: AbortSignal): Promise<WriteResult>;
  renewLease?(lease: Lease, signal?: AbortSignal): Promise<Lease>;
  revokeLease?(lease: Lease, signal?: AbortSignal): Promise<void>;
  validate(signal?: AbortSignal): Promise<ValidationResult>;
  close(): Promise<void>;
}

export interface WriteResult {
  /** "created", "updated", or "unchanged" when the backend already held the same value. */
  outcome: "created" | "updated" | "unchanged";
  version?: string;
}

export interface AuditKey {
  key: string;
  property?: string;
  version?: string;
}

/** What a provider knows about one backend request besides its result. */
export interface CallDetail {
  /** The backend's own request id (AWS x-amzn-RequestId, Vault request_id, Azure x-ms-request-id). */
  requestId?: string;
  /** The identity the request was made as (Vault role and token accessor, AWS role ARN and session…). */
  identity?: Record<string, string>;
  /** The keys the request named. */
  keys?: AuditKey[];
}

/** Result label for provider-call metrics. */
export type CallResult = "success" | "error" | "not_found" | "denied" | "throttled";

/**
 * The narrow capabilities a provider gets from whoever builds it (controller
 * or plugin). Providers never import the controller or a Kubernetes client.
 */
export interface ProviderContext {
  /** Store name for messages and metrics (`SecretStore/ns/name` or `ClusterSecretStore/name` or the plugin's store name). */
  storeName: string;
  /** Namespace whose identity the store acts for (the ExternalSecret's, for ClusterSecretStores), if any. */
  namespace?: string;
  /** Reads one key of a Kubernetes Secret the store spec points at (credentials). */
  readCredential(
    ref: { name: string; key: string; namespace?: string },
    signal?: AbortSignal,
  ): Promise<string>;
  /**
   * Reads one key of a ConfigMap the store spec points at (a CA bundle); `field` is the spec field
   * that names it, for messages. A ClusterSecretStore must name the namespace. Absent where
   * ConfigMaps cannot be read (the plugin).
   */
  readConfigMap?(
    ref: { name: string; key: string; namespace?: string; field: string },
    signal?: AbortSignal,
  ): Promise<string>;
  /** Requests a service-account token through the TokenRequest API. */
  requestServiceAccountToken?(
    /** expirationSeconds: the token's lifetime; unset: 600 (ESO's). */
    ref: { name: string; namespace?: string; audiences?: string[]; expirationSeconds?: number },
    signal?: AbortSignal,
  ): Promise<string>;
  /** Reads a ServiceAccount's annotations (AWS: eks.amazonaws.com/role-arn). */
  serviceAccountAnnotations?(
    ref: { name: string; namespace?: string },
    signal?: AbortSignal,
  ): Promise<Record<string, string>>;
  /** Waits for one token of the store's rate limit (used by clients with `metersOwnRequests`). */
  takeToken?(signal?: AbortSignal): Promise<void>;
  /** Counts every backend call, including logins and renewals. */
  onCall?(call: string, result: CallResult, durationSeconds: number, detail?: CallDetail): void;
  /**
   * Tells the audit record of the operation under way what the backend said about a request
   * (its request id, the identity used) when the client does not report the call itself.
   * Counts nothing.
   */
  noteRequest?(detail: CallDetail): void;
  /**
   * Whom the call under way serves (`es/<namespace>/<name>`, `app/<name>`), read when a request
   * is made, for attribution at the backend (a Vault request header); none outside an operation.
   */
  subject?(): string[];
  /**
   * For the Kubernetes provider: a Secret reader on the cluster and as the identity the store's
   * `server`, `auth` and `authRef` name (all unset: the local cluster, as whoever built the context).
   * A builder that cannot honour one of them throws InvalidSpecError naming it; it never ignores one.
   */
  kubernetes?(connection: KubernetesConnection): KubernetesSecretReader;
}

export interface KubernetesSecretReader {
  readSecret(
    namespace: string,
    name: string,
    signal?: AbortSignal,
  ): Promise<{
    data: Record<string, Uint8Array>;
    resourceVersion?: string;
    labels?: Record<string, string>;
    /** The Secret's own labels and annotations, unset when it has none (metadataPolicy Fetch). */
    metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> };
  }>;
  listSecrets(
    namespace: string,
    labelSelector?: string,
    signal?: AbortSignal,
  ): Promise<{ name: string; labels: Record<string, string> }[]>;
}

export interface ProviderFactory {
  readonly name: ProviderName;
  /** The key of this provider in a store's `spec.provider` (`vault`, `aws`, `kubernetes`, `fake`). */
  readonly specKey: string;
  /** The strict schema of that section (every field known; tests walk it for unknown fields), built on first call. */
  specSchema(): z.ZodType;
  /** Validates the provider spec (throws InvalidSpecError naming the field) and builds a client. */
  create(spec: unknown, context: ProviderContext): ProviderClient;
}
