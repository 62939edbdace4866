/**
 * TypeScript shapes of the refsync.dev/v1alpha1 resources, shared by the
 * plugin (which emits ExternalSecrets) and the controller (which reconciles
 * them). The specs are the zod schemas of ./schema.ts (`z.infer`), which also
 * validate them and generate the CRDs of manifests/crds/ (`npm run crds`);
 * metadata and status are written here. Defaults are applied in code (see
 * `defaults`), never by the API server, so Argo CD sees no drift.
 */
import type { z } from "zod";
import type { clusterExternalSecretSpecSchema, externalSecretSpecSchema, storeSpecSchema } from "./schema.ts";

export const GROUP = "refsync.dev";
export const VERSION = "v1alpha1";
export const API_VERSION = `${GROUP}/${VERSION}`;

export const LABEL_MANAGED_BY = "app.kubernetes.io/managed-by";
export const MANAGED_BY = "refsync";
export const ANNOTATION_DATA_HASH = "refsync.dev/data-hash";
export const ANNOTATION_FORCE_SYNC = "refsync.dev/force-sync";
export const ANNOTATION_REFS = "refsync.dev/refs";
export const ANNOTATION_SOURCE_REVISION = "refsync.dev/source-revision";
/** On an object the plugin converted from ESO's: the fields it left out and why, one per line. */
export const ANNOTATION_CONVERSION_NOTES = "refsync.dev/conversion-notes";
export const ANNOTATION_RELOAD = "refsync.dev/reload";
export const ANNOTATION_RESTARTED_FOR = "refsync.dev/restarted-for";
/** On a target Secret: HMAC per key (JSON), and when its data last changed. */
export const ANNOTATION_KEY_HASHES = "refsync.dev/key-hashes";
export const ANNOTATION_CHANGED_AT = "refsync.dev/changed-at";
/** On a target Secret: the key names its last data change touched (comma-separated). */
export const ANNOTATION_CHANGED_KEYS = "refsync.dev/changed-keys";
export const FIELD_MANAGER = "refsync";
/** On a target Secret: the ExternalSecret (same namespace) that writes it. */
export const ANNOTATION_EXTERNAL_SECRET = "refsync.dev/external-secret";
export const FINALIZER = "refsync.dev/externalsecret";
/** On a ClusterExternalSecret: its ExternalSecrets are deleted before it goes (as ESO's cleanup finalizer). */
export const CLUSTER_EXTERNAL_SECRET_FINALIZER = "refsync.dev/clusterexternalsecret";

export interface ObjectMeta {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  generation?: number;
  resourceVersion?: string;
  uid?: string;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  finalizers?: string[];
  ownerReferences?: {
    apiVersion: string;
    kind: string;
    name: string;
    uid: string;
    controller?: boolean;
    blockOwnerDeletion?: boolean;
  }[];
}

export interface Condition {
  type: string;
  status: "True" | "False" | "Unknown";
  reason: string;
  message: string;
  lastTransitionTime: string;
  observedGeneration?: number;
}

export type SecretStoreSpec = z.infer<typeof storeSpecSchema>;
/** `spec.provider`: exactly one key set; each provider validates (and types) its own section. */
export type StoreProviderSpec = SecretStoreSpec["provider"];
/** `spec.events`: the store's change sources (src/controller/events/). */
export type StoreEvents = NonNullable<SecretStoreSpec["events"]>;
export type LabelSelectorRequirement = NonNullable<
  NonNullable<NonNullable<SecretStoreSpec["conditions"]>[number]["namespaceSelector"]>["matchExpressions"]
>[number];

export interface StoreStatus {
  conditions?: Condition[];
  observedGeneration?: number;
}

export interface SecretStore {
  apiVersion: typeof API_VERSION;
  kind: "SecretStore" | "ClusterSecretStore";
  metadata: ObjectMeta;
  spec: SecretStoreSpec;
  status?: StoreStatus;
}

export type ExternalSecretSpec = z.infer<typeof externalSecretSpecSchema>;
export type RefreshPolicy = NonNullable<ExternalSecretSpec["refreshPolicy"]>;
export type ExternalSecretTarget = NonNullable<ExternalSecretSpec["target"]>;
export type CreationPolicy = NonNullable<ExternalSecretTarget["creationPolicy"]>;
export type DeletionPolicy = NonNullable<ExternalSecretTarget["deletionPolicy"]>;
export type ExternalSecretData = NonNullable<ExternalSecretSpec["data"]>[number];
export type RemoteRef = ExternalSecretData["remoteRef"];
export type DecodingStrategy = NonNullable<RemoteRef["decodingStrategy"]>;
export type ExternalSecretDataFrom = NonNullable<ExternalSecretSpec["dataFrom"]>[number];
export type RolloutTarget = NonNullable<NonNullable<ExternalSecretSpec["rollout"]>["targets"]>[number];

export interface ExternalSecretStatus {
  conditions?: Condition[];
  observedGeneration?: number;
  refreshTime?: string;
  /** HMAC of the Secret's data, never the data. */
  dataHash?: string;
  binding?: { name: string };
  /** Generation and force-sync token of the last successful sync (a new token means sync now). */
  syncedResourceVersion?: string;
  consumers?: { workloads: number; stalePods: number };
  /**
   * Leases of dynamic secrets the Secret's data came from, so that a
   * restarted controller renews them instead of reading new credentials.
   * Lease IDs and times only: nothing a value could be derived from.
   */
  leases?: LeaseStatus[];
}

export interface LeaseStatus {
  /** The backend's lease ID (Vault: `database/creds/<role>/<random>`), an identifier, not a credential. */
  id: string;
  renewable: boolean;
  /** Seconds granted by the last read or renewal: what a renewal asks for again. */
  durationSeconds: number;
  /** When the lease runs out unless renewed (RFC 3339, seconds). */
  expiresAt: string;
  /** The store it was read through (`SecretStore/<ns>/<name>`, `ClusterSecretStore/<name>`), which renews and revokes it. */
  store?: string;
}

export interface ExternalSecret {
  apiVersion: typeof API_VERSION;
  kind: "ExternalSecret";
  metadata: ObjectMeta;
  spec: ExternalSecretSpec;
  status?: ExternalSecretStatus;
}

export type ClusterExternalSecretSpec = z.infer<typeof clusterExternalSecretSpecSchema>;
export type NamespaceSelector = NonNullable<ClusterExternalSecretSpec["namespaceSelectors"]>[number];

export interface ClusterExternalSecretStatus {
  conditions?: Condition[];
  observedGeneration?: number;
  /** Name of the ExternalSecrets it created. */
  externalSecretName?: string;
  /** Selected namespaces without its ExternalSecret, and why (sorted by namespace). */
  failedNamespaces?: { namespace: string; reason?: string }[];
  /** Namespaces holding its ExternalSecret (sorted). */
  provisionedNamespaces?: string[];
}

export interface ClusterExternalSecret {
  apiVersion: typeof API_VERSION;
  kind: "ClusterExternalSecret";
  metadata: ObjectMeta;
  spec: ClusterExternalSecretSpec;
  status?: ClusterExternalSecretStatus;
}

/** Defaults applied in code, so the CRD schemas carry none. */
export const defaults = {
  refreshInterval: "1h",
  refreshPolicy: "Periodic" as RefreshPolicy,
  creationPolicy: "Owner" as CreationPolicy,
  deletionPolicy: "Retain" as DeletionPolicy,
  decodingStrategy: "None" as DecodingStrategy,
  /** ClusterExternalSecret spec.refreshTime: ESO's controller requeues every hour. */
  clusterExternalSecretRefreshTime: "1h",
};
