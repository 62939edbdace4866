/**
 * SecretStore and ClusterSecretStore: validate the spec and ask the provider
 * to `validate` (can we log in, is the path there); report it as the Ready
 * condition, plus the provider's warnings (StaticCredentials…) as their own
 * conditions. Valid stores are validated again every `spec.refreshInterval`
 * (default 5 minutes, as ESO's --store-requeue-interval).
 */
import type { SecretStore, StoreStatus } from "../../api/v1alpha1.ts";
import { validateStoreSpec } from "../../api/validate.ts";
import { durationMs } from "../../api/duration.ts";
import { RefsyncError } from "../../errors.ts";
import type { Logger } from "../../log.ts";
import type { ControllerMetrics } from "../metrics.ts";
import type { StoreSessions } from "./sessions.ts";
import { handlesStore } from "./controller-class.ts";
import { sameConditions, setCondition } from "../../kube/conditions.ts";
import type { EventRecorder } from "../../kube/events.ts";
import { errorSummary, type Informer } from "../../kube/informer.ts";
import { resourceTypes } from "../../kube/resources.ts";
import { type KubeClient } from "../../kube/client.ts";
import type { ReconcileResult } from "../../kube/queue.ts";

export interface StoreReconcilerDeps {
  kube: KubeClient;
  log: Logger;
  metrics: ControllerMetrics;
  events: EventRecorder;
  secretStores: Informer<SecretStore>;
  clusterSecretStores: Informer<SecretStore>;
  sessions: StoreSessions;
  /** --controller-class: stores of another class are another controller's (controller-class.ts). */
  controllerClass: string;
  revalidateMs?: number;
  /** The EventsReady condition of a store with spec.events (src/controller/events/sources.ts). */
  eventsCondition?(
    store: SecretStore,
  ): { type: string; status: "True" | "False"; reason: string; message: string } | undefined;
}

const REVALIDATE_MS = 5 * 60_000;

/** When a valid store is validated again: its spec.refreshInterval, else the controller's default. */
export function revalidateAfterMs(
  spec: Pick<SecretStore["spec"], "refreshInterval">,
  defaultMs: number,
): number {
  return spec.refreshInterval === undefined ? defaultMs : durationMs(spec.refreshInterval);
}

export class StoreReconciler {
  readonly #d: StoreReconcilerDeps;

  constructor(deps: StoreReconcilerDeps) {
    this.#d = deps;
  }

  async reconcile(
    kind: "SecretStore" | "ClusterSecretStore",
    key: string,
    signal: AbortSignal,
  ): Promise<ReconcileResult> {
    const informer = kind === "SecretStore" ? this.#d.secretStores : this.#d.clusterSecretStores;
    const store = informer.get(key);
    const [a = "", b] = key.split("/");
    if (!store) {
      this.#d.sessions.release({ kind, metadata: b === undefined ? { name: a } : { name: b, namespace: a } });
      await this.#d.metrics.forget(kind, b === undefined ? "" : a, b ?? a);
      return {};
    }
    // Another controller's store: no validation and no status, as ESO's store reconciler.
    if (!handlesStore(store, this.#d.controllerClass)) return {};
    const started = performance.now();
    let ready: { status: "True" | "False"; reason: string; message: string };
    let warnings: { type: string; reason: string; message: string }[] = [];
    try {
      validateStoreSpec(store.spec);
      const result = await this.#d.sessions.session(store).validate(signal);
      warnings = result.warnings ?? [];
      ready =
        result.status === "Ready"
          ? { status: "True", reason: "Valid", message: "store validated" }
          : {
              status: "False",
              reason: "ValidationFailed",
              message: result.message ?? `provider reported ${result.status}`,
            };
    } catch (err) {
      if (signal.aborted) throw err;
      const reason =
        err instanceof RefsyncError && err.reason === "InvalidSpec" ? "InvalidSpec" : "ValidationFailed";
      ready = { status: "False", reason, message: errorSummary(err).message };
    }
    this.#d.metrics.reconcileDuration.observe(
      { kind, result: ready.status === "True" ? "success" : "error" },
      (performance.now() - started) / 1000,
    );
    await this.#writeStatus(store, ready, warnings, signal);
    // Not ready: fail, so the queue retries with growing back-off (RBAC or the backend may come right any moment).
    if (ready.status === "False") throw new Error(`${kind} ${key}: ${ready.reason}`);
    return { requeueAfterMs: revalidateAfterMs(store.spec, this.#d.revalidateMs ?? REVALIDATE_MS) };
  }

  async #writeStatus(
    store: SecretStore,
    ready: { status: "True" | "False"; reason: string; message: string },
    warnings: { type: string; reason: string; message: string }[],
    signal: AbortSignal,
  ): Promise<void> {
    const generation = store.metadata.generation;
    const old = store.status ?? {};
    // Warnings the provider no longer reports are dropped.
    const events = this.#d.eventsCondition?.(store);
    let conditions = (old.conditions ?? []).filter(
      (c) => c.type === "Ready" || (events !== undefined && c.type === events.type),
    );
    conditions = setCondition(conditions, { type: "Ready", ...ready }, generation);
    for (const w of warnings) conditions = setCondition(conditions, { ...w, status: "True" }, generation);
    if (events) conditions = setCondition(conditions, events, generation);
    const namespace = store.metadata.namespace ?? "";
    // Deleted while it was validated: its series are forgotten and must not come back.
    const informer = store.kind === "ClusterSecretStore" ? this.#d.clusterSecretStores : this.#d.secretStores;
    const key = namespace ? `${namespace}/${store.metadata.name}` : store.metadata.name;
    if (informer.get(key))
      this.#d.metrics.setCondition(store.kind, namespace, store.metadata.name, "Ready", ready.status);
    if (sameConditions(old.conditions, conditions) && old.observedGeneration === generation) return;
    const previous = old.conditions?.find((c) => c.type === "Ready");
    if (
      ready.status === "False" &&
      (previous?.reason !== ready.reason || previous.message !== ready.message)
    ) {
      this.#d.events.record(store, "Warning", ready.reason, ready.message);
    }
    for (const w of warnings) {
      if (!old.conditions?.some((c) => c.type === w.type))
        this.#d.events.record(store, "Warning", w.reason, w.message);
    }
    const status: StoreStatus = { conditions, observedGeneration: generation };
    const type = store.kind === "SecretStore" ? resourceTypes.secretStore : resourceTypes.clusterSecretStore;
    await this.#d.kube.mergePatch(
      type,
      store.metadata.namespace,
      store.metadata.name,
      { status },
      { subresource: "status", signal },
    );
  }
}
