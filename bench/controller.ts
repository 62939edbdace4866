/**
 * Controller throughput: 2,000 ExternalSecrets over 100 distinct fake-store
 * keys, from the first create until all are Ready, next to creating 2,000
 * Secrets directly with the same client concurrency (the floor: the API
 * server's own write rate). Also: backend reads in that run (the shared
 * cache should make it ~100) and the controller process's peak RSS.
 *   node bench/run.ts controller     (or: node bench/controller.ts)
 * Env: BENCH_ES_COUNT (2000), BENCH_KEYS (100), BENCH_CONCURRENCY (8).
 */
import { readFileSync } from "node:fs";
import type { ExternalSecret } from "../src/api/v1alpha1.ts";
import { Informer } from "../src/controller/informer.ts";
import { KubeClient, resourceTypes } from "../src/controller/kube/client.ts";
import { silentLogger } from "../src/log.ts";
import { startCluster } from "../test/cluster/index.ts";
import { ensureCrds, externalSecret, fakeStore } from "../test/controller/harness.ts";
import type { BenchResult } from "./run.ts";
import { spawnRefsync } from "../test/cli-process.ts";
import { runIfMain } from "./standalone.ts";

const COUNT = Number(process.env.BENCH_ES_COUNT ?? 2000);
const KEYS = Number(process.env.BENCH_KEYS ?? 100);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 8);

async function pool(n: number, concurrency: number, task: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) await task(next++);
    }),
  );
}

function peakRssMiB(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) / 1024 : NaN;
}

/** User+system CPU seconds a process has used so far. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

function sumMetric(text: string, name: string, filter = ""): number {
  let total = 0;
  for (const line of text.split("\n")) {
    if (line.startsWith(`${name}{`) && line.includes(filter))
      total += Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return total;
}

/** "PATCH secrets 2000, …" from refsync_kube_api_requests_total. */
function apiRequests(text: string): string {
  const counts = new Map<string, number>();
  for (const m of text.matchAll(
    /^refsync_kube_api_requests_total\{verb="(\w+)",resource="([^"]+)",code="\d+"\} (\d+)/gm,
  )) {
    const key = `${m[1]} ${m[2]}`;
    counts.set(key, (counts.get(key) ?? 0) + Number(m[3]));
  }
  return [...counts]
    .sort((a, b) => b[1] - a[1])
    .map(([k, n]) => `${k} ${n}`)
    .join(", ");
}

