/**
 * ClusterExternalSecret, with External Secrets Operator's semantics: one
 * ExternalSecret (spec.externalSecretSpec, named spec.externalSecretName or
 * the ClusterExternalSecret's name) in every namespace that a
 * namespaceSelectors entry or the namespaces list selects, controlled by the
 * ClusterExternalSecret (ownerReference). An ExternalSecret of that name it
 * does not control is left alone and its namespace reported as failed; the
 * ExternalSecrets of namespaces no longer selected, or of a former name, are
 * deleted; deleting the ClusterExternalSecret deletes them all (finalizer).
 * Status lists the provisioned and failed namespaces; Ready is True when no
 * selected namespace failed. The ExternalSecrets then sync as any other,
 * sharing one backend read per key through the store's read cache.
 */
import {
  API_VERSION,
  ANNOTATION_FORCE_SYNC,
  CLUSTER_EXTERNAL_SECRET_FINALIZER,
  defaults,
  type ClusterExternalSecret,
  type ClusterExternalSecretSpec,
  type ClusterExternalSecretStatus,
  type ExternalSecret,
  type NamespaceSelector,
} from "../../api/v1alpha1.ts";
import { parseDuration, validateClusterExternalSecretSpec } from "../../api/validate.ts";
import { RefsyncError } from "../../errors.ts";
import type { Logger } from "../../log.ts";
import type { KubeClient } from "../../kube/client.ts";
import { removeCondition, sameConditions, setCondition } from "../../kube/conditions.ts";
import type { EventRecorder } from "../../kube/events.ts";
import { errorSummary, type Informer } from "../../kube/informer.ts";
import { addFinalizer, hasFinalizer, removeFinalizer } from "../../kube/finalizers.ts";
import type { ReconcileResult } from "../../kube/queue.ts";
import { resourceTypes } from "../../kube/resources.ts";
import type { ControllerMetrics } from "../metrics.ts";
import { selectorMatches } from "../secretstore/resolve.ts";

export interface NamespaceObject {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    labels?: Record<string, string>;
    deletionTimestamp?: string;
    resourceVersion?: string;
  };
}

export interface ClusterExternalSecretReconcilerDeps {
  kube: KubeClient;
  log: Logger;
  metrics: ControllerMetrics;
  events: EventRecorder;
  clusterExternalSecrets: Informer<ClusterExternalSecret>;
  namespaces: Informer<NamespaceObject>;
  externalSecrets: Informer<ExternalSecret>;
  /** Our writes go into the informer's cache at once, which then notifies nobody: the ExternalSecret is enqueued here. */
  enqueueExternalSecret(namespace: string, name: string): void;
}

const KIND = "ClusterExternalSecret";
/** ESO's reason for a namespace whose ExternalSecret of that name belongs to someone else. */
export const EXISTS_REASON = "external secret already exists in namespace";

/** Does `ces` select namespace `ns`: by name, or by any one of its label selectors (ESO ORs them). */
export function selects(spec: ClusterExternalSecretSpec, ns: NamespaceObject): boolean {
  // Also called on specs not validated yet (the manager's event handlers): a malformed one selects nothing.
  const names: unknown = spec.namespaces;
  const selectors: unknown = spec.namespaceSelectors;
  if (Array.isArray(names) && names.includes(ns.metadata.name)) return true;
  const labels = ns.metadata.labels ?? {};
  return (
    Array.isArray(selectors) &&
    selectors.some(
      (s: unknown) => typeof s === "object" && s !== null && selectorMatches(s as NamespaceSelector, labels),
    )
  );
}

/** The ClusterExternalSecret that controls `es` (its controller ownerReference), by name. */
export function controllerOf(es: ExternalSecret): string | undefined {
  const owner = es.metadata.ownerReferences?.find((o) => o.controller === true);
  return owner?.kind === KIND && owner.apiVersion.split("/")[0] === API_VERSION.split("/")[0]
    ? owner.name
    : undefined;
}

/** The name of the ExternalSecrets a ClusterExternalSecret creates. */
export function externalSecretNameOf(ces: ClusterExternalSecret): string {
  return ces.spec.externalSecretName ?? ces.metadata.name;
}

export class ClusterExternalSecretReconciler {
  readonly #d: ClusterExternalSecretReconcilerDeps;

  constructor(deps: ClusterExternalSecretReconcilerDeps) {
    this.#d = deps;
  }

