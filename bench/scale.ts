/**
 * Scale: 10,000 ExternalSecrets over 1,000 keys in 100 namespaces, and the
 * same at 1,000 and 5,000 so the growth shows. Each namespace has a fake
 * SecretStore with 10 keys; ExternalSecret i lives in namespace i % 100 and
 * reads key ⌊i / 100⌋ % 10, so every size has the same 1,000 distinct keys
 * (ExternalSecrets that share a key in a namespace share its refresh slot and
 * its read). Each size gets a fresh API server and a fresh cluster-wide
 * controller (8 workers, run as the image runs it), then: the first sync of
 * all of them, and `CYCLES` refresh cycles with time compressed
 * (refreshInterval T = 40 s standing for 1 h).
 * Per size: time to Ready of each ExternalSecret from its create (p50, p99,
 * max) and of all of them, API requests per second by verb and resource
 * during the first sync and the refresh cycles, backend reads per cycle,
 * controller CPU seconds, peak RSS. Writes the table into the results and a
 * plot to bench/scale.svg.
 * Targets: all Ready ≤ 60 s, peak RSS ≤ 250 MiB, backend reads per cycle =
 * distinct keys, controller CPU per object at the largest size within 1.2× of
 * the smallest.
 *   node bench/run.ts scale     (or: node bench/scale.ts; both need `npm run build`)
 * Env: BENCH_SCALE_SIZES (1000,5000,10000), BENCH_SCALE_INTERVAL_S (40), BENCH_SCALE_CYCLES (3),
 * BENCH_SCALE_TIMEOUT_S (600: a size still not all Ready then is reported as it stands).
 */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { ExternalSecret } from "../src/api/v1alpha1.ts";
import { Informer } from "../src/kube/informer.ts";
import { KubeClient } from "../src/kube/client.ts";
import { resourceTypes } from "../src/kube/resources.ts";
import { silentLogger } from "../src/log.ts";
import { startCluster } from "../test/cluster/index.ts";
import { ensureCrds, externalSecret, fakeStore } from "../test/controller/harness.ts";
import { apiRequestCounts, cpuSeconds, pool, rssMiB, startBenchController, sumMetric } from "./herd-kit.ts";
import type { BenchResult } from "./run.ts";
import { runIfMain } from "./standalone.ts";

const SIZES = (process.env.BENCH_SCALE_SIZES ?? "1000,5000,10000").split(",").map(Number);
const INTERVAL_S = Number(process.env.BENCH_SCALE_INTERVAL_S ?? 40);
const CYCLES = Number(process.env.BENCH_SCALE_CYCLES ?? 3);
const TIMEOUT_S = Number(process.env.BENCH_SCALE_TIMEOUT_S ?? 600);
const NAMESPACES = 100;
const KEYS_PER_NAMESPACE = 10;
const DISTINCT_KEYS = NAMESPACES * KEYS_PER_NAMESPACE;
/** The (namespace, key) pairs `objects` ExternalSecrets read: 1,000 from 1,000 on. */
const keysRead = (objects: number) => Math.min(objects, DISTINCT_KEYS);

interface SizeResult {
  objects: number;
  ready: number;
  allReadyS: number;
  p50: number;
  p99: number;
  max: number;
  readsPerCycle: number;
  cpuFirstSync: number;
  cpuRefresh: number;
  peakRss: number;
  syncRates: [string, number][];
  refreshRates: [string, number][];
}

const quantile = (xs: number[], q: number) => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
};

/** Requests per second by "VERB resource" between two metric texts, highest first. */
function rates(before: string, after: string, seconds: number): [string, number][] {
  const a = apiRequestCounts(before);
  return [...apiRequestCounts(after)]
    .map(([k, n]): [string, number] => [k, (n - (a.get(k) ?? 0)) / seconds])
    .filter(([, r]) => r > 0)
    .sort((x, y) => y[1] - x[1]);
}

