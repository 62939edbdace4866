/**
 * Refresh herd: 1,000 ExternalSecrets created at once, each reading its own
 * path (so the shared cache cannot hide a herd), watched over the first
 * refresh cycles. Backend reads per bin are sampled from the controller's
 * metrics; the figure is the peak bin against the mean (target ≤ 3×).
 *
 * Time is compressed: refreshInterval T = 40 s instead of 1 h, bins of
 * T/40 = 1 s. Each path refreshes at a fixed phase within T, the phases
 * placed evenly over the paths (src/controller/externalsecret/placement.ts);
 * they scale with T, so the refresh-cycle figure carries over to 1 h with
 * bins of 90 s. (Bins must scale with T: at 1 h, 1,000 reads are
 * 0.28 per second on average, so one-second bins would put any single read
 * above 3× the mean.)
 *
 * The rows with the initial sync measure the creation burst itself, not a
 * refresh herd: a new ExternalSecret gets its Secret right away, so 1,000
 * created at once cost 1,000 reads as fast as the store's rate limit allows
 * (default 50 reads/s, burst 100) whatever T is. That cannot meet 3×
 * without delaying new Secrets; at 1 h it is far worse than here (the whole
 * burst lands in one 90 s bin), which the last row estimates from the
 * measured reads. The store's `rateLimit` is what bounds it. Each path has
 * one ExternalSecret, so each first sync is one read: the bench watches the
 * ExternalSecrets become Ready and subtracts those reads per bin, which
 * leaves the refreshes of the first cycle (the first hour's herd proper).
 *   node bench/run.ts herd     (or: node bench/herd.ts)
 * Env: BENCH_HERD_INTERVAL_S (40), BENCH_HERD_CYCLES (5), BENCH_HERD_DEBUG=1 (print the per-bin
 * reads and first syncs on stderr).
 */
import type { ExternalSecret } from "../src/api/v1alpha1.ts";
import { RefreshPlacement } from "../src/controller/externalsecret/placement.ts";
import {
  hashedPhaseMs,
  lastSlotMs,
  refreshIntervalMs,
  refreshSeed,
  type PhaseOf,
} from "../src/controller/externalsecret/schedule.ts";
import { Informer } from "../src/kube/informer.ts";
import { KubeClient } from "../src/kube/client.ts";
import { resourceTypes } from "../src/kube/resources.ts";
import { silentLogger } from "../src/log.ts";
import { startCluster } from "../test/cluster/index.ts";
import { ensureCrds, externalSecret, fakeStore } from "../test/controller/harness.ts";
import { pool, sampleReads, startBenchController } from "./herd-kit.ts";
import type { BenchResult } from "./run.ts";
import { runIfMain } from "./standalone.ts";

const COUNT = 1000;
const INTERVAL_S = Number(process.env.BENCH_HERD_INTERVAL_S ?? 40);
const CYCLES = Number(process.env.BENCH_HERD_CYCLES ?? 5);
const BIN_MS = (INTERVAL_S * 1000) / 40;

/**
 * Counts, per bin of `binMs` from `start` (performance.now()), the ExternalSecrets of `namespace`
 * first seen Ready; and records when (Date.now()) each later refresh (a new status.refreshTime)
 * was seen, by name.
 */
function watchSyncs(kube: KubeClient, namespace: string, start: () => number, binMs: number) {
  const bins: number[] = [];
  const refreshTimes = new Map<string, string | undefined>();
  const refreshes: { name: string; at: number }[] = [];
  const informer = new Informer<ExternalSecret>(kube, resourceTypes.externalSecret, silentLogger, {
    namespace,
  });
  informer.on((_event, es) => {
    const ready = es.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True");
    if (!ready) return;
    const name = es.metadata.name;
    if (!refreshTimes.has(name)) {
      const bin = Math.floor((performance.now() - start()) / binMs);
      bins[bin] = (bins[bin] ?? 0) + 1;
    } else if (refreshTimes.get(name) !== es.status?.refreshTime) refreshes.push({ name, at: Date.now() });
    refreshTimes.set(name, es.status?.refreshTime);
  });
  informer.start();
  return { bins, refreshes, ready: () => informer.waitForSync(), stop: () => informer.stop() };
}

/** The q-quantile of `values` (sorted here). */
function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
}

/**
 * Reads per bin that the schedule itself plans for `objects` in [fromMs, toMs) (wall clock):
 * one per distinct slot seed and slot, as the shared cache makes it, with the phases of
 * `phaseOf`. The peak/mean of these bins is what the phases give before any controller runs.
 */
