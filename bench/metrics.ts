/**
 * Per-object metric series at 1,000 and 10,000 ExternalSecrets: the heap
 * they hold, and the heap and RSS one /metrics scrape adds while it runs,
 * for the series as prom-client held them before (test/observability/
 * prom-client-series.ts, scraped as the old /metrics did: one string) and
 * as the controller holds them now (src/controller/text-family.ts, scraped
 * through createApp, one family at a time). Every measurement runs in a
 * fresh Node with --expose-gc, before and after interleaved, ROUNDS each;
 * medians. Both scrapes must return the same lines (checked).
 *   node bench/run.ts metrics     (or: node bench/metrics.ts)
 * Env: BENCH_METRICS_ROUNDS (3).
 */
import { spawnSync } from "node:child_process";
import { createServer, type RequestListener } from "node:http";
import type { AddressInfo } from "node:net";
import { loadavg } from "node:os";
import { ControllerMetrics } from "../src/controller/metrics.ts";
import { createApp } from "../src/server/app.ts";
import { PromClientSeries } from "../test/observability/prom-client-series.ts";
import { es, ready, view } from "../test/server/view-fixtures.ts";
import { deployedEnv } from "./herd-kit.ts";
import type { BenchResult } from "./run.ts";
import { runIfMain } from "./standalone.ts";

const COUNTS = [1000, 10_000];
const ROUNDS = Number(process.env.BENCH_METRICS_ROUNDS ?? 3);
const MiB = 2 ** 20;

interface Sample {
  /** Heap the series hold after a scrape (MiB). */
  retained: number;
  /** Peak heap and RSS above the idle level while one scrape runs (MiB). */
  scrapeHeap: number;
  scrapeRss: number;
  /** Exposition size (MiB) and a digest of its sorted lines, to check both give the same text. */
  text: number;
  lines: string;
}

