/**
 * The dashboard's data model, built from a ControllerView and the metrics
 * registry: rows for stores, ExternalSecrets, Secrets and events, with the
 * health classification, filters and sorting that the JSON API and the HTML
 * page share. Key names only, never a value.
 */
import { storesNamed } from "../../api/store-refs.ts";
import type { Registry } from "prom-client";
import { defaults, type Condition, type ExternalSecret, type SecretStore } from "../../api/v1alpha1.ts";
import type { CachedSecret, ControllerView, EventSummary, SecretConsumer } from "../../controller/view.ts";
import {
  readyCondition,
  secretAge,
  storeLabel,
  targetSecretName,
  type SecretAge,
} from "../../controller/view.ts";

export type Health = "healthy" | "progressing" | "degraded";
export const statusFilters = ["healthy", "progressing", "degraded", "stale"] as const;
export type StatusFilter = (typeof statusFilters)[number];
export const sortKeys = ["name", "age", "errors"] as const;
export type SortKey = (typeof sortKeys)[number];

/** A secret counts as stale when its data is older than this many refresh intervals (the alert's threshold). */
export const staleAfterIntervals = 2;

/** kstatus-like: Ready for the current generation is healthy, Ready=False degraded, anything else progressing. */
export function healthOf(object: {
  metadata: { generation?: number };
  status?: { conditions?: Condition[]; observedGeneration?: number };
}): Health {
  const ready = readyCondition(object.status?.conditions);
  const observed = object.status?.observedGeneration;
  const generation = object.metadata.generation;
  if (!ready || (observed !== undefined && generation !== undefined && observed < generation))
    return "progressing";
  if (ready.status === "True") return "healthy";
  return ready.status === "False" ? "degraded" : "progressing";
}

export function isStale({ ageSeconds, refreshIntervalSeconds }: SecretAge): boolean {
  return ageSeconds !== undefined && refreshIntervalSeconds !== undefined
    ? ageSeconds > staleAfterIntervals * refreshIntervalSeconds
    : false;
}

/** The stores an ExternalSecret names (spec.secretStoreRef, each entry's sourceRef.storeRef), as labels. */
export function esStoreLabels(es: ExternalSecret): string[] {
  return storesNamed(es.spec).map((ref) => storeLabel(ref.kind, es.metadata.namespace, ref.name));
}

export interface CallCounts {
  total: number;
  failed: number;
  throttled: number;
}

export interface StoreRow {
  kind: string;
  namespace?: string;
  name: string;
  store: string;
  provider: string;
  health: Health;
  reason: string;
  message: string;
  /** Other conditions that are True, e.g. StaticCredentials. */
  warnings: string[];
  externalSecrets: number;
  backendCalls: CallCounts;
}

export interface ExternalSecretRow {
  namespace: string;
  name: string;
  store: string;
  health: Health;
  stale: boolean;
  reason: string;
  message: string;
  refreshPolicy: string;
  lastRefresh?: string;
  ageSeconds?: number;
  refreshIntervalSeconds?: number;
  target: string;
  syncs: CallCounts;
}

export interface SecretRow {
  namespace: string;
  name: string;
  externalSecret: string;
  exists: boolean;
  type?: string;
  /** Key names, sorted. Never values. */
  keys: string[];
  /** Consuming workloads and their stale pods, when the rollout work reports them. */
  consumers?: SecretConsumer[];
  /** Counts from the ExternalSecret's status when only those are known. */
  consumerCounts?: { workloads: number; stalePods: number };
}

export interface Summary {
  leader: boolean;
  queueDepth: number;
  inflightReads: number;
  externalSecrets: Record<Health | "stale", number>;
  stores: Record<Health, number>;
}

export interface Query {
  namespace?: string;
  status?: StatusFilter;
  sort?: SortKey;
}

export interface Overview {
  generatedAt: string;
  summary: Summary;
  stores: StoreRow[];
  externalSecrets: ExternalSecretRow[];
  secrets: SecretRow[];
  events: EventSummary[];
  namespaces: string[];
}

type Counts = Map<string, CallCounts>;

/** Sums a counter's samples into CallCounts keyed by `keyOf(labels)`, from the live registry (no extra state). */
async function countsBy(
  registry: Registry,
  metric: string,
  keyOf: (labels: Partial<Record<string, string | number>>) => string | undefined,
): Promise<Counts> {
  const counts: Counts = new Map();
  const values = (await registry.getSingleMetric(metric)?.get())?.values ?? [];
  for (const { labels, value } of values) {
    const key = keyOf(labels);
    if (key === undefined) continue;
    const c = counts.get(key) ?? { total: 0, failed: 0, throttled: 0 };
    c.total += value;
    if (labels.result !== "success") c.failed += value;
    if (labels.result === "throttled") c.throttled += value;
    counts.set(key, c);
  }
  return counts;
}

const noCalls: CallCounts = { total: 0, failed: 0, throttled: 0 };

