/**
 * Which store an ExternalSecret may use. A namespaced SecretStore serves only
 * its own namespace (the lookup never crosses namespaces); a
 * ClusterSecretStore serves the namespaces its `spec.conditions` allow: any
 * one condition matching is enough, and no conditions means every namespace.
 * Within a condition, as in ESO, a namespace is allowed when its name is
 * listed, its labels match the selector, or a regex (Go's, unanchored)
 * matches its name.
 */
import { goRegexpMatches } from "../../api/go-regexp.ts";
import type { StoreRef } from "../../api/store-refs.ts";
import type { LabelSelectorRequirement, SecretStore, SecretStoreSpec } from "../../api/v1alpha1.ts";
import { AccessDeniedError, StoreNotReadyError } from "../../errors.ts";

export interface StoreLookup {
  secretStore(namespace: string, name: string): SecretStore | undefined;
  clusterSecretStore(name: string): SecretStore | undefined;
  namespaceLabels(namespace: string): Promise<Record<string, string>>;
}

/** How metrics, caches and messages name a store. */
export function storeId(store: Pick<SecretStore, "kind" | "metadata">): string {
  return store.kind === "ClusterSecretStore"
    ? `ClusterSecretStore/${store.metadata.name}`
    : `SecretStore/${store.metadata.namespace ?? ""}/${store.metadata.name}`;
}

/** The store `ref` names for an object of `namespace`; `field` (secretStoreRef, data[0].sourceRef.storeRef) is named in hints. */
export async function resolveStore(
  ref: Pick<StoreRef, "name"> & Partial<Pick<StoreRef, "kind">>,
  namespace: string,
  lookup: StoreLookup,
  field = "secretStoreRef",
): Promise<SecretStore> {
  if (ref.kind === "ClusterSecretStore") {
    const store = lookup.clusterSecretStore(ref.name);
    if (!store) {
      const hint = lookup.secretStore(namespace, ref.name)
        ? `; a SecretStore "${ref.name}" exists in namespace "${namespace}": to use it, set ${field}.kind: SecretStore (or leave kind out)`
        : "";
      throw new StoreNotReadyError(`ClusterSecretStore "${ref.name}" not found${hint}`);
    }
    const labels = store.spec.conditions?.some((c) => c.namespaceSelector)
      ? await lookup.namespaceLabels(namespace)
      : {};
    if (!clusterStoreAllows(store.spec, namespace, labels)) {
      throw new AccessDeniedError(
        `ClusterSecretStore "${ref.name}" does not allow namespace "${namespace}" (spec.conditions)`,
      );
    }
    return store;
  }
  const store = lookup.secretStore(namespace, ref.name);
  if (!store) {
    // kind defaults to SecretStore: the usual slip when a ClusterSecretStore was meant
    // (named only when it would serve this namespace: no tenant learns of stores it may not use).
    const cluster = lookup.clusterSecretStore(ref.name);
    const serves =
      cluster &&
      clusterStoreAllows(
        cluster.spec,
        namespace,
        cluster.spec.conditions?.some((c) => c.namespaceSelector)
          ? await lookup.namespaceLabels(namespace)
          : {},
      );
    const hint = serves
      ? `; a ClusterSecretStore "${ref.name}" exists: to use it, set ${field}.kind: ClusterSecretStore`
      : "";
    throw new StoreNotReadyError(`SecretStore "${ref.name}" not found in namespace "${namespace}"${hint}`);
  }
  return store;
}

export function clusterStoreAllows(
  spec: SecretStoreSpec,
  namespace: string,
  labels: Record<string, string>,
): boolean {
  const conditions = spec.conditions ?? [];
  if (conditions.length === 0) return true;
  return conditions.some(
    (c) =>
      c.namespaces?.includes(namespace) ||
      (c.namespaceSelector && selectorMatches(c.namespaceSelector, labels)) ||
      c.namespaceRegexes?.some((pattern) => goRegexpMatches(pattern, namespace)),
  );
}

export function selectorMatches(
  selector: { matchLabels?: Record<string, string>; matchExpressions?: LabelSelectorRequirement[] },
  labels: Record<string, string>,
): boolean {
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of selector.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, e.key);
    const value = labels[e.key];
    const inValues = value !== undefined && (e.values ?? []).includes(value);
    const ok =
      e.operator === "In"
        ? inValues
        : e.operator === "NotIn"
          ? !inValues
          : e.operator === "Exists"
            ? has
            : !has;
    if (!ok) return false;
  }
  return true;
}
