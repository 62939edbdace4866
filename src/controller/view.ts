/**
 * The one interface through which server/ (dashboard, JSON API) reads the
 * controller, defined here below server/ so the controller never imports it.
 * What the dashboard, the JSON API and the state gauges read: a read-only
 * view of the controller's informer caches and in-memory state. Every page
 * view and every scrape is served from these caches, never from extra API
 * calls. The controller builds one ControllerView; tests build one from
 * plain objects.
 */
import {
  defaults,
  type Condition,
  type ExternalSecret,
  type ObjectMeta,
  type SecretStore,
} from "../api/v1alpha1.ts";
import { getCondition } from "../kube/conditions.ts";
import { refreshIntervalMs } from "./externalsecret/schedule.ts";
import type { EventSummary } from "../kube/events.ts";

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

/** The `store` label of every metric: `SecretStore/<ns>/<name>` or `ClusterSecretStore/<name>`. */
export function storeLabel(kind: string, namespace: string | undefined, name: string): string {
  return kind === "ClusterSecretStore"
    ? `ClusterSecretStore/${name}`
    : `SecretStore/${namespace ?? ""}/${name}`;
}

export function readyCondition(conditions: Condition[] | undefined): Condition | undefined {
  return getCondition(conditions, "Ready");
}

export interface SecretAge {
  /** Seconds since the Secret was last refreshed; undefined before the first sync. */
  ageSeconds?: number;
  /** The refresh interval in seconds, for Periodic ExternalSecrets only. */
  refreshIntervalSeconds?: number;
}

export function secretAge(es: ExternalSecret, now: number): SecretAge {
  const refreshed = es.status?.refreshTime ? Date.parse(es.status.refreshTime) : NaN;
  const ageSeconds = Number.isNaN(refreshed) ? undefined : Math.max(0, (now - refreshed) / 1000);
  const periodic = (es.spec.refreshPolicy ?? defaults.refreshPolicy) === "Periodic";
  return { ageSeconds, refreshIntervalSeconds: periodic ? intervalSeconds(es) : undefined };
}

/** Undefined for "0" (never refresh) and for an invalid interval (the controller reports that as InvalidSpec). */
function intervalSeconds(es: ExternalSecret): number | undefined {
  try {
    return refreshIntervalMs(es) / 1000 || undefined;
  } catch {
    return undefined;
  }
}

export function targetSecretName(es: ExternalSecret): string {
  return es.spec.target?.name ?? es.metadata.name;
}
