/**
 * The stale-pod report: for each managed Secret, the workloads that consume
 * it and their running pods that read it through env vars and started before
 * its data last changed. Those pods still hold old values; mounted files are
 * refreshed by the kubelet and are never counted.
 */
import type { SecretConsumer } from "../view.ts";
import { secretUsage, type PodSpec, type SecretUsage } from "./consumers.ts";

export interface Pod {
  metadata: {
    name: string;
    creationTimestamp?: string;
    labels?: Record<string, string>;
    ownerReferences?: { kind: string; name: string; controller?: boolean }[];
  };
  spec?: PodSpec;
  status?: { phase?: string; startTime?: string };
}

export interface KnownWorkload {
  kind: string;
  name: string;
  usage: Map<string, SecretUsage>;
}

/** The workload a pod belongs to (through its ReplicaSet for Deployments and Rollouts), or the pod itself. */
export function podOwner(pod: Pod): { kind: string; name: string } {
  const owner = pod.metadata.ownerReferences?.find((o) => o.controller) ?? pod.metadata.ownerReferences?.[0];
  if (!owner) return { kind: "Pod", name: pod.metadata.name };
  if (owner.kind !== "ReplicaSet") return { kind: owner.kind, name: owner.name };
  const labels = pod.metadata.labels ?? {};
  const rolloutHash = labels["rollouts-pod-template-hash"];
  const hash = rolloutHash ?? labels["pod-template-hash"];
  const name = hash && owner.name.endsWith(`-${hash}`) ? owner.name.slice(0, -hash.length - 1) : owner.name;
  return { kind: rolloutHash ? "Rollout" : "Deployment", name };
}

/** Secret name → its consumers with their stale pods. `changedAt`: when each Secret's data last changed (ISO). */
export function consumerReport(
  secrets: { name: string; changedAt?: string }[],
  workloads: readonly KnownWorkload[],
  pods: readonly Pod[],
): Map<string, SecretConsumer[]> {
  const report = new Map<string, SecretConsumer[]>();
  // Secret name → running pods that read it through env vars (one pass over the pods).
  const envReaders = new Map<string, { pod: Pod; owner: { kind: string; name: string } }[]>();
  for (const pod of pods) {
    if (pod.status?.phase !== "Running") continue;
    for (const [name, usage] of secretUsage(pod.spec)) {
      if (!usage.env) continue;
      const list = envReaders.get(name) ?? [];
      list.push({ pod, owner: podOwner(pod) });
      envReaders.set(name, list);
    }
  }
  for (const secret of secrets) {
    const entries = new Map<string, SecretConsumer>();
    const entry = (kind: string, name: string) => {
      const key = `${kind}/${name}`;
      let e = entries.get(key);
      if (!e) entries.set(key, (e = { kind, name, stalePods: [] }));
      return e;
    };
    for (const w of workloads) if (w.usage.has(secret.name)) entry(w.kind, w.name);
    // Pod times have whole seconds: a pod started in the change's second counts as fresh.
    const changedAt = secret.changedAt ? Math.floor(Date.parse(secret.changedAt) / 1000) * 1000 : undefined;
    for (const { pod, owner } of envReaders.get(secret.name) ?? []) {
      const e = entry(owner.kind, owner.name);
      const started = Date.parse(pod.status?.startTime ?? pod.metadata.creationTimestamp ?? "");
      if (changedAt !== undefined && started < changedAt) e.stalePods.push(pod.metadata.name);
    }
    report.set(secret.name, [...entries.values()]);
  }
  return report;
}
