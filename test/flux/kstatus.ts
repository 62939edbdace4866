/**
 * A kstatus-equivalent status check for refsync's kinds, written from the rules of the
 * kstatus README (kubernetes-sigs/cli-utils, pkg/kstatus), which Flux's `wait: true` and
 * `healthChecks` use:
 *   - a resource being deleted is Terminating;
 *   - status.observedGeneration behind metadata.generation: the controller has not seen the
 *     latest spec yet → InProgress;
 *   - the abnormal-true conditions: Reconciling=True → InProgress, Stalled=True → Failed;
 *   - the Ready condition: True → Current, False → InProgress (kstatus cannot tell "making
 *     progress" from "doomed" on Ready alone: that is what Stalled is for);
 *   - no conditions at all → Current (kstatus' fallback for resources that publish none).
 */

export type KStatus = "InProgress" | "Failed" | "Current" | "Terminating" | "Unknown";

export interface KStatusResult {
  status: KStatus;
  message: string;
}

interface Conditioned {
  metadata?: { generation?: number; deletionTimestamp?: string };
  status?: {
    observedGeneration?: number;
    conditions?: { type: string; status: string; reason?: string; message?: string }[];
  };
}

export function computeKStatus(object: Conditioned): KStatusResult {
  if (object.metadata?.deletionTimestamp)
    return { status: "Terminating", message: "resource scheduled for deletion" };
  const generation = object.metadata?.generation;
  const observed = object.status?.observedGeneration;
  if (generation !== undefined && observed !== undefined && observed !== generation) {
    return { status: "InProgress", message: `generation ${generation}, observed generation ${observed}` };
  }
  const conditions = object.status?.conditions ?? [];
  const isTrue = (type: string) => conditions.find((c) => c.type === type && c.status === "True");
  const reconciling = isTrue("Reconciling");
  if (reconciling)
    return { status: "InProgress", message: reconciling.message ?? reconciling.reason ?? "Reconciling" };
  const stalled = isTrue("Stalled");
  if (stalled) return { status: "Failed", message: stalled.message ?? stalled.reason ?? "Stalled" };
  const ready = conditions.find((c) => c.type === "Ready");
  if (ready?.status === "True") return { status: "Current", message: "Resource is Ready" };
  if (ready) return { status: "InProgress", message: ready.message ?? ready.reason ?? "Ready is not True" };
  return { status: "Current", message: "Resource is current" };
}