function storeRow(store: SecretStore, externalSecrets: readonly ExternalSecret[], calls: Counts): StoreRow {
  const { kind, metadata } = store;
  const label = storeLabel(kind, metadata.namespace, metadata.name);
  const ready = readyCondition(store.status?.conditions);
  return {
    kind,
    namespace: metadata.namespace,
    name: metadata.name,
    store: label,
    provider: Object.keys(store.spec.provider ?? {})[0] ?? "unknown",
    health: healthOf(store),
    reason: ready?.reason ?? "",
    message: ready?.message ?? "",
    warnings: (store.status?.conditions ?? [])
      .filter((c) => c.type !== "Ready" && c.status === "True")
      .map((c) => c.type),
    externalSecrets: externalSecrets.filter((es) => esStoreLabels(es).includes(label)).length,
    backendCalls: calls.get(label) ?? noCalls,
  };
}

function externalSecretRow(es: ExternalSecret, now: number, syncs: Counts): ExternalSecretRow {
  const ready = readyCondition(es.status?.conditions);
  const age = secretAge(es, now);
  const namespace = es.metadata.namespace ?? "";
  return {
    namespace,
    name: es.metadata.name,
    store: esStoreLabels(es).join(", "),
    health: healthOf(es),
    stale: isStale(age),
    reason: ready?.reason ?? "",
    message: ready?.message ?? "",
    refreshPolicy: es.spec.refreshPolicy ?? defaults.refreshPolicy,
    lastRefresh: es.status?.refreshTime,
    ...age,
    target: targetSecretName(es),
    syncs: syncs.get(`${namespace}/${es.metadata.name}`) ?? noCalls,
  };
}

function matches(row: ExternalSecretRow, status: StatusFilter | undefined): boolean {
  if (!status) return true;
  return status === "stale" ? row.stale : row.health === status;
}

const compare: Record<SortKey, (a: ExternalSecretRow, b: ExternalSecretRow) => number> = {
  name: (a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name),
  // Oldest first, relative to the interval when there is one; never-synced last.
  age: (a, b) => ageRank(b) - ageRank(a) || compare.name(a, b),
  errors: (a, b) =>
    b.syncs.failed - a.syncs.failed ||
    Number(b.health === "degraded") - Number(a.health === "degraded") ||
    compare.name(a, b),
};

function ageRank(row: ExternalSecretRow): number {
  if (row.ageSeconds === undefined) return -1;
  return row.refreshIntervalSeconds ? row.ageSeconds / row.refreshIntervalSeconds : row.ageSeconds / 3600;
}

function secretRow(es: ExternalSecret, view: ControllerView, secrets: Map<string, CachedSecret>): SecretRow {
  const namespace = es.metadata.namespace ?? "";
  const name = targetSecretName(es);
  const secret = secrets.get(`${namespace}/${name}`);
  return {
    namespace,
    name,
    externalSecret: es.metadata.name,
    exists: secret !== undefined,
    type: secret?.type,
    keys: Object.keys(secret?.data ?? {}).sort(),
    consumers: view.consumers?.consumersOf(namespace, name),
    consumerCounts: es.status?.consumers,
  };
}

export async function buildOverview(
  view: ControllerView,
  registry: Registry,
  query: Query = {},
  now = Date.now(),
): Promise<Overview> {
  const inNamespace = (ns: string | undefined) => !query.namespace || ns === query.namespace;
  const allExternalSecrets = view.externalSecrets();
  const externalSecrets = allExternalSecrets.filter((es) => inNamespace(es.metadata.namespace));
  // ClusterSecretStores belong to every namespace.
  const stores = view
    .stores()
    .filter((s) => s.kind === "ClusterSecretStore" || inNamespace(s.metadata.namespace));
  const [syncs, calls] = await Promise.all([
    countsBy(registry, "refsync_sync_calls_total", (l) => (l.name ? `${l.namespace}/${l.name}` : undefined)),
    countsBy(registry, "refsync_provider_api_calls_total", (l) => (l.store ? String(l.store) : undefined)),
  ]);

  const esRows = externalSecrets.map((es) => externalSecretRow(es, now, syncs));
  const storeRows = stores.map((s) => storeRow(s, allExternalSecrets, calls));
  const tally = <K extends string>(keys: readonly K[], of: (k: K) => number) =>
    Object.fromEntries(keys.map((k) => [k, of(k)])) as Record<K, number>;
  const healths = ["healthy", "progressing", "degraded"] as const;

  const filtered = esRows.filter((row) => matches(row, query.status)).sort(compare[query.sort ?? "name"]);
  const shown = new Set(filtered.map((r) => `${r.namespace}/${r.name}`));
  const secrets = new Map(
    view.managedSecrets().map((s) => [`${s.metadata.namespace ?? ""}/${s.metadata.name}`, s]),
  );
  return {
    generatedAt: new Date(now).toISOString(),
    summary: {
      leader: view.isLeader(),
      queueDepth: view.queueDepth(),
      inflightReads: view.inflightReads(),
      externalSecrets: tally(statusFilters, (s) => esRows.filter((r) => matches(r, s)).length),
      stores: tally(healths, (h) => storeRows.filter((r) => r.health === h).length),
    },
    stores: storeRows.sort((a, b) => a.store.localeCompare(b.store)),
    externalSecrets: filtered,
    secrets: externalSecrets
      .filter((es) => shown.has(`${es.metadata.namespace}/${es.metadata.name}`))
      .map((es) => secretRow(es, view, secrets))
      .sort((a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name)),
    events: view
      .recentEvents()
      .filter((e) => inNamespace(e.object.namespace))
      .slice(-50)
      .reverse(),
    namespaces: [...new Set(allExternalSecrets.map((es) => es.metadata.namespace ?? ""))].sort(),
  };
}
