/**
 * What the memory, herd and cache benchmarks share: the controller as its
 * own process (so its RSS is its own), run as the image runs it (the
 * built bin/refsync.js with the Deployment's environment), with its metrics endpoint, a sampler
 * of backend reads over time, and bulk creation with bounded concurrency.
 * (No `bench()` export: bench/run.ts skips this module.)
 */
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import type { Cluster } from "../test/cluster/index.ts";

export async function pool(
  n: number,
  concurrency: number,
  task: (i: number) => Promise<unknown>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) await task(next++);
    }),
  );
}

/**
 * Current and peak resident set size of a process, MiB, and the current one split into
 * private memory (anon) and mapped files (file: mostly the node binary's own pages).
 */
export function rssMiB(pid: number): { now: number; peak: number; anon: number; file: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kib = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? NaN);
  return {
    now: kib("VmRSS") / 1024,
    peak: kib("VmHWM") / 1024,
    anon: kib("RssAnon") / 1024,
    file: kib("RssFile") / 1024,
  };
}

/** User+system CPU seconds a process has used so far. */
export function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** CPU seconds (user + system) this process (the bench's client and its Ready watch) has used so far. */
export function benchCpuSeconds(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
}

/** A phase's CPU seconds, whose they are ("API server + etcd + bench") and its wall time. */
export interface CpuPhase {
  whose: string;
  cpu: number;
  ms: number;
}

/**
 * Whether the CPU a run needs explains its wall time over its floor's: on a
 * CPU-bound machine the wall time follows the CPU, so the run's CPU over the
 * floor's (`ratio`) is the wall ratio that machine allows, the honest target
 * for all Ready / floor. How busy the machine's CPUs were with each phase
 * (CPU / (wall × CPUs), run / floor in `busy`) tells whether they were bound;
 * other load on the machine takes its share too. `brief` is "run s / floor s
 * = ratio; busy" for a table cell, `text` the whole of it for a "why" row.
 * `allowed` is the ratio + 2 %: wall ratio = CPU ratio × busy (floor) / busy
 * (run), and two phases that both keep the CPUs busy still differ by a point
 * or two of busy time, which would otherwise decide the verdict.
 */
export function cpuBound(
  run: CpuPhase,
  floor: CpuPhase,
  floorName = "the floor's",
): { ratio: number; allowed: number; busy: string; brief: string; text: string } {
  const cpus = navigator.hardwareConcurrency;
  const percent = (p: CpuPhase) => `${((100 * p.cpu) / ((p.ms / 1000) * cpus)).toFixed(0)} %`;
  const ratio = run.cpu / floor.cpu;
  const x = `${ratio.toFixed(2)}×`;
  const busy = `${percent(run)} / ${percent(floor)}`;
  return {
    ratio,
    allowed: ratio * 1.02,
    busy,
    brief: `${run.cpu.toFixed(1)} s / ${floor.cpu.toFixed(1)} s = ${x}; ${busy}`,
    text: `the run's CPU (${run.whose}, ${run.cpu.toFixed(1)} s) / ${floorName} (${floor.whose}, ${floor.cpu.toFixed(1)} s) = ${x}, its CPUs busy with them ${busy} of wall × ${cpus}`,
  };
}

/** Requests by "VERB resource" (all codes) from refsync_kube_api_requests_total. */
export function apiRequestCounts(text: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const m of text.matchAll(
    /^refsync_kube_api_requests_total\{verb="(\w+)",resource="([^"]+)",code="\d+"\} (\d+)/gm,
  )) {
    const key = `${m[1]} ${m[2]}`;
    counts.set(key, (counts.get(key) ?? 0) + Number(m[3]));
  }
  return counts;
}

