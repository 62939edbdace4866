/**
 * Every Prometheus metric refsync exports, on one registry per controller
 * (two controllers in one test process do not collide). Labels carry names,
 * never values. ESO-compatible aliases are kept next to their refsync
 * originals so existing ESO dashboards work unchanged. Add a metric here and
 * it is served by /metrics (src/server/app.ts) without touching the server.
 */
import { Counter, Gauge, Histogram, collectDefaultMetrics } from "prom-client";
import type { CallResult } from "../providers/types.ts";
import { registerObservabilityMetrics, type ObservabilityMetrics } from "./state-metrics.ts";
import { ExpositionRegistry, TextFamily } from "./text-family.ts";
import { storeLabel } from "./view.ts";
import type { ControllerView } from "./view.ts";

const CONDITION_STATUSES = ["True", "False", "Unknown"] as const;

/** One object's per-object series: ~0.1 KiB where prom-client held ~1.6 KiB (8 series). */
interface ObjectSeries {
  kind: string;
  namespace: string;
  /** Empty when per-object labels are off (the namespace's aggregate). */
  name: string;
  success: number;
  error: number;
  /** Condition type, status, condition type, status… (an object has one or two). */
  conditions: string[];
}

/** Kubernetes names and kinds hold no NUL, so the key is unambiguous. */
const objectKey = (kind: string, namespace: string, name: string) => `${kind}\0${namespace}\0${name}`;

export class ControllerMetrics {
  readonly registry = new ExpositionRegistry();