async function runSize(objects: number): Promise<SizeResult> {
  const cluster = await startCluster({ crds: true });
  const kube = await KubeClient.fromKubeConfig(cluster.kc);
  await ensureCrds(kube);
  try {
    const namespaces = await Promise.all(
      Array.from({ length: NAMESPACES }, (_, i) => cluster.createNamespace(`scale-${i}`)),
    );
    const data = Array.from({ length: KEYS_PER_NAMESPACE }, (_, k) => ({
      key: `app/k-${k}`,
      value: `v-${k}`,
    }));
    await pool(NAMESPACES, 8, (i) =>
      kube.apply(resourceTypes.secretStore, fakeStore(namespaces[i] as string, "scale", data), {
        fieldManager: "bench",
      }),
    );
    const ctl = await startBenchController(cluster, undefined, 8);
    try {
      const createdAt = new Map<string, number>();
      const readyAfter: number[] = [];
      let lastReady = 0;
      let resolveAll: () => void = () => {};
      const allReady = new Promise<void>((resolve) => (resolveAll = resolve));
      const informer = new Informer<ExternalSecret>(kube, resourceTypes.externalSecret, silentLogger);
      const seen = new Set<string>();
      informer.on((_event, es) => {
        const key = `${es.metadata.namespace}/${es.metadata.name}`;
        const ok = es.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True");
        if (!ok || seen.has(key)) return;
        seen.add(key);
        lastReady = performance.now();
        readyAfter.push((lastReady - (createdAt.get(key) ?? lastReady)) / 1000);
        if (seen.size === objects) resolveAll();
      });
      informer.start();
      await informer.waitForSync();
      const cpu0 = cpuSeconds(ctl.pid);
      const metrics0 = await ctl.metrics();
      const t0 = performance.now();
      await pool(objects, 16, async (i) => {
        const ns = namespaces[i % NAMESPACES] as string;
        const name = `es-${i}`;
        const es = externalSecret(ns, name, {
          secretStoreRef: { name: "scale" },
          refreshInterval: `${INTERVAL_S}s`,
          data: [
            {
              secretKey: "value",
              remoteRef: { key: `app/k-${Math.floor(i / NAMESPACES) % KEYS_PER_NAMESPACE}` },
            },
          ],
        });
        await kube.create(resourceTypes.externalSecret, es);
        createdAt.set(`${ns}/${name}`, performance.now());
      });
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([allReady, new Promise((r) => (timer = setTimeout(r, TIMEOUT_S * 1000)))]);
      clearTimeout(timer);
      const allReadyS = ((seen.size === objects ? lastReady : performance.now()) - t0) / 1000;
      const cpu1 = cpuSeconds(ctl.pid);
      const metrics1 = await ctl.metrics();
      // Refresh cycles: reads and requests over exactly CYCLES intervals after the first sync.
      await new Promise((r) => setTimeout(r, CYCLES * INTERVAL_S * 1000));
      const metrics2 = await ctl.metrics();
      const cpu2 = cpuSeconds(ctl.pid);
      const reads = (m: string) => sumMetric(m, "refsync_provider_api_calls_total", 'call="read');
      await informer.stop();
      return {
        objects,
        ready: seen.size,
        allReadyS,
        p50: quantile(readyAfter, 0.5),
        p99: quantile(readyAfter, 0.99),
        max: Math.max(...readyAfter),
        readsPerCycle: (reads(metrics2) - reads(metrics1)) / CYCLES,
        cpuFirstSync: cpu1 - cpu0,
        cpuRefresh: cpu2 - cpu1,
        peakRss: rssMiB(ctl.pid).peak,
        syncRates: rates(metrics0, metrics1, allReadyS),
        refreshRates: rates(metrics1, metrics2, CYCLES * INTERVAL_S),
      };
    } finally {
      await ctl.stop();
    }
  } finally {
    kube.close();
    await cluster.stop();
  }
}

