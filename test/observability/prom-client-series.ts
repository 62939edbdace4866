/**
 * The per-object metric families as refsync held them before TextFamily
 * (src/controller/text-family.ts): one prom-client Counter or Gauge series
 * per object and label set, per-object labels on. The reference the unit
 * test compares /metrics with (same series, same text) and the "before" of
 * bench/metrics.ts.
 */
import { Counter, Gauge, Registry } from "prom-client";
import { secretAge, targetSecretName, type ControllerView } from "../../src/controller/view.ts";

const STATUSES = ["True", "False", "Unknown"] as const;

export class PromClientSeries {
  readonly registry = new Registry();
  view: ControllerView | undefined;
  readonly #registers = [this.registry];
  readonly #syncCalls = new Counter({
    name: "refsync_sync_calls_total",
    help: "ExternalSecret syncs by result (success, error).",
    labelNames: ["name", "namespace", "result"],
    registers: this.#registers,
  });
  readonly #esoSyncCalls = new Counter({
    name: "externalsecret_sync_calls_total",
    help: "ESO alias: ExternalSecret syncs.",
    labelNames: ["name", "namespace"],
    registers: this.#registers,
  });
  readonly #esoSyncErrors = new Counter({
    name: "externalsecret_sync_calls_error",
    help: "ESO alias: failed ExternalSecret syncs.",
    labelNames: ["name", "namespace"],
    registers: this.#registers,
  });
  readonly #statusCondition = new Gauge({
    name: "refsync_status_condition",
    help: "1 for the current status of each condition of each refsync object, 0 for the others.",
    labelNames: ["kind", "name", "namespace", "condition", "status"],
    registers: this.#registers,
  });
  readonly #esoStatusCondition = new Gauge({
    name: "externalsecret_status_condition",
    help: "ESO alias: ExternalSecret condition status.",
    labelNames: ["name", "namespace", "condition", "status"],
    registers: this.#registers,
  });

  constructor() {
    const view = () => this.view;
    const ageGauge = (
      name: string,
      help: string,
      value: (es: ReturnType<typeof secretAge>) => number | undefined,
    ) =>
      new Gauge({
        name,
        help,
        labelNames: ["namespace", "name"],
        registers: this.#registers,
        collect() {
          this.reset();
          for (const es of view()?.externalSecrets() ?? []) {
            const age = secretAge(es, Date.now());
            const v = value(age);
            if (age.ageSeconds !== undefined && v !== undefined)
              this.set({ namespace: es.metadata.namespace ?? "", name: es.metadata.name }, v);
          }
        },
      });
    ageGauge(
      "refsync_secret_age_seconds",
      "Seconds since the ExternalSecret's Secret was last refreshed.",
      (a) => a.ageSeconds,
    );
    ageGauge(
      "refsync_secret_refresh_interval_seconds",
      "The refreshInterval of Periodic ExternalSecrets, to compare with refsync_secret_age_seconds.",
      (a) => a.refreshIntervalSeconds,
    );
    new Gauge({
      name: "refsync_stale_pods",
      help: "Pods still running with an older version of a Secret they consume.",
      labelNames: ["namespace", "secret"],
      registers: this.#registers,
      collect() {
        this.reset();
        for (const es of view()?.externalSecrets() ?? []) {
          const stale = es.status?.consumers?.stalePods;
          if (stale !== undefined)
            this.set({ namespace: es.metadata.namespace ?? "", secret: targetSecretName(es) }, stale);
        }
      },
    });
  }

  recordSync(namespace: string, name: string, ok: boolean): void {
    this.#syncCalls.inc({ name, namespace, result: ok ? "success" : "error" });
    this.#esoSyncCalls.inc({ name, namespace });
    if (!ok) this.#esoSyncErrors.inc({ name, namespace });
  }

  setCondition(kind: string, namespace: string, name: string, condition: string, status: string): void {
    for (const s of STATUSES) {
      const v = s === status ? 1 : 0;
      this.#statusCondition.set({ kind, name, namespace, condition, status: s }, v);
      if (kind === "ExternalSecret")
        this.#esoStatusCondition.set({ name, namespace, condition, status: s }, v);
    }
  }

  /** Drops an object's series (the ones this class holds). */
  async forget(kind: string, namespace: string, name: string): Promise<void> {
    const families: (Counter | Gauge)[] = [
      this.#syncCalls,
      this.#esoSyncCalls,
      this.#esoSyncErrors,
      this.#statusCondition,
      this.#esoStatusCondition,
    ];
    for (const family of kind === "ExternalSecret" ? families : [this.#statusCondition]) {
      for (const { labels } of (await family.get()).values)
        if (labels.namespace === namespace && labels.name === name && (labels.kind ?? kind) === kind)
          family.remove(labels);
    }
  }
}
