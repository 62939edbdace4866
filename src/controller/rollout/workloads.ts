/**
 * The four workload kinds that consume Secrets: how to find their pod
 * template, how to restart them, and whether their last rollout finished,
 * is still going, or is stuck.
 */
import { ANNOTATION_RELOAD, ANNOTATION_RESTARTED_FOR } from "../../api/v1alpha1.ts";
import type { KubeClient } from "../../kube/client.ts";
import type { ResourceType } from "../../kube/resources.ts";
import type { PodSpec } from "./consumers.ts";

export const workloadTypes = {
  Deployment: { group: "apps", version: "v1", plural: "deployments", kind: "Deployment", namespaced: true },
  StatefulSet: {
    group: "apps",
    version: "v1",
    plural: "statefulsets",
    kind: "StatefulSet",
    namespaced: true,
  },
  DaemonSet: { group: "apps", version: "v1", plural: "daemonsets", kind: "DaemonSet", namespaced: true },
  Rollout: {
    group: "argoproj.io",
    version: "v1alpha1",
    plural: "rollouts",
    kind: "Rollout",
    namespaced: true,
  },
} satisfies Record<string, ResourceType>;

export type WorkloadKind = keyof typeof workloadTypes;

export const podType: ResourceType = {
  group: "",
  version: "v1",
  plural: "pods",
  kind: "Pod",
  namespaced: true,
};

interface Condition {
  type: string;
  status: string;
  reason?: string;
}

export interface Workload {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace?: string;
    uid?: string;
    generation?: number;
    resourceVersion?: string;
    creationTimestamp?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  spec?: {
    replicas?: number;
    progressDeadlineSeconds?: number;
    restartAt?: string;
    template?: { metadata?: { annotations?: Record<string, string> }; spec?: PodSpec };
  };
  status?: {
    observedGeneration?: number | string;
    replicas?: number;
    updatedReplicas?: number;
    readyReplicas?: number;
    availableReplicas?: number;
    desiredNumberScheduled?: number;
    updatedNumberScheduled?: number;
    numberAvailable?: number;
    phase?: string;
    restartedAt?: string;
    conditions?: Condition[];
  };
}

/**
 * Workloads of the namespace that opt in with the annotation
 * `refsync.dev/reload: "true"`. The API server cannot filter by annotation,
 * so this is a metadata-only list, made when a Secret changes, not a cache.
 */
export async function annotatedWorkloads(
  kube: KubeClient,
  kind: WorkloadKind,
  namespace: string,
  signal?: AbortSignal,
): Promise<string[]> {
  const names: string[] = [];
  for await (const item of kube.listMetadata(workloadTypes[kind], { namespace, signal }))
    if (item.metadata.annotations?.[ANNOTATION_RELOAD] === "true") names.push(item.metadata.name);
  return names;
}

/**
 * The restart patch (JSON merge patch). Apps workloads roll when their pod
 * template changes; an Argo Rollout has its own field, `spec.restartAt`, which
 * restarts its pods without a new revision (a template change would start a canary).
 */
export function restartPatch(kind: WorkloadKind, restartedFor: string, now: Date): unknown {
  if (kind === "Rollout") {
    return {
      metadata: { annotations: { [ANNOTATION_RESTARTED_FOR]: restartedFor } },
      spec: { restartAt: now.toISOString().replace(/\.\d+Z$/, "Z") },
    };
  }
  return { spec: { template: { metadata: { annotations: { [ANNOTATION_RESTARTED_FOR]: restartedFor } } } } };
}

/** The `<secret>@<hash>` marks of the workload's last restart (on the template, or on a Rollout itself). */
export function restartedFor(w: Workload): string | undefined {
  const annotations = w.kind === "Rollout" ? w.metadata.annotations : w.spec?.template?.metadata?.annotations;
  return annotations?.[ANNOTATION_RESTARTED_FOR];
}

export type RolloutState = "complete" | "progressing" | "stuck";

/**
 * Where the workload's rollout is. Stuck: the controller said so
 * (Progressing=False, e.g. ProgressDeadlineExceeded; an Argo Rollout
 * Degraded), or it is still not done `deadlineMs` after our restart.
 */
export function rolloutState(
  kind: WorkloadKind,
  w: Workload,
  restartedAt: number | undefined,
  now: number,
  defaultDeadlineMs: number,
): RolloutState {
  const s = w.status ?? {};
  const progressing = s.conditions?.find((c) => c.type === "Progressing");
  if (progressing?.status === "False" || (kind === "Rollout" && s.phase === "Degraded")) return "stuck";
  if (isComplete(kind, w)) return "complete";
  const deadlineMs =
    w.spec?.progressDeadlineSeconds !== undefined ? w.spec.progressDeadlineSeconds * 1000 : defaultDeadlineMs;
  return restartedAt !== undefined && now - restartedAt > deadlineMs ? "stuck" : "progressing";
}

function isComplete(kind: WorkloadKind, w: Workload): boolean {
  const s = w.status ?? {};
  if (kind === "Rollout") {
    const restarted =
      !w.spec?.restartAt || (s.restartedAt !== undefined && s.restartedAt >= w.spec.restartAt);
    return s.phase === "Healthy" && restarted;
  }
  const observed = Number(s.observedGeneration ?? 0) >= (w.metadata.generation ?? 0);
  if (kind === "DaemonSet") {
    const want = s.desiredNumberScheduled ?? 0;
    return observed && (s.updatedNumberScheduled ?? 0) >= want && (s.numberAvailable ?? 0) >= want;
  }
  const want = w.spec?.replicas ?? 1;
  const available = kind === "StatefulSet" ? s.readyReplicas : s.availableReplicas;
  return observed && (s.updatedReplicas ?? 0) >= want && (available ?? 0) >= want;
}