function scheduledReads(
  objects: ExternalSecret[],
  phaseOf: PhaseOf,
  fromMs: number,
  toMs: number,
  binMs: number,
): number[] {
  const bins = Array.from({ length: Math.round((toMs - fromMs) / binMs) }, () => 0);
  const seeds = new Map(objects.map((es) => [refreshSeed(es), refreshIntervalMs(es)]));
  for (const [seed, interval] of seeds) {
    for (
      let at = lastSlotMs(seed, interval, toMs - 1, phaseOf);
      at >= fromMs;
      at = lastSlotMs(seed, interval, at - 1, phaseOf)
    ) {
      const bin = Math.floor((at - fromMs) / binMs);
      if (bin < bins.length) bins[bin] = (bins[bin] ?? 0) + 1;
    }
  }
  return bins;
}

const peakOverMean = (bins: number[]) => {
  const mean = bins.reduce((a, b) => a + b, 0) / bins.length;
  return { mean, peak: Math.max(...bins), ratio: Math.max(...bins) / mean };
};

export async function bench(): Promise<BenchResult> {
  const cluster = await startCluster({ crds: true });
  const kube = await KubeClient.fromKubeConfig(cluster.kc);
  await ensureCrds(kube);
  const ns = await cluster.createNamespace("bench-herd");
  const ctl = await startBenchController(cluster, ns, 8);
  try {
    const data = Array.from({ length: COUNT }, (_, k) => ({ key: `app/p-${k}`, value: `v-${k}` }));
    await kube.apply(resourceTypes.secretStore, fakeStore(ns, "store", data), { fieldManager: "bench" });
    let samplingStart = performance.now();
    const firstSyncs = watchSyncs(kube, ns, () => samplingStart, BIN_MS);
    await firstSyncs.ready();
    samplingStart = performance.now();
    const wallStart = Date.now();
    const sampling = sampleReads(ctl, BIN_MS, CYCLES * INTERVAL_S * 1000);
    const t0 = performance.now();
    const objects = Array.from({ length: COUNT }, (_, i) =>
      externalSecret(ns, `es-${i}`, {
        secretStoreRef: { name: "store" },
        refreshInterval: `${INTERVAL_S}s`,
        data: [{ secretKey: "value", remoteRef: { key: `app/p-${i}` } }],
      }),
    );
    await pool(COUNT, 16, (i) => kube.create(resourceTypes.externalSecret, objects[i] as ExternalSecret));
    const createdS = (performance.now() - t0) / 1000;
    const reads = await sampling;
    await firstSyncs.stop();
    const scrapeStart = performance.now();
    const scrapeKiB = (await ctl.metrics()).length / 1024;
    const scrapeMs = performance.now() - scrapeStart;
    if (process.env.BENCH_HERD_DEBUG) console.error(JSON.stringify({ reads, firstSyncs: firstSyncs.bins }));
    const perSecond = (n: number) => n / (BIN_MS / 1000);
    const bins = reads.map(perSecond);
    const perCycle = bins.length / CYCLES;
    const all = peakOverMean(bins);
    const firstCycle = peakOverMean(bins.slice(0, perCycle));
    // A bin's first syncs were observed a little after their reads: clamp, and carry no negative count.
    const firstCycleRefreshes = peakOverMean(
      reads.slice(0, perCycle).map((n, i) => perSecond(Math.max(0, n - (firstSyncs.bins[i] ?? 0)))),
    );
    // The steady state: from one interval (+ the 5 % minimum gap) after the last first sync, when every
    // key refreshes on its slot (its first refresh may still follow a phase placed before the last key came).
    const steadyFrom = Math.max(perCycle, Math.ceil(firstSyncs.bins.length + 1.05 * perCycle));
    const steadyCycles = (bins.length - steadyFrom) / perCycle;
    const refresh = peakOverMean(bins.slice(steadyFrom)); // refreshes only
    // The controller places the phases of the keys it holds (all of them, once created) evenly.
    const placement = new RefreshPlacement();
    for (const es of objects) placement.track(es.metadata.name, es);
    const plan = (phaseOf: PhaseOf) =>
      peakOverMean(
        scheduledReads(
          objects,
          phaseOf,
          wallStart + steadyFrom * BIN_MS,
          wallStart + bins.length * BIN_MS,
          BIN_MS,
        ),
      );
    const planned = plan(placement.phaseOf);
    // How late the controller ran each steady-state refresh: from its planned slot to its new
    // status.refreshTime seen by this client's watch (the read comes first, then the status patch).
    const byName = new Map(objects.map((es) => [es.metadata.name, es]));
    const lateness = firstSyncs.refreshes
      .filter((r) => r.at >= wallStart + steadyFrom * BIN_MS)
      .map((r) => {
        const es = byName.get(r.name) as ExternalSecret;
        return r.at - lastSlotMs(refreshSeed(es), refreshIntervalMs(es), r.at, placement.phaseOf);
      });
    const hashed = plan(hashedPhaseMs);
    const initialReads = firstSyncs.bins.reduce((a, b) => a + (b ?? 0), 0);
    // At 1 h the first 90 s bin holds the whole initial sync; the hour's 40 bins hold it plus the first cycle's refreshes.
    const firstCycleRefreshReads = firstCycleRefreshes.mean * perCycle * (BIN_MS / 1000);
    const hourRatio = initialReads / ((initialReads + firstCycleRefreshReads) / perCycle);
    const f = (n: number) => n.toFixed(1);
    return {
      title: `Refresh herd: ${COUNT} ExternalSecrets created at once, ${COUNT} paths, refreshInterval ${INTERVAL_S}s`,
      lines: [
        `Time compressed: T = ${INTERVAL_S} s stands for 1 h; bins of T/40 (${BIN_MS / 1000} s here, 90 s at 1 h). Created in ${f(createdS)} s.`,
        "",
        "| window | mean reads/s | peak reads/s | peak / mean | target |",
        "|---|---|---|---|---|",
        `| first ${CYCLES} cycles, initial sync included | ${f(all.mean)} | ${f(all.peak)} | **${all.ratio.toFixed(2)}×** | ≤ 3× |`,
        `| first cycle ("first hour"), initial sync included | ${f(firstCycle.mean)} | ${f(firstCycle.peak)} | **${firstCycle.ratio.toFixed(2)}×** | ≤ 3× |`,
        `| first cycle, refreshes only (the ${initialReads} first-sync reads subtracted per bin) | ${f(firstCycleRefreshes.mean)} | ${f(firstCycleRefreshes.peak)} | **${firstCycleRefreshes.ratio.toFixed(2)}×** | ≤ 3× |`,
        // Without a steady window the rows of its plan and lateness would be empty (NaN).
        ...(steadyCycles >= 1
          ? [
              `| the steady state, refreshes only: bins ${steadyFrom + 1}–${bins.length} (${steadyCycles.toFixed(1)} cycles from one interval after the last first sync) | ${f(refresh.mean)} | ${f(refresh.peak)} | **${refresh.ratio.toFixed(2)}×** | ≤ 1.3× ${refresh.ratio <= 1.3 ? "met" : "**missed**"} |`,
              `| the same cycles as the schedule plans them (each path's slots at its evenly placed phase, binned alike; no controller) | ${f(perSecond(planned.mean))} | ${f(perSecond(planned.peak))} | ${planned.ratio.toFixed(2)}× | |`,
              `| the same, had each phase been hashed from its key (the schedule before placement) | ${f(perSecond(hashed.mean))} | ${f(perSecond(hashed.peak))} | ${hashed.ratio.toFixed(2)}× | |`,
              `| steady-state refreshes: planned slot → new status.refreshTime seen by a watch, p50 / p99 / max (${lateness.length} refreshes) | ${quantile(lateness, 0.5).toFixed(0)} / ${quantile(lateness, 0.99).toFixed(0)} / ${Math.max(...lateness).toFixed(0)} ms | | | |`,
            ]
          : [
              `| the steady state | not reached: the last first sync came in bin ${firstSyncs.bins.length} of ${bins.length}; more cycles: BENCH_HERD_CYCLES | | | ≤ 1.3× **not measured** |`,
            ]),
        `| one scrape of the controller's /metrics (the sampler's probe, once a bin) | ${scrapeMs.toFixed(0)} ms, ${scrapeKiB.toFixed(0)} KiB | | | |`,
        `| at 1 h, estimated: the ${initialReads} first-sync reads in one 90 s bin against the first hour's mean | | | ${hourRatio.toFixed(1)}× | ≤ 3× |`,
      ],
    };
  } finally {
    await ctl.stop();
    kube.close();
    await cluster.stop();
  }
}

await runIfMain(import.meta.filename, bench);
