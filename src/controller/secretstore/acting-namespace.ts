/**
 * Whether a ClusterSecretStore reads differently for different namespaces.
 * It acts for the ExternalSecret's namespace wherever a reference of its
 * provider section names no namespace (a serviceAccountRef or secretRef is
 * then looked up there), for the Kubernetes provider without
 * remoteNamespace, and for AWS, whose role session and user agent name the
 * namespace (CloudTrail tells the tenants apart). Such a store gets a
 * session, and a read cache, per namespace. Any other one reads the same
 * for every namespace: one session and one cache serve them all, so the
 * ExternalSecrets a ClusterExternalSecret spreads over many namespaces cost
 * one backend read per key. Who may use the store at all is still checked
 * per ExternalSecret (spec.conditions), before any read.
 */
import type { SecretStore } from "../../api/v1alpha1.ts";

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** A reference (an object with a name) that names no namespace, anywhere under `node`. */
function hasUnnamespacedRef(node: unknown): boolean {
  if (Array.isArray(node)) return node.some(hasUnnamespacedRef);
  if (!isRecord(node)) return false;
  if (typeof node.name === "string" && node.namespace === undefined) return true;
  return Object.values(node).some(hasUnnamespacedRef);
}

export function actsPerNamespace(store: Pick<SecretStore, "kind" | "spec">): boolean {
  if (store.kind !== "ClusterSecretStore") return false;
  const provider = store.spec.provider as Record<string, unknown>;
  if (provider.aws !== undefined) return true;
  const kubernetes = provider.kubernetes;
  if (kubernetes !== undefined && !(isRecord(kubernetes) && typeof kubernetes.remoteNamespace === "string"))
    return true;
  return hasUnnamespacedRef(provider);
}
