/**
 * What the dashboard, the JSON API and the state gauges read: a read-only
 * view of the controller's informer caches and in-memory state. Every page
 * view and every scrape is served from these caches, never from extra API
 * calls. The controller builds one ControllerView; tests build one from
 * plain objects.
 */
import type { ExternalSecret, ObjectMeta, SecretStore } from "../../api/v1alpha1.ts";
import type { EventSummary } from "../../kube/events.ts";

export type { EventSummary };

/** A Secret as cached by the controller; only key names are ever read from it. */
export interface CachedSecret {
  metadata: ObjectMeta;
  type?: string;
  data?: Record<string, string>;
}

/** A workload that consumes a Secret and its pods that still run an old version of it. */
export interface SecretConsumer {
  kind: string;
  name: string;
  /** Names of pods started before the Secret's current data (not yet rolled). */
  stalePods: string[];
}

/**
 * Who consumes a Secret. Provided by the rollout/rotation work (issue 8);
 * until it is wired in, the dashboard shows the counts the ExternalSecret's
 * `status.consumers` carries, or "unknown".
 */
export interface ConsumerSource {
  consumersOf(namespace: string, secretName: string): SecretConsumer[] | undefined;
}

export interface ControllerView {
  externalSecrets(): readonly ExternalSecret[];
  /** SecretStores and ClusterSecretStores. */
  stores(): readonly SecretStore[];
  /** Secrets the controller manages (its label-selected informer). */
  managedSecrets(): readonly CachedSecret[];
  recentEvents(): readonly EventSummary[];
  queueDepth(): number;
  /** Backend reads currently in flight. */
  inflightReads(): number;
  isLeader(): boolean;
  consumers?: ConsumerSource;
}
