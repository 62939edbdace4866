/**
 * Which updates of a reconciled object (ExternalSecret, ClusterExternalSecret)
 * call for a reconcile: a new spec (generation), a deletion, a changed
 * annotation (refsync.dev/force-sync among them) or finalizer. Not a status
 * or resourceVersion alone: our own status writes come back as updates too.
 */
import type { ObjectMeta } from "../api/v1alpha1.ts";

export function needsReconcile(obj: { metadata: ObjectMeta }, old: { metadata: ObjectMeta }): boolean {
  const m = obj.metadata;
  const o = old.metadata;
  return (
    m.generation !== o.generation ||
    m.deletionTimestamp !== o.deletionTimestamp ||
    JSON.stringify(m.annotations ?? {}) !== JSON.stringify(o.annotations ?? {}) ||
    JSON.stringify(m.finalizers ?? []) !== JSON.stringify(o.finalizers ?? [])
  );
}

/**
 * An update of an ExternalSecret's labels or ownerReferences: nothing for its
 * own reconcile, but its ClusterExternalSecret sets both again, as ESO's
 * ClusterExternalSecret controller (Owns without predicates) does at once.
 */
export function ownerMetadataChanged(obj: { metadata: ObjectMeta }, old: { metadata: ObjectMeta }): boolean {
  const m = obj.metadata;
  const o = old.metadata;
  return (
    JSON.stringify(m.labels ?? {}) !== JSON.stringify(o.labels ?? {}) ||
    JSON.stringify(m.ownerReferences ?? []) !== JSON.stringify(o.ownerReferences ?? [])
  );
}