/** One small line chart: x = objects, one polyline per series. */
function panel(
  x0: number,
  title: string,
  unit: string,
  xs: number[],
  series: { name: string; color: string; ys: number[] }[],
  limit?: { value: number; label: string },
): string {
  const w = 300;
  const h = 200;
  const left = x0 + 50;
  const top = 40;
  const maxY = Math.max(...series.flatMap((s) => s.ys), limit?.value ?? 0) * 1.1 || 1;
  const maxX = Math.max(...xs);
  const px = (x: number) => left + (x / maxX) * (w - 70);
  const py = (y: number) => top + h - (y / maxY) * h;
  const parts = [
    `<text x="${left}" y="20" font-size="13" font-weight="bold">${title}</text>`,
    `<line x1="${left}" y1="${top + h}" x2="${left + w - 70}" y2="${top + h}" stroke="#444"/>`,
    `<line x1="${left}" y1="${top}" x2="${left}" y2="${top + h}" stroke="#444"/>`,
    `<text x="${left - 6}" y="${top + 4}" font-size="10" text-anchor="end">${maxY.toFixed(maxY < 10 ? 1 : 0)}</text>`,
    `<text x="${left - 6}" y="${top + h}" font-size="10" text-anchor="end">0</text>`,
    `<text x="${left}" y="${top - 6}" font-size="10">${unit}</text>`,
    ...xs.map(
      (x) =>
        `<text x="${px(x)}" y="${top + h + 14}" font-size="10" text-anchor="middle">${x.toLocaleString("en")}</text>`,
    ),
    `<text x="${left + (w - 70) / 2}" y="${top + h + 30}" font-size="10" text-anchor="middle">ExternalSecrets</text>`,
  ];
  if (limit) {
    parts.push(
      `<line x1="${left}" y1="${py(limit.value)}" x2="${left + w - 70}" y2="${py(limit.value)}" stroke="#c00" stroke-dasharray="4 3"/>`,
      `<text x="${left + w - 72}" y="${py(limit.value) - 4}" font-size="10" fill="#c00" text-anchor="end">${limit.label}</text>`,
    );
  }
  series.forEach((s, k) => {
    const points = xs.map((x, i) => `${px(x).toFixed(1)},${py(s.ys[i] ?? 0).toFixed(1)}`).join(" ");
    parts.push(`<polyline points="${points}" fill="none" stroke="${s.color}" stroke-width="2"/>`);
    parts.push(
      ...xs.map((x, i) => `<circle cx="${px(x)}" cy="${py(s.ys[i] ?? 0)}" r="3" fill="${s.color}"/>`),
    );
    parts.push(
      `<text x="${left + 8}" y="${top + 14 + k * 13}" font-size="10" fill="${s.color}">${s.name}</text>`,
    );
  });
  return parts.join("\n");
}

function plot(results: SizeResult[]): string {
  const xs = results.map((r) => r.objects);
  const panels = [
    panel(
      0,
      "Time to Ready",
      "seconds",
      xs,
      [
        { name: "all Ready", color: "#222", ys: results.map((r) => r.allReadyS) },
        { name: "max", color: "#d62728", ys: results.map((r) => r.max) },
        { name: "p99", color: "#ff7f0e", ys: results.map((r) => r.p99) },
        { name: "p50", color: "#1f77b4", ys: results.map((r) => r.p50) },
      ],
      { value: 60, label: "target 60 s" },
    ),
    panel(
      330,
      "Controller peak RSS",
      "MiB",
      xs,
      [{ name: "peak RSS", color: "#2ca02c", ys: results.map((r) => r.peakRss) }],
      { value: 250, label: "target 250 MiB" },
    ),
    panel(660, "Cost per ExternalSecret", "ms CPU / API requests", xs, [
      {
        name: "controller CPU ms, first sync",
        color: "#9467bd",
        ys: results.map((r) => (r.cpuFirstSync * 1000) / r.objects),
      },
      {
        name: "API requests, first sync",
        color: "#8c564b",
        ys: results.map((r) => (r.syncRates.reduce((a, [, n]) => a + n, 0) * r.allReadyS) / r.objects),
      },
    ]),
    panel(990, "Backend reads per refresh cycle", "reads", xs, [
      { name: "reads per cycle", color: "#17becf", ys: results.map((r) => r.readsPerCycle) },
      { name: "distinct keys", color: "#999", ys: results.map((r) => keysRead(r.objects)) },
    ]),
  ];
  return `<svg xmlns="http://www.w3.org/2000/svg" width="1320" height="290" font-family="sans-serif">
<rect width="100%" height="100%" fill="#fff"/>
${panels.join("\n")}
</svg>
`;
}