const gc = () => {
  (globalThis as { gc?: () => void }).gc?.();
  (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage();
};

/** In the child: one implementation at one count. */
async function measure(impl: "before" | "after", count: number): Promise<Sample> {
  // One clock for both processes, so that their ages (now − refreshTime) are the same text.
  const now = Date.parse("2026-12-01T12:00:00Z");
  Date.now = () => now;
  const externalSecrets = Array.from({ length: count }, (_, i) => {
    const e = es(`team-${i % 100}`, `app-${i}-secret`, {
      refreshTime: new Date(now - (i % 3600) * 1000).toISOString(),
      interval: "1h",
      condition: ready("True"),
    });
    e.status!.consumers = { workloads: 1, stalePods: 0 };
    return e;
  });
  let listener: RequestListener = (_req, res) => res.end("warm-up");
  const server = createServer((req, res) => listener(req, res));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`;
  await (await fetch(url)).text(); // fetch (undici) loads on first use: not the series' cost
  const base = gc();

  const metrics = impl === "before" ? new PromClientSeries() : new ControllerMetrics();
  for (const e of externalSecrets) {
    metrics.recordSync(e.metadata.namespace!, e.metadata.name, true);
    metrics.setCondition("ExternalSecret", e.metadata.namespace!, e.metadata.name, "Ready", "True");
  }
  metrics.view = view({ externalSecrets });
  const { registry } = metrics;
  listener =
    impl === "before"
      ? (_req, res) => {
          // /metrics as src/server/app.ts answered it before: the whole text, then one write.
          void registry.metrics().then((body) => {
            res.writeHead(200, {
              "Content-Type": registry.contentType,
              "Content-Length": Buffer.byteLength(body),
            });
            res.end(body);
          });
        }
      : createApp({ registry, health: { live: () => true, ready: () => true } });

  const scrape = async () => {
    const idle = gc();
    let heap = idle.heapUsed;
    let rss = idle.rss;
    const peek = () => {
      const m = process.memoryUsage();
      heap = Math.max(heap, m.heapUsed);
      rss = Math.max(rss, m.rss);
    };
    const timer = setInterval(peek, 1);
    // Read and drop, as Prometheus (another process) would: the client holds no copy of the text.
    let bytes = 0;
    for await (const chunk of (await fetch(url)).body!) bytes += (chunk as Uint8Array).length;
    peek();
    clearInterval(timer);
    return { heap: (heap - idle.heapUsed) / MiB, rss: (rss - idle.rss) / MiB, bytes };
  };
  await scrape(); // the first one also compiles the rendering code
  const { heap, rss, bytes } = await scrape();
  const after = gc();
  const body = Buffer.from(await (await fetch(url)).arrayBuffer()); // the text, to compare
  server.close();
  // The per-object families' lines (the controller's registry has its other families too).
  const families = new Set(new PromClientSeries().registry.getMetricsAsArray().map((m) => m.name));
  const lines = body
    .toString("utf8")
    .split("\n")
    .filter((l) => families.has(/^(?:# \w+ )?(\w+)/.exec(l)?.[1] ?? ""))
    .sort()
    .join("\n");
  const { createHash } = await import("node:crypto");
  return {
    retained: (after.heapUsed - base.heapUsed) / MiB,
    scrapeHeap: heap,
    scrapeRss: rss,
    text: bytes / MiB,
    lines: createHash("sha256").update(lines).digest("hex"),
  };
}

function child(impl: "before" | "after", count: number): Sample {
  // With the Deployment's NODE_OPTIONS (2 MiB semi-spaces) and MALLOC_ARENA_MAX, as the controller runs.
  const env = deployedEnv();
  const result = spawnSync(
    process.execPath,
    [
      ...(env.NODE_OPTIONS ?? "").split(" ").filter(Boolean),
      "--expose-gc",
      import.meta.filename,
      "--child",
      impl,
      String(count),
    ],
    { encoding: "utf8", env: { ...process.env, MALLOC_ARENA_MAX: env.MALLOC_ARENA_MAX } },
  );
  if (result.status !== 0)
    throw new Error(`bench/metrics child (${impl}, ${count}) failed: ${result.stderr}`);
  return JSON.parse(result.stdout) as Sample;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const f1 = (x: number) => x.toFixed(1);

export async function bench(): Promise<BenchResult> {
  const lines = [
    `Per-object series of ${COUNTS.map((c) => c.toLocaleString("en")).join(" and ")} ExternalSecrets (100 namespaces; one sync and a Ready condition each, age, interval and stale pods from the view): prom-client series as before against the text families now, ${ROUNDS} interleaved rounds in fresh processes, medians. Load average at start ${loadavg()
      .map((l) => l.toFixed(1))
      .join(", ")}.`,
    "",
    "| ExternalSecrets | figure | before | after | after / before |",
    "|---|---|---|---|---|",
  ];
  const held: Record<"before" | "after", number[]> = { before: [], after: [] };
  for (const count of COUNTS) {
    const runs: Record<"before" | "after", Sample[]> = { before: [], after: [] };
    for (let r = 0; r < ROUNDS; r++)
      for (const impl of ["before", "after"] as const) runs[impl].push(child(impl, count));
    const digests = new Set([...runs.before, ...runs.after].map((s) => s.lines.slice(0, 12)));
    if (digests.size !== 1)
      throw new Error(`bench/metrics: the two scrapes differ at ${count} (${[...digests].join(", ")})`);
    const row = (what: string, pick: (s: Sample) => number, unit = "MiB") => {
      const b = median(runs.before.map(pick));
      const a = median(runs.after.map(pick));
      lines.push(
        `| ${count.toLocaleString("en")} | ${what} | ${f1(b)} ${unit} | ${f1(a)} ${unit} | ${(a / b).toFixed(2)} |`,
      );
    };
    row("series held (heap)", (s) => s.retained);
    for (const impl of ["before", "after"] as const)
      held[impl].push(median(runs[impl].map((s) => s.retained)));
    row("one scrape: peak heap added", (s) => s.scrapeHeap);
    row("one scrape: peak RSS added", (s) => s.scrapeRss);
    row("exposition text (whole /metrics)", (s) => s.text);
  }
  // Per ExternalSecret: the slope between the counts (the registry's fixed cost cancels out).
  const [b, a] = (["before", "after"] as const).map(
    (impl) => ((held[impl].at(-1)! - held[impl][0]!) * 1024) / (COUNTS.at(-1)! - COUNTS[0]!),
  );
  lines.push(
    `| per ExternalSecret | series held (slope ${COUNTS[0]!.toLocaleString("en")} → ${COUNTS.at(-1)!.toLocaleString("en")}) | ${b!.toFixed(2)} KiB | ${a!.toFixed(2)} KiB | ${(a! / b!).toFixed(2)} |`,
  );
  lines.push(
    "",
    `Both scrapes returned the same lines (sorted, sha256) at every count. Load average at end ${loadavg()
      .map((l) => l.toFixed(1))
      .join(", ")}.`,
  );
  return { title: "Metrics: per-object series", lines };
}

if (process.argv[2] === "--child") {
  const sample = await measure(process.argv[3] as "before" | "after", Number(process.argv[4]));
  process.stdout.write(JSON.stringify(sample));
} else await runIfMain(import.meta.filename, bench);