  /**
   * Series per object (sync counts, conditions): one ObjectSeries per object
   * in `#objects`, rendered at scrape time by TextFamily (./text-family.ts).
   */
  readonly #objects = new Map<string, ObjectSeries>();
  readonly syncCalls = this.#family(
    "refsync_sync_calls_total",
    "ExternalSecret syncs by result (success, error).",
    "counter",
    ["name", "namespace", "result"],
    (o, sample) => {
      if (o.success) sample([o.name, o.namespace, "success"], o.success);
      if (o.error) sample([o.name, o.namespace, "error"], o.error);
    },
  );
  readonly esoSyncCalls = this.#family(
    "externalsecret_sync_calls_total",
    "ESO alias: ExternalSecret syncs.",
    "counter",
    ["name", "namespace"],
    (o, sample) => {
      if (o.success + o.error) sample([o.name, o.namespace], o.success + o.error);
    },
  );
  readonly esoSyncErrors = this.#family(
    "externalsecret_sync_calls_error",
    "ESO alias: failed ExternalSecret syncs.",
    "counter",
    ["name", "namespace"],
    (o, sample) => {
      if (o.error) sample([o.name, o.namespace], o.error);
    },
  );
  readonly statusCondition = this.#family(
    "refsync_status_condition",
    "1 for the current status of each condition of each refsync object, 0 for the others.",
    "gauge",
    ["kind", "name", "namespace", "condition", "status"],
    (o, sample) => {
      for (let i = 0; i < o.conditions.length; i += 2)
        for (const s of CONDITION_STATUSES)
          sample([o.kind, o.name, o.namespace, o.conditions[i]!, s], s === o.conditions[i + 1] ? 1 : 0);
    },
  );
  readonly esoStatusCondition = this.#family(
    "externalsecret_status_condition",
    "ESO alias: ExternalSecret condition status.",
    "gauge",
    ["name", "namespace", "condition", "status"],
    (o, sample) => {
      if (o.kind !== "ExternalSecret") return;
      for (let i = 0; i < o.conditions.length; i += 2)
        for (const s of CONDITION_STATUSES)
          sample([o.name, o.namespace, o.conditions[i]!, s], s === o.conditions[i + 1] ? 1 : 0);
    },
  );
  readonly providerCalls = new Counter({
    name: "refsync_provider_api_calls_total",
    help: "Backend calls by provider, store, call and result.",
    labelNames: ["provider", "store", "call", "result"] as const,
    registers: [this.registry],
  });
  readonly esoProviderCalls = new Counter({
    name: "externalsecret_provider_api_calls_count",
    help: "ESO alias: backend calls.",
    labelNames: ["provider", "call", "status"] as const,
    registers: [this.registry],
  });
  readonly providerCallDuration = new Histogram({
    name: "refsync_provider_call_duration_seconds",
    help: "Backend call latency by provider, store and call.",
    labelNames: ["provider", "store", "call"] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly reconcileDuration = new Histogram({
    name: "refsync_reconcile_duration_seconds",
    help: "Reconcile duration by kind and result.",
    labelNames: ["kind", "result"] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  readonly cacheHits = new Counter({
    name: "refsync_cache_hits_total",
    help: "Reads served by the shared read cache (or joined an in-flight read).",
    labelNames: ["store"] as const,
    registers: [this.registry],
  });
  readonly cacheMisses = new Counter({
    name: "refsync_cache_misses_total",
    help: "Reads that went to the backend.",
    labelNames: ["store"] as const,
    registers: [this.registry],
  });
  readonly kubeRequests = new Counter({
    name: "refsync_kube_api_requests_total",
    help: "Requests to the Kubernetes API server (not watches) by verb, resource and status code.",
    labelNames: ["verb", "resource", "code"] as const,
    registers: [this.registry],
  });
  readonly isLeader = new Gauge({
    name: "refsync_leader",
    help: "1 while this replica is the leader (or runs without leader election).",
    registers: [this.registry],
  });
  readonly auditRecords = new Counter({
    name: "refsync_audit_records_total",
    help: "Audit records handed to the audit sink, by provider and outcome.",
    labelNames: ["provider", "outcome"] as const,
    registers: [this.registry],
  });
  readonly auditSinkFailures = new Counter({
    name: "refsync_audit_sink_failures_total",
    help: "Times the audit sink started failing to write (full disk, unwritable file).",
    registers: [this.registry],
  });
  readonly auditDropped = new Counter({
    name: "refsync_audit_records_dropped_total",
    help: "Audit records dropped because the sink failed for longer than its queue holds.",
    registers: [this.registry],
  });
  readonly auditSinkUp = new Gauge({
    name: "refsync_audit_sink_up",
    help: "1 while the audit sink writes, 0 while it fails (absent: audit is off).",
    registers: [this.registry],
  });
  readonly eventSourceUp = new Gauge({
    name: "refsync_event_source_up",
    help: "1 while a store's change source (spec.events) is up, 0 while it is down and the store falls back to its refresh interval.",
    labelNames: ["kind", "namespace", "store", "source"] as const,
    registers: [this.registry],
  });
  readonly keyChanges = new Counter({
    name: "refsync_key_changes_total",
    help: "Key changes reported by change sources, by source and outcome (refresh, duplicate, unchanged, unread).",
    labelNames: ["source", "outcome"] as const,
    registers: [this.registry],
  });
  readonly webhookRequests = new Counter({
    name: "refsync_webhook_requests_total",
    help: "Requests to the events endpoint by result (accepted, validated, unauthenticated, stale, replayed, rate-limited, too-large, bad-request, unknown-store, not-ready).",
    labelNames: ["result"] as const,
    registers: [this.registry],
  });
  /** The informer caches the state gauges read at scrape time (src/server/api/metrics.ts); set by the controller. */
  view: ControllerView | undefined;
  /** Store readiness, secret age, queue depth, stale pods, rollouts, build info. */
  readonly observability: ObservabilityMetrics;
  /** Off for very large clusters: no series per ExternalSecret (name is left empty, conditions not exported). */
  readonly #perObject: boolean;

  constructor(options: { defaultMetrics?: boolean; perObjectLabels?: boolean; version?: string } = {}) {
    if (options.defaultMetrics) collectDefaultMetrics({ register: this.registry });
    this.#perObject = options.perObjectLabels ?? true;
    this.observability = registerObservabilityMetrics({
      registry: this.registry,
      view: () => this.view,
      perObjectLabels: options.perObjectLabels,
      version: options.version,
    });
  }

  recordSync(namespace: string, objectName: string, ok: boolean): void {
    // An empty label is no label to Prometheus: the series aggregate per namespace.
    const name = this.#perObject ? objectName : "";
    const o = this.#object("ExternalSecret", namespace, name);
    if (ok) o.success++;
    else o.error++;
  }

  recordProviderCall(
    provider: string,
    store: string,
    call: string,
    result: CallResult,
    seconds: number,
  ): void {
    this.providerCalls.inc({ provider, store, call, result });
    this.esoProviderCalls.inc({ provider, call, status: result === "success" ? "success" : "error" });
    this.providerCallDuration.observe({ provider, store, call }, seconds);
  }

  setCondition(kind: string, namespace: string, name: string, condition: string, status: string): void {
    if (!this.#perObject && kind === "ExternalSecret") return;
    const { conditions } = this.#object(kind, namespace, name);
    const at = conditions.indexOf(condition);
    if (at >= 0 && at % 2 === 0) conditions[at + 1] = status;
    else conditions.push(condition, status);
  }

  #object(kind: string, namespace: string, name: string): ObjectSeries {
    const key = objectKey(kind, namespace, name);
    let o = this.#objects.get(key);
    if (!o) this.#objects.set(key, (o = { kind, namespace, name, success: 0, error: 0, conditions: [] }));
    return o;
  }

  #family(
    name: string,
    help: string,
    type: "counter" | "gauge",
    labelNames: readonly string[],
    series: (o: ObjectSeries, sample: (labelValues: readonly string[], value: number) => void) => void,
  ): TextFamily {
    return new TextFamily({
      name,
      help,
      type,
      labelNames,
      registers: [this.registry],
      each: (sample) => {
        for (const o of this.#objects.values()) series(o, sample);
      },
    });
  }

  /**
   * An object is gone: drop every series that names it (its sync counts and
   * conditions; for a store, its backend calls and cache hits), so
   * dashboards and alerts do not show ghosts. Resolves when they are gone.
   */
  forget(kind: string, namespace: string, name: string): Promise<void> {
    this.#objects.delete(objectKey(kind, namespace, name));
    if (kind === "ExternalSecret") return Promise.resolve();
    const store = storeLabel(kind, namespace, name);
    return Promise.all(
      [this.providerCalls, this.providerCallDuration, this.cacheHits, this.cacheMisses].map((m) =>
        removeSeries(m, { store }),
      ),
    ).then(() => undefined);
  }
}

/**
 * Removes every series whose labels include `match` (prom-client removes one
 * exact label set at a time; a histogram's buckets differ only in `le`).
 */
async function removeSeries(
  metric: Counter<string> | Histogram<string>,
  match: Record<string, string>,
): Promise<void> {
  const { values } = await metric.get();
  const done = new Set<string>();
  for (const { labels } of values) {
    if (!Object.entries(match).every(([k, v]) => labels[k] === v)) continue;
    const series = Object.fromEntries(Object.entries(labels).filter(([k]) => k !== "le")) as Record<
      string,
      string | number
    >;
    const id = JSON.stringify(series);
    if (done.has(id)) continue;
    done.add(id);
    metric.remove(series);
  }
}