export async function bench(): Promise<BenchResult> {
  const results: SizeResult[] = [];
  for (const size of SIZES) results.push(await runSize(size));
  await writeFile(join(import.meta.dirname, "scale.svg"), plot(results));
  const first = results[0] as SizeResult;
  const last = results.at(-1) as SizeResult;
  const perObject = (r: SizeResult) => (r.cpuFirstSync * 1000) / r.objects;
  const growth = perObject(last) / perObject(first);
  const verdict = (ok: boolean) => (ok ? "met" : "**missed**");
  const top = (xs: [string, number][]) =>
    xs
      .slice(0, 5)
      .map(([k, r]) => `${k} ${r.toFixed(r < 10 ? 1 : 0)}`)
      .join(", ");
  const s = (x: number) => `${x.toFixed(1)} s`;
  return {
    title: `Scale: up to ${last.objects} ExternalSecrets over ${DISTINCT_KEYS} keys in ${NAMESPACES} namespaces`,
    lines: [
      `Fresh API server and cluster-wide controller (8 workers) per size; first sync, then ${CYCLES} refresh cycles of T = ${INTERVAL_S} s (standing for 1 h). Plot: [scale.svg](scale.svg).`,
      "",
      "| ExternalSecrets | Ready | all Ready | time to Ready p50 / p99 / max | backend reads per cycle | controller CPU: first sync; refresh cycles | CPU per ExternalSecret (first sync) | peak RSS | API requests/s, first sync | API requests/s, refresh cycles |",
      "|---:|---:|---:|---|---:|---|---:|---:|---|---|",
      ...results.map(
        (r) =>
          `| ${r.objects.toLocaleString("en")} | ${r.ready} | ${s(r.allReadyS)} | ${s(r.p50)} / ${s(r.p99)} / ${s(r.max)} | ${r.readsPerCycle.toFixed(0)} | ${s(r.cpuFirstSync)}; ${s(r.cpuRefresh)} | ${perObject(r).toFixed(2)} ms | ${r.peakRss.toFixed(0)} MiB | ${top(r.syncRates)} | ${top(r.refreshRates)} |`,
      ),
      "",
      "| target | measured | met? |",
      "|---|---|---|",
      `| all ${last.objects.toLocaleString("en")} Ready ≤ 60 s | ${last.ready === last.objects ? s(last.allReadyS) : `${last.ready} Ready after ${s(last.allReadyS)}`} | ${verdict(last.ready === last.objects && last.allReadyS <= 60)} |`,
      `| peak RSS ≤ 250 MiB | ${last.peakRss.toFixed(0)} MiB | ${verdict(last.peakRss <= 250)} |`,
      `| backend reads per cycle = distinct keys (${results.map((r) => keysRead(r.objects)).join(" / ")}; ± 5 % for the slots' jitter at the window's edges) | ${results.map((r) => r.readsPerCycle.toFixed(0)).join(" / ")} | ${verdict(results.every((r) => Math.abs(r.readsPerCycle - keysRead(r.objects)) <= keysRead(r.objects) * 0.05))} |`,
      `| controller CPU per ExternalSecret, ${last.objects.toLocaleString("en")} / ${first.objects.toLocaleString("en")} ≤ 1.2× | ${perObject(last).toFixed(2)} / ${perObject(first).toFixed(2)} ms = ${growth.toFixed(2)}× | ${verdict(growth <= 1.2)} |`,
    ],
  };
}

await runIfMain(import.meta.filename, bench);