  async reconcile(key: string, signal: AbortSignal): Promise<ReconcileResult> {
    const ces = this.#d.clusterExternalSecrets.get(key);
    if (!ces) {
      await this.#d.metrics.forget(KIND, "", key);
      return {};
    }
    const started = performance.now();
    if (ces.metadata.deletionTimestamp) {
      await this.#finalize(ces, signal);
      return {};
    }
    await addFinalizer(
      this.#d.kube,
      resourceTypes.clusterExternalSecret,
      ces,
      CLUSTER_EXTERNAL_SECRET_FINALIZER,
      signal,
    );
    let spec: ClusterExternalSecretSpec;
    try {
      spec = validateClusterExternalSecretSpec(ces.spec);
    } catch (err) {
      if (!(err instanceof RefsyncError)) throw err;
      // Nothing is created, changed or deleted from an invalid spec; a new one is reconciled at once.
      await this.#writeStatus(ces, { ...ces.status }, "InvalidSpec", err.message, true, signal);
      return {};
    }
    const name = spec.externalSecretName ?? ces.metadata.name;
    const failed = new Map<string, string>();
    const fail = (namespace: string, err: unknown) => failed.set(namespace, errorSummary(err).message);
    // ExternalSecrets of a former externalSecretName, and of namespaces no longer selected, go.
    const selected = this.#d.namespaces.list().filter((ns) => selects(spec, ns));
    const wanted = new Set(selected.map((ns) => ns.metadata.name));
    for (const es of this.#owned(ces)) {
      const namespace = es.metadata.namespace as string;
      if (es.metadata.name === name && wanted.has(namespace)) continue;
      await this.#delete(es, signal).catch((err: unknown) => fail(namespace, err));
    }
    const provisioned: string[] = [];
    for (const ns of selected) {
      const namespace = ns.metadata.name;
      // A namespace being deleted takes its ExternalSecrets along; nothing is created there.
      if (ns.metadata.deletionTimestamp) continue;
      const existing = this.#d.externalSecrets.get(`${namespace}/${name}`);
      if (existing && controllerOf(existing) !== ces.metadata.name) {
        failed.set(namespace, EXISTS_REASON);
        continue;
      }
      try {
        await this.#write(ces, spec, namespace, name, existing, signal);
        provisioned.push(namespace);
      } catch (err) {
        if (signal.aborted) throw err;
        fail(namespace, err);
      }
    }
    const status: ClusterExternalSecretStatus = {
      ...ces.status,
      externalSecretName: name,
      provisionedNamespaces: provisioned.sort(),
      failedNamespaces: [...failed]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([namespace, reason]) => ({ namespace, reason })),
    };
    const names = [...failed.keys()].sort();
    const ok = names.length === 0;
    // Only a failed write is retried; an ExternalSecret of another owner waits for a person.
    const retrying = [...failed.values()].some((reason) => reason !== EXISTS_REASON);
    await this.#writeStatus(
      ces,
      status,
      ok ? "Provisioned" : "NamespacesFailed",
      ok
        ? `ExternalSecret "${name}" in ${provisioned.length} namespace(s)`
        : `one or more namespaces failed: ${names.join(", ")}`,
      !ok && !retrying,
      signal,
    );
    this.#d.metrics.reconcileDuration.observe(
      { kind: KIND, result: ok ? "success" : "error" },
      (performance.now() - started) / 1000,
    );
    // A failed write (or a conflict) retries with back-off; a foreign ExternalSecret waits for a change to it.
    if (retrying) throw new Error(`${KIND} ${key}: ${names.join(", ")} failed`);
    const refreshTime = spec.refreshTime ?? defaults.clusterExternalSecretRefreshTime;
    const every = refreshTime === "0" ? 0 : parseDuration(refreshTime);
    return every > 0 ? { requeueAfterMs: every } : {};
  }

  /** The ExternalSecrets this ClusterExternalSecret controls, in any namespace and under any name. */
  #owned(ces: ClusterExternalSecret): ExternalSecret[] {
    return this.#d.externalSecrets.list().filter((es) => controllerOf(es) === ces.metadata.name);
  }

  async #delete(es: ExternalSecret, signal: AbortSignal): Promise<void> {
    await this.#d.kube.delete(resourceTypes.externalSecret, es.metadata.namespace, es.metadata.name, {
      uid: es.metadata.uid,
      signal,
    });
  }

  /**
   * Creates or replaces the ExternalSecret as ESO does: its spec, labels and
   * annotations are the ClusterExternalSecret's (and its force-sync annotation),
   * its controller reference is the ClusterExternalSecret, the other metadata
   * (finalizers, other owners) is kept. Nothing is written when nothing differs.
   */
  async #write(
    ces: ClusterExternalSecret,
    spec: ClusterExternalSecretSpec,
    namespace: string,
    name: string,
    existing: ExternalSecret | undefined,
    signal: AbortSignal,
  ): Promise<void> {
    const annotations = { ...spec.externalSecretMetadata?.annotations };
    const force = ces.metadata.annotations?.[ANNOTATION_FORCE_SYNC];
    if (force !== undefined) annotations[ANNOTATION_FORCE_SYNC] = force;
    const labels = { ...spec.externalSecretMetadata?.labels };
    const owner = {
      apiVersion: API_VERSION,
      kind: KIND,
      name: ces.metadata.name,
      uid: ces.metadata.uid as string,
      controller: true,
      blockOwnerDeletion: true,
    };
    // SetControllerReference's upsert: the controller reference set where it is, the others kept as they are.
    const refs = existing?.metadata.ownerReferences ?? [];
    const at = refs.findIndex((o) => o.controller === true);
    const ownerReferences = at < 0 ? [...refs, owner] : refs.with(at, owner);
    const desired: ExternalSecret = {
      apiVersion: API_VERSION,
      kind: "ExternalSecret",
      metadata: {
        ...existing?.metadata,
        name,
        namespace,
        labels,
        annotations,
        ownerReferences,
      },
      spec: spec.externalSecretSpec,
    };
    if (!existing) {
      const created = await this.#d.kube.create<ExternalSecret>(
        resourceTypes.externalSecret,
        desired,
        signal,
      );
      this.#d.externalSecrets.observe(created);
      this.#d.enqueueExternalSecret(namespace, name);
      return;
    }
    const same = (a: unknown, b: unknown) => JSON.stringify(a ?? {}) === JSON.stringify(b ?? {});
    if (
      same(existing.spec, desired.spec) &&
      same(existing.metadata.labels, labels) &&
      same(existing.metadata.annotations, annotations) &&
      same(existing.metadata.ownerReferences, desired.metadata.ownerReferences)
    )
      return;
    // resourceVersion from the cache: a newer version makes this a conflict, retried with back-off.
    const updated = await this.#d.kube.replace<ExternalSecret>(resourceTypes.externalSecret, desired, signal);
    this.#d.externalSecrets.observe(updated);
    this.#d.enqueueExternalSecret(namespace, name);
  }

  /** Deletion: every ExternalSecret it controls goes first, then the finalizer. */
  async #finalize(ces: ClusterExternalSecret, signal: AbortSignal): Promise<void> {
    if (!hasFinalizer(ces, CLUSTER_EXTERNAL_SECRET_FINALIZER)) return;
    for (const es of this.#owned(ces)) await this.#delete(es, signal);
    await removeFinalizer(
      this.#d.kube,
      resourceTypes.clusterExternalSecret,
      ces,
      CLUSTER_EXTERNAL_SECRET_FINALIZER,
      signal,
    );
    this.#d.log.info({ clusterExternalSecret: ces.metadata.name }, "deleted its ExternalSecrets");
  }

  async #writeStatus(
    ces: ClusterExternalSecret,
    status: ClusterExternalSecretStatus,
    reason: string,
    message: string,
    stalled: boolean,
    signal: AbortSignal,
  ): Promise<void> {
    const generation = ces.metadata.generation;
    const ready = reason === "Provisioned" ? "True" : "False";
    const old = ces.status ?? {};
    let conditions = setCondition(
      old.conditions,
      { type: "Ready", status: ready, reason, message },
      generation,
    );
    // Stalled: no retry will help (kstatus Failed, Argo CD Degraded) until the spec or a foreign ExternalSecret changes.
    conditions = stalled
      ? setCondition(conditions, { type: "Stalled", status: "True", reason, message }, generation)
      : removeCondition(conditions, "Stalled");
    this.#d.metrics.setCondition(KIND, "", ces.metadata.name, "Ready", ready);
    const next: ClusterExternalSecretStatus = { ...status, conditions, observedGeneration: generation };
    if (
      sameConditions(old.conditions, conditions) &&
      old.observedGeneration === generation &&
      JSON.stringify([
        old.externalSecretName,
        old.provisionedNamespaces ?? [],
        old.failedNamespaces ?? [],
      ]) ===
        JSON.stringify([
          next.externalSecretName,
          next.provisionedNamespaces ?? [],
          next.failedNamespaces ?? [],
        ])
    )
      return;
    const previous = old.conditions?.find((c) => c.type === "Ready");
    if (ready === "False" && (previous?.reason !== reason || previous.message !== message))
      this.#d.events.record(ces, "Warning", reason, message);
    // Empty lists are written as null: a merge patch then removes them, as ESO omits them.
    const patch = {
      ...next,
      provisionedNamespaces: next.provisionedNamespaces?.length ? next.provisionedNamespaces : null,
      failedNamespaces: next.failedNamespaces?.length ? next.failedNamespaces : null,
    };
    await this.#d.kube.mergePatch(
      resourceTypes.clusterExternalSecret,
      undefined,
      ces.metadata.name,
      { status: patch },
      { subresource: "status", signal },
    );
  }
}
