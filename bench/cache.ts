/**
 * Cache effectiveness: 1,000 ExternalSecrets over 100 paths of one store.
 * Backend reads in one full refresh cycle after all are synced (target
 * ≤ 100: the ExternalSecrets of a path share its refresh slots and the
 * shared cache with single flight reads it once per slot), next to the
 * 1,000 a controller without a cache would make. Slots are one interval
 * ± jitter apart, so a window of one interval holds 100 ± a few of them:
 * the figure is also given per slot (target ≤ 1).
 *   node bench/run.ts cache     (or: node bench/cache.ts)
 * Env: BENCH_CACHE_INTERVAL_S (30): refreshInterval, i.e. the cycle.
 */
import { KubeClient } from "../src/kube/client.ts";
import { resourceTypes } from "../src/kube/resources.ts";
import { startCluster } from "../test/cluster/index.ts";
import { ensureCrds, externalSecret, fakeStore, refreshSlotsBetween } from "../test/controller/harness.ts";
import { pool, startBenchController } from "./herd-kit.ts";
import type { BenchResult } from "./run.ts";
import { runIfMain } from "./standalone.ts";

const COUNT = 1000;
const PATHS = 100;
const INTERVAL_S = Number(process.env.BENCH_CACHE_INTERVAL_S ?? 30);

export async function bench(): Promise<BenchResult> {
  const cluster = await startCluster({ crds: true });
  const kube = await KubeClient.fromKubeConfig(cluster.kc);
  await ensureCrds(kube);
  const ns = await cluster.createNamespace("bench-cache");
  const ctl = await startBenchController(cluster, ns, 8);
  try {
    const data = Array.from({ length: PATHS }, (_, k) => ({ key: `app/p-${k}`, value: `v-${k}` }));
    await kube.apply(resourceTypes.secretStore, fakeStore(ns, "store", data), { fieldManager: "bench" });
    const objects = Array.from({ length: COUNT }, (_, i) =>
      externalSecret(ns, `es-${i}`, {
        secretStoreRef: { name: "store" },
        refreshInterval: `${INTERVAL_S}s`,
        data: [{ secretKey: "value", remoteRef: { key: `app/p-${i % PATHS}` } }],
      }),
    );
    const started = Date.now();
    await pool(COUNT, 8, (i) => kube.create(resourceTypes.externalSecret, objects[i]!));
    // Wait until every ExternalSecret has synced once.
    for (;;) {
      const { items } = await kube.list<{ status?: { refreshTime?: string } }>(resourceTypes.externalSecret, {
        namespace: ns,
      });
      if (items.filter((es) => es.status?.refreshTime).length === COUNT) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    const initial = await ctl.reads();
    const from = Date.now();
    const initialSlots = refreshSlotsBetween(objects, started, from);
    // One whole cycle: every ExternalSecret refreshes once within it (± jitter).
    await new Promise((r) => setTimeout(r, INTERVAL_S * 1000));
    const cycle = (await ctl.reads()) - initial;
    const slots = refreshSlotsBetween(objects, from, Date.now());
    const perSlot = cycle / slots;
    const metrics = await ctl.metrics();
    const syncs = metrics
      .split("\n")
      .filter((l) => l.startsWith("refsync_sync_calls_total{"))
      .reduce((n, l) => n + Number(l.slice(l.lastIndexOf(" ") + 1)), 0);
    return {
      title: `Cache: ${COUNT} ExternalSecrets over ${PATHS} paths, refreshInterval ${INTERVAL_S}s`,
      lines: [
        "| measurement | value | target |",
        "|---|---|---|",
        `| backend reads until all ${COUNT} synced once (${initialSlots} refresh slots passed meanwhile) | ${initial} | ≤ ${PATHS} + ${initialSlots} |`,
        `| backend reads in a window of one refresh interval (${INTERVAL_S} s) | ${cycle} | |`,
        `| refresh slots of the ${PATHS} paths in that window (one interval ± jitter apart) | ${slots} | |`,
        `| backend reads per slot | ${perSlot.toFixed(2)} | ≤ 1 |`,
        `| backend reads per refresh cycle (${PATHS} paths × reads per slot) | **${Math.round(PATHS * perSlot)}** | ≤ ${PATHS} |`,
        `| without a shared cache (one read per ExternalSecret per cycle) | ${COUNT} | |`,
        `| ratio (reads per cycle / no-cache reads) | ${((PATHS * perSlot) / COUNT).toFixed(3)}× | ≤ ${(PATHS / COUNT).toFixed(3)}× |`,
        `| syncs during the run (reconciles that fetched) | ${syncs} | |`,
      ],
    };
  } finally {
    await ctl.stop();
    kube.close();
    await cluster.stop();
  }
}

await runIfMain(import.meta.filename, bench);