/** Sum of a metric's samples whose label text contains `filter`. */
export function sumMetric(text: string, name: string, filter = ""): number {
  let total = 0;
  for (const line of text.split("\n")) {
    if (line.startsWith(`${name}{`) && line.includes(filter))
      total += Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return total;
}

export interface BenchController {
  child: ChildProcess;
  pid: number;
  /** Its --metrics-addr server (/metrics, the events endpoint). */
  url: string;
  /** Backend reads so far (refsync_provider_api_calls_total, call="read…"). */
  reads(): Promise<number>;
  metrics(): Promise<string>;
  stop(): Promise<void>;
}

/**
 * The literal environment of the controller container in the Deployment
 * (NODE_OPTIONS, MALLOC_ARENA_MAX): the benchmarks measure the controller
 * as it is deployed.
 */
export function deployedEnv(): Record<string, string> {
  const file = join(import.meta.dirname, "..", "manifests", "base", "deployment.yaml");
  const deployment = parse(readFileSync(file, "utf8")) as {
    spec: {
      template: { spec: { containers: { name: string; env?: { name: string; value?: string }[] }[] } };
    };
  };
  const controller = deployment.spec.template.spec.containers.find((c) => c.name === "controller");
  return Object.fromEntries(
    (controller?.env ?? []).flatMap((e) => (e.value === undefined ? [] : [[e.name, e.value]])),
  );
}

/**
 * The Deployment's environment; BENCH_NODE_OPTIONS adds Node options to its
 * NODE_OPTIONS for a diagnosis (e.g. --heapsnapshot-signal=SIGUSR2), never for a figure.
 */
function controllerEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env, ...deployedEnv() };
  const extra = process.env.BENCH_NODE_OPTIONS;
  if (extra) env.NODE_OPTIONS = [env.NODE_OPTIONS, extra].filter(Boolean).join(" ");
  return env;
}

export async function startBenchController(
  cluster: Pick<Cluster, "kubeconfigPath">,
  namespace: string | undefined,
  workers = 4,
): Promise<BenchController> {
  // bin/refsync.js, as the image runs it (the bundle `npm run build` makes; npm run bench builds first).
  const child = spawn(
    process.execPath,
    [
      join(import.meta.dirname, "..", "bin", "refsync.js"),
      "controller",
      "--kubeconfig",
      cluster.kubeconfigPath,
      ...(namespace ? ["--namespace", namespace] : []),
      "--hash-key-secret",
      `${namespace ?? "default"}/refsync-hash-key`,
      "--workers",
      String(workers),
      "--metrics-addr",
      "127.0.0.1:0",
      "--dashboard-addr",
      "0",
      "--log-level",
      "info",
    ],
    { stdio: ["ignore", "pipe", "inherit"], env: controllerEnv() },
  );
  let out = "";
  child.stdout?.setEncoding("utf8");
  child.stdout?.on("data", (chunk: string) => (out += chunk));
  // Started: caches synced and leading, so a benchmark's clock measures work, not start-up.
  while (!out.includes("controller started")) {
    if (child.exitCode !== null) throw new Error(`controller exited: ${out}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const url = /"url":"([^"]+)"/.exec(out)?.[1] ?? "";
  const metrics = async () => (await fetch(`${url}/metrics`)).text();
  return {
    child,
    pid: child.pid as number,
    url,
    metrics,
    reads: async () => sumMetric(await metrics(), "refsync_provider_api_calls_total", 'call="read'),
    async stop() {
      if (child.exitCode !== null) return;
      child.kill("SIGTERM");
      await new Promise((r) => child.once("exit", r));
    },
  };
}

/** Backend reads per bin of `binMs`, sampled from the metrics until `durationMs` has passed. */
export async function sampleReads(
  ctl: BenchController,
  binMs: number,
  durationMs: number,
): Promise<number[]> {
  const bins: number[] = [];
  let last = await ctl.reads();
  const start = performance.now();
  for (let i = 1; performance.now() - start < durationMs; i++) {
    await new Promise((r) => setTimeout(r, Math.max(0, start + i * binMs - performance.now())));
    const now = await ctl.reads();
    bins.push(now - last);
    last = now;
  }
  return bins;
}
