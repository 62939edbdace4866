/**
 * The observability metrics (issue 10), registered into the controller's
 * prom-client registry (ControllerMetrics in ../metrics.ts includes them).
 * State gauges are computed at scrape time from the ControllerView (the
 * informer caches, so standby replicas and restarts report the same), and
 * the controller only calls one hook, `recordRollout`.
 *
 * Cardinality: no label ever holds a key or a value. Per-object labels
 * (`name`, `secret`) can be switched off for very large clusters; the
 * per-object gauges then aggregate per namespace (see `ageSeries`).
 */
import { createRequire } from "node:module";
import { Counter, Gauge, type Registry } from "prom-client";
import type { ExternalSecret } from "../api/v1alpha1.ts";
import { TextFamily } from "./text-family.ts";
import { readyCondition, secretAge, storeLabel, targetSecretName, type SecretAge } from "./view.ts";
import type { ControllerView } from "./view.ts";

export interface ObservabilityMetricsOptions {
  registry: Registry;
  /** The controller's view; undefined until the caches are up (gauges then report nothing). */
  view: () => ControllerView | undefined;
  /** Label series with the object's name (default true); off, they aggregate per namespace. */
  perObjectLabels?: boolean;
  /** Defaults to the package's version. */
  version?: string;
}

// src/controller/ and dist/controller/ are both two levels below package.json.
const packageVersion = (createRequire(import.meta.url)("../../package.json") as { version: string }).version;

export interface ObservabilityMetrics {
  /** One rollout restart of a consuming workload. */
  recordRollout(namespace: string, kind: string, result: "success" | "error"): void;
}

export const observabilityMetricNames = [
  "refsync_build_info",
  "refsync_queue_depth",
  "refsync_inflight_reads",
  "refsync_store_ready",
  "refsync_secret_age_seconds",
  "refsync_secret_refresh_interval_seconds",
  "refsync_stale_pods",
  "refsync_rollouts_total",
] as const;

interface AgeSample extends SecretAge {
  namespace: string;
  name: string;
}

/**
 * Age and refresh-interval series. With per-object labels each ExternalSecret
 * is one series; without, each namespace reports its most overdue
 * ExternalSecret (highest age / interval), so `age > 2 * interval` still
 * finds every namespace that holds a stale secret.
 */
function ageSeries(externalSecrets: readonly ExternalSecret[], perObject: boolean, now: number): AgeSample[] {
  const samples = externalSecrets
    .map((es) => ({ namespace: es.metadata.namespace ?? "", name: es.metadata.name, ...secretAge(es, now) }))
    .filter((s) => s.ageSeconds !== undefined);
  if (perObject) return samples;
  const ratio = (s: AgeSample) => (s.refreshIntervalSeconds ? s.ageSeconds! / s.refreshIntervalSeconds : -1);
  const worst = new Map<string, AgeSample>();
  for (const s of samples) {
    const current = worst.get(s.namespace);
    if (
      !current ||
      ratio(s) > ratio(current) ||
      (ratio(s) === ratio(current) && s.ageSeconds! > current.ageSeconds!)
    ) {
      worst.set(s.namespace, s);
    }
  }
  return [...worst.values()];
}

export function registerObservabilityMetrics(options: ObservabilityMetricsOptions): ObservabilityMetrics {
  const { registry, view } = options;
  const version = options.version ?? packageVersion;
  const perObject = options.perObjectLabels ?? true;
  const registers = [registry];
  const objectLabels = perObject ? ["namespace", "name"] : ["namespace"];

  new Gauge({
    name: "refsync_build_info",
    help: "Always 1; labels carry the refsync and Node.js versions.",
    labelNames: ["version", "node_version"],
    registers,
  }).set({ version, node_version: process.versions.node }, 1);

  new Gauge({
    name: "refsync_queue_depth",
    help: "Objects waiting in the reconcile work queue.",
    registers,
    collect() {
      this.set(view()?.queueDepth() ?? 0);
    },
  });

  new Gauge({
    name: "refsync_inflight_reads",
    help: "Backend reads in flight (after the shared cache and single flight).",
    registers,
    collect() {
      this.set(view()?.inflightReads() ?? 0);
    },
  });

  new Gauge({
    name: "refsync_store_ready",
    help: "1 when the SecretStore or ClusterSecretStore has Ready=True, else 0.",
    labelNames: ["store", "kind"],
    registers,
    collect() {
      this.reset();
      for (const s of view()?.stores() ?? []) {
        const ready = readyCondition(s.status?.conditions)?.status === "True";
        this.set(
          { store: storeLabel(s.kind, s.metadata.namespace, s.metadata.name), kind: s.kind },
          ready ? 1 : 0,
        );
      }
    },
  });

  // Age and interval come from the same selection of series, each family computing it on its own
  // scrape. These three have one series per ExternalSecret: TextFamily writes them from the view
  // without holding a prom-client series each (./text-family.ts says why).
  const ageFamily = (name: string, help: string, value: (s: AgeSample) => number | undefined) =>
    new TextFamily({
      name,
      help,
      type: "gauge",
      labelNames: objectLabels,
      registers,
      each(sample) {
        for (const s of ageSeries(view()?.externalSecrets() ?? [], perObject, Date.now())) {
          const v = value(s);
          if (v !== undefined) sample(perObject ? [s.namespace, s.name] : [s.namespace], v);
        }
      },
    });
  ageFamily(
    "refsync_secret_age_seconds",
    "Seconds since the ExternalSecret's Secret was last refreshed.",
    (s) => s.ageSeconds,
  );
  ageFamily(
    "refsync_secret_refresh_interval_seconds",
    "The refreshInterval of Periodic ExternalSecrets, to compare with refsync_secret_age_seconds.",
    (s) => s.refreshIntervalSeconds,
  );

  new TextFamily({
    name: "refsync_stale_pods",
    help: "Pods still running with an older version of a Secret they consume.",
    type: "gauge",
    labelNames: perObject ? ["namespace", "secret"] : ["namespace"],
    registers,
    each(sample) {
      // Per Secret (two ExternalSecrets may share a target: the last one's count), or summed per namespace.
      const v = view();
      const series = new Map<string, [labelValues: string[], stale: number]>();
      for (const es of v?.externalSecrets() ?? []) {
        const namespace = es.metadata.namespace ?? "";
        const secret = targetSecretName(es);
        const consumers = v?.consumers?.consumersOf(namespace, secret);
        const stale = consumers
          ? consumers.reduce((n, c) => n + c.stalePods.length, 0)
          : es.status?.consumers?.stalePods;
        if (stale === undefined) continue;
        const key = perObject ? `${namespace}\0${secret}` : namespace;
        const current = series.get(key);
        if (!current) series.set(key, [perObject ? [namespace, secret] : [namespace], stale]);
        else current[1] = perObject ? stale : current[1] + stale;
      }
      for (const [labelValues, stale] of series.values()) sample(labelValues, stale);
    },
  });

  const rollouts = new Counter({
    name: "refsync_rollouts_total",
    help: "Rollout restarts of workloads that consume a refreshed Secret.",
    labelNames: ["namespace", "kind", "result"],
    registers,
  });

  return {
    recordRollout: (namespace, kind, result) => rollouts.inc({ namespace, kind, result }),
  };
}