export async function bench(): Promise<BenchResult> {
  const cluster = await startCluster({ crds: true });
  const kube = await KubeClient.fromKubeConfig(cluster.kc);
  await ensureCrds(kube);
  try {
    // Baseline: 2,000 plain Secrets.
    const base = await cluster.createNamespace("bench-secrets");
    const serverCpu = () => cluster.pids.reduce((sum, pid) => sum + cpuSeconds(pid), 0);
    let cpu0 = serverCpu();
    let t0 = performance.now();
    await pool(COUNT, CONCURRENCY, (i) =>
      kube.create(resourceTypes.secret, {
        apiVersion: "v1",
        kind: "Secret",
        metadata: { name: `s-${i}`, namespace: base },
        data: { value: Buffer.from(`value-${i % KEYS}`).toString("base64") },
      }),
    );
    const baselineMs = performance.now() - t0;
    const baselineServerCpu = serverCpu() - cpu0;

    // The controller, as its own process, so its memory is its own.
    const ns = await cluster.createNamespace("bench-es");
    const child = spawnRefsync(
      [
        "controller",
        "--kubeconfig",
        cluster.kubeconfigPath,
        "--namespace",
        ns,
        "--workers",
        String(CONCURRENCY),
        "--metrics-addr",
        "127.0.0.1:0",
        "--log-level",
        "info",
        "--hash-key-secret",
        `${ns}/refsync-hash-key`,
      ],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    let metricsUrl = "";
    let out = "";
    child.stdout?.setEncoding("utf8");
    child.stdout?.on("data", (chunk: string) => {
      out += chunk;
      const m = /"url":"([^"]+)"/.exec(out);
      if (m && !metricsUrl) metricsUrl = m[1] as string;
    });
    while (!out.includes("controller started")) {
      if (child.exitCode !== null) throw new Error(`controller exited: ${out}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    await kube.apply(
      resourceTypes.secretStore,
      fakeStore(
        ns,
        "bench",
        Array.from({ length: KEYS }, (_, k) => ({ key: `app/key-${k}`, valueMap: { value: `value-${k}` } })),
      ),
      { fieldManager: "bench" },
    );
    const informer = new Informer<ExternalSecret>(kube, resourceTypes.externalSecret, silentLogger, {
      namespace: ns,
    });
    let ready = 0;
    const allReady = new Promise<void>((resolve) => {
      const seen = new Set<string>();
      informer.on((_event, es) => {
        const ok = es.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True");
        if (ok && !seen.has(es.metadata.name)) {
          seen.add(es.metadata.name);
          ready = seen.size;
          if (ready === COUNT) resolve();
        }
      });
    });
    informer.start();
    await informer.waitForSync();
    const controllerCpu0 = cpuSeconds(child.pid as number);
    const idleRss = peakRssMiB(child.pid as number);
    cpu0 = serverCpu();
    t0 = performance.now();
    await pool(COUNT, CONCURRENCY, (i) =>
      kube.create(
        resourceTypes.externalSecret,
        externalSecret(ns, `es-${i}`, {
          secretStoreRef: { name: "bench" },
          data: [{ secretKey: "value", remoteRef: { key: `app/key-${i % KEYS}`, property: "value" } }],
        }),
      ),
    );
    const createdMs = performance.now() - t0;
    const timeout = setTimeout(() => console.error(`bench: still ${COUNT - ready} not Ready`), 120_000);
    await allReady;
    clearTimeout(timeout);
    const controllerMs = performance.now() - t0;
    const runServerCpu = serverCpu() - cpu0;
    const controllerCpu = cpuSeconds(child.pid as number) - controllerCpu0;
    const metrics = await (await fetch(`${metricsUrl}/metrics`)).text();
    const rss = peakRssMiB(child.pid as number);
    child.kill("SIGTERM");
    await informer.stop();
    const backendReads = sumMetric(metrics, "refsync_provider_api_calls_total", 'call="read');
    const cacheMisses = sumMetric(metrics, "refsync_cache_misses_total");
    const ratio = controllerMs / baselineMs;
    const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
    return {
      title: `Controller: ${COUNT} ExternalSecrets over ${KEYS} keys (client concurrency and workers ${CONCURRENCY})`,
      lines: [
        "| measurement | value | target |",
        "|---|---|---|",
        `| create ${COUNT} Secrets directly (baseline) | ${s(baselineMs)} | |`,
        `| ${COUNT} ExternalSecrets created | ${s(createdMs)} | |`,
        `| ${COUNT} ExternalSecrets all Ready | ${s(controllerMs)} | ≤ 60 s |`,
        `| ratio (all Ready / baseline) | ${ratio.toFixed(2)}× | ≤ 2× |`,
        `| backend reads (provider read calls; cache misses) | ${backendReads}; ${cacheMisses} | ≤ 100 |`,
        `| syncs (reconciles that fetched and wrote) | ${sumMetric(metrics, "refsync_sync_calls_total")} | ${COUNT} |`,
        `| controller API requests (non-watch) | ${apiRequests(metrics)} | |`,
        `| CPU: API server + etcd, baseline / ExternalSecret run | ${baselineServerCpu.toFixed(1)} s / ${runServerCpu.toFixed(1)} s | |`,
        `| CPU: controller process in the ExternalSecret run | ${controllerCpu.toFixed(1)} s | |`,
        `| CPU ratio ((API server + etcd + controller) / baseline API server + etcd) | ${((runServerCpu + controllerCpu) / baselineServerCpu).toFixed(2)}× | |`,
        `| controller peak RSS (idle after start → peak) | ${idleRss.toFixed(0)} → ${rss.toFixed(0)} MiB | |`,
      ],
    };
  } finally {
    kube.close();
    await cluster.stop();
  }
}

await runIfMain(import.meta.filename, bench);
