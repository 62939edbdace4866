/** Plain-object ControllerViews and resources for the unit tests of the dashboard model, page and metrics. */
import type { Condition, ExternalSecret, SecretStore } from "../../src/api/v1alpha1.ts";
import type { CachedSecret, ControllerView, EventSummary } from "../../src/controller/view.ts";

export function ready(
  status: Condition["status"],
  reason = status === "True" ? "SecretSynced" : "NotFound",
): Condition {
  return {
    type: "Ready",
    status,
    reason,
    message: `${reason} message`,
    lastTransitionTime: "2026-01-01T00:00:00Z",
  };
}

export function es(
  namespace: string,
  name: string,
  options: {
    refreshTime?: string;
    condition?: Condition;
    interval?: string;
    policy?: ExternalSecret["spec"]["refreshPolicy"];
    store?: string;
    generation?: number;
    observed?: number;
  } = {},
): ExternalSecret {
  return {
    apiVersion: "refsync.dev/v1alpha1",
    kind: "ExternalSecret",
    metadata: { name, namespace, generation: options.generation ?? 1 },
    spec: {
      secretStoreRef: { name: options.store ?? "vault" },
      refreshInterval: options.interval,
      refreshPolicy: options.policy,
    },
    status: {
      conditions: options.condition ? [options.condition] : undefined,
      observedGeneration: options.observed ?? 1,
      refreshTime: options.refreshTime,
    },
  };
}

export function store(
  kind: SecretStore["kind"],
  namespace: string | undefined,
  name: string,
  condition?: Condition,
): SecretStore {
  return {
    apiVersion: "refsync.dev/v1alpha1",
    kind,
    metadata: { name, namespace, generation: 1 },
    spec: { provider: { vault: {} } },
    status: { conditions: condition ? [condition] : undefined, observedGeneration: 1 },
  };
}

export function view(parts: {
  externalSecrets?: ExternalSecret[];
  stores?: SecretStore[];
  secrets?: CachedSecret[];
  events?: EventSummary[];
  leader?: boolean;
}): ControllerView {
  return {
    externalSecrets: () => parts.externalSecrets ?? [],
    stores: () => parts.stores ?? [],
    managedSecrets: () => parts.secrets ?? [],
    recentEvents: () => parts.events ?? [],
    queueDepth: () => 3,
    inflightReads: () => 1,
    isLeader: () => parts.leader ?? true,
  };
}
