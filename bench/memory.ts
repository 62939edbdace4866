/**
 * Controller memory, run as the image runs it (bin/refsync.js, the bundled
 * CLI, with the Deployment's NODE_OPTIONS and MALLOC_ARENA_MAX):
 * - where the MiB go: a fresh Node imports, one after another, what the
 *   controller loads (and, last, what it loads only when needed: express on
 *   the first webhook or dashboard request, a provider's SDK with a store of
 *   its own), each row the RSS and V8 heap that import added; and a heap
 *   snapshot of the idle controller summed per module (bench/heap-modules.ts);
 * - idle RSS on an empty cluster (target ≤ 100 MiB), beside the same
 *   controller from tsc's output (dist/cli/), which loads all of
 *   @kubernetes/client-node where the bundle keeps only what KubeConfig uses;
 * - steady state of a cluster-wide controller with 5,000 ExternalSecrets
 *   (10 namespaces, one fake store each, 100 keys) and 20,000 Secrets it does
 *   not manage (target ≤ 150 MiB). It watches only the Secrets it labels, so
 *   the unmanaged ones should cost nothing.
 *   node bench/run.ts memory     (or: node bench/memory.ts; both need `npm run build`)
 * Env: BENCH_MEM_ES (5000), BENCH_MEM_SECRETS (20000).
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { KubeClient } from "../src/kube/client.ts";
import { resourceTypes } from "../src/kube/resources.ts";
import { startCluster } from "../test/cluster/index.ts";
import { ensureCrds, externalSecret, fakeStore } from "../test/controller/harness.ts";
import { summarizeHeap, type HeapSummary } from "./heap-modules.ts";
import { deployedEnv, pool, rssMiB, startBenchController } from "./herd-kit.ts";
import type { BenchResult } from "./run.ts";
import { runIfMain } from "./standalone.ts";

const ES = Number(process.env.BENCH_MEM_ES ?? 5000);
const SECRETS = Number(process.env.BENCH_MEM_SECRETS ?? 20_000);
const NAMESPACES = 10;
const KEYS = 100;
const root = join(import.meta.dirname, "..");
const MiB = (n: number) => `${n.toFixed(1)} MiB`;

interface ImportStep {
  what: string;
  /** Module specifiers imported by this step, or "controller": the bundled CLI's controller command loaded. */
  imports: string[] | "controller";
}

/** The controller's imports in load order: its dependencies, then its own code, then what it loads when needed. */
const STEPS: ImportStep[] = [
  {
    what: "Node's built-ins it uses (http, https, crypto, zlib, worker_threads)",
    imports: ["node:http", "node:https", "node:crypto", "node:zlib", "node:worker_threads"],
  },
  { what: "prom-client", imports: ["prom-client"] },
  { what: "pino (log)", imports: ["pino"] },
  {
    what: "refsync's controller (bundle: its code, zod, yaml, KubeConfig of @kubernetes/client-node)",
    imports: "controller",
  },
  { what: "express: only on the first webhook or dashboard request", imports: ["express"] },
  {
    what: "node-forge: only on a template's first PKCS #12 or certificate-chain function",
    imports: ["node-forge"],
  },
  {
    what: "AWS SDK (Secrets Manager, STS): only with an AWS store",
    imports: ["@aws-sdk/client-secrets-manager", "@aws-sdk/client-sts"],
  },
  { what: "node-vault: only with a Vault store", imports: ["node-vault"] },
  { what: "Google Secret Manager (gRPC): only with a GCP store", imports: ["@google-cloud/secret-manager"] },
  {
    what: "Azure Key Vault + identity: only with an Azure store",
    imports: [
      "@azure/keyvault-secrets",
      "@azure/keyvault-keys",
      "@azure/keyvault-certificates",
      "@azure/identity",
    ],
  },
];

/**
 * RSS and heap added by each step, in a fresh Node with the Deployment's
 * environment (after a full GC each time). The controller's own step loads its
 * command chunk by asking the bundled CLI for `refsync controller --help`.
 */
function importDeltas(steps: ImportStep[]): { what: string; rss: number; heap: number }[] {
  const script = `
const gc = () => { globalThis.gc(); globalThis.gc(); const m = process.memoryUsage(); return { rss: m.rss / 2 ** 20, heap: m.heapUsed / 2 ** 20 }; };
const rows = [{ what: "Node itself (an empty process)", ...gc() }];
const write = process.stdout.write.bind(process.stdout);
for (const step of ${JSON.stringify(steps)}) {
  if (step.imports === "controller") {
    process.stdout.write = () => true;
    await (await import(${JSON.stringify(join(root, "dist", "bundle", "main.js"))})).main(["controller", "--help"]);
    process.stdout.write = write;
  } else for (const m of step.imports) await import(m);
  rows.push({ what: step.what, ...gc() });
}
write(JSON.stringify(rows));
`;
  const env = deployedEnv();
  const result = spawnSync(
    process.execPath,
    [
      ...(env.NODE_OPTIONS ?? "").split(" ").filter(Boolean),
      "--expose-gc",
      "--input-type=module",
      "-e",
      script,
    ],
    { cwd: root, env: { ...process.env, MALLOC_ARENA_MAX: env.MALLOC_ARENA_MAX }, encoding: "utf8" },
  );
  if (result.status !== 0) throw new Error(`import measurement failed: ${result.stderr}`);
  const rows = JSON.parse(result.stdout) as { what: string; rss: number; heap: number }[];
  return rows.map((r, i) => ({
    what: r.what,
    rss: i === 0 ? r.rss : r.rss - (rows[i - 1]?.rss ?? 0),
    heap: i === 0 ? r.heap : r.heap - (rows[i - 1]?.heap ?? 0),
  }));
}

/** RSS added by importing @kubernetes/client-node whole, as tsc's output does, in a fresh Node. */
function wholeKubernetesClient(): number {
  const script = `globalThis.gc(); const a = process.memoryUsage().rss; await import("@kubernetes/client-node"); globalThis.gc(); process.stdout.write(String((process.memoryUsage().rss - a) / 2 ** 20));`;
  const result = spawnSync(process.execPath, ["--expose-gc", "--input-type=module", "-e", script], {
    cwd: root,
    encoding: "utf8",
  });
  return Number(result.stdout);
}

/**
 * Starts `node NODE_ARGS controller …` against the cluster, waits until it has
 * started and idled 5 s, returns what `measure` makes of its pid, and stops it.
 */
async function idleController<T>(
  kubeconfig: string,
  nodeArgs: string[],
  options: { env: NodeJS.ProcessEnv; cwd: string },
  measure: (pid: number) => Promise<T> | T,
): Promise<T> {
  const child = spawn(
    process.execPath,
    [
      ...nodeArgs,
      "controller",
      "--kubeconfig",
      kubeconfig,
      "--hash-key-secret",
      "default/refsync-hash-key",
      "--metrics-addr",
      "127.0.0.1:0",
      "--dashboard-addr",
      "0",
    ],
    { stdio: ["ignore", "pipe", "inherit"], ...options },
  );
  let out = "";
  child.stdout.setEncoding("utf8");
  child.stdout.on("data", (chunk: string) => (out += chunk));
  try {
    while (!out.includes("controller started")) {
      if (child.exitCode !== null) throw new Error(`controller exited: ${out}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    await new Promise((r) => setTimeout(r, 5_000));
    return await measure(child.pid as number);
  } finally {
    child.kill("SIGTERM");
    await new Promise((r) => child.once("exit", r));
  }
}

/** Idle RSS of the controller from tsc's output (dist/cli/), as bin/refsync.js ran it before the bundle. */
function tscOutputIdleRss(kubeconfig: string): Promise<number> {
  const entry = `const { main } = await import(${JSON.stringify(join(root, "dist", "cli", "main.js"))}); process.exitCode = await main(process.argv.slice(1));`;
  return idleController(
    kubeconfig,
    ["--input-type=module", "-e", entry, "--"],
    { env: { ...process.env, ...deployedEnv() }, cwd: root },
    (pid) => rssMiB(pid).now,
  );
}

/** A heap snapshot of the idle controller as the image runs it, summed per module. */
function idleHeap(kubeconfig: string): Promise<HeapSummary> {
  const dir = mkdtempSync(join(tmpdir(), "refsync-heap-"));
  const env = deployedEnv();
  const nodeOptions = `${env.NODE_OPTIONS ?? ""} --heapsnapshot-signal=SIGUSR2`.trim();
  return idleController(
    kubeconfig,
    [join(root, "bin", "refsync.js")],
    { env: { ...process.env, ...env, NODE_OPTIONS: nodeOptions }, cwd: dir },
    async (pid) => {
      process.kill(pid, "SIGUSR2");
      // Written while the process is paused; done when its size stops changing.
      let last = -1;
      for (;;) {
        await new Promise((r) => setTimeout(r, 1_000));
        const file = readdirSync(dir).find((f) => f.endsWith(".heapsnapshot"));
        const size = file ? statSync(join(dir, file)).size : 0;
        if (file && size > 0 && size === last) return summarizeHeap(join(dir, file));
        last = size;
      }
    },
  ).finally(() => rmSync(dir, { recursive: true, force: true }));
}

export async function bench(): Promise<BenchResult> {
  const cluster = await startCluster({ crds: true });
  const kube = await KubeClient.fromKubeConfig(cluster.kc);
  await ensureCrds(kube);
  const started = performance.now();
  try {
    const namespaces = await Promise.all(
      Array.from({ length: NAMESPACES }, (_, i) => cluster.createNamespace(`bench-mem-${i}`)),
    );
    const other = await cluster.createNamespace("bench-unmanaged");
    const modules = importDeltas(STEPS);
    const wholeClient = wholeKubernetesClient();
    const tscIdle = await tscOutputIdleRss(cluster.kubeconfigPath);
    const heap = await idleHeap(cluster.kubeconfigPath);
    const ctl = await startBenchController(cluster, undefined, 8);
    try {
      await new Promise((r) => setTimeout(r, 5_000));
      const empty = rssMiB(ctl.pid);
      // 20,000 Secrets that are not ours, ~1 KiB each (a typical token or certificate).
      await pool(SECRETS, 16, (i) =>
        kube.create(resourceTypes.secret, {
          apiVersion: "v1",
          kind: "Secret",
          metadata: { name: `s-${i}`, namespace: other, labels: { app: `app-${i % 50}` } },
          data: { "tls.crt": Buffer.alloc(768, i % 256).toString("base64") },
        }),
      );
      await new Promise((r) => setTimeout(r, 5_000));
      const idle = rssMiB(ctl.pid);
      const data = Array.from({ length: KEYS }, (_, k) => ({ key: `app/k-${k}`, value: `value-${k}` }));
      for (const ns of namespaces)
        await kube.apply(resourceTypes.secretStore, fakeStore(ns, "store", data), { fieldManager: "bench" });
      await pool(ES, 16, (i) =>
        kube.create(
          resourceTypes.externalSecret,
          externalSecret(namespaces[i % NAMESPACES] as string, `es-${i}`, {
            secretStoreRef: { name: "store" },
            data: [
              { secretKey: "user", remoteRef: { key: `app/k-${i % KEYS}` } },
              { secretKey: "password", remoteRef: { key: `app/k-${(i + 1) % KEYS}` } },
            ],
          }),
        ),
      );
      for (;;) {
        let synced = 0;
        for (const ns of namespaces) {
          const { items } = await kube.list<{ status?: { refreshTime?: string } }>(
            resourceTypes.externalSecret,
            {
              namespace: ns,
            },
          );
          synced += items.filter((es) => es.status?.refreshTime).length;
        }
        if (synced === ES) break;
        await new Promise((r) => setTimeout(r, 2_000));
      }
      const syncedS = (performance.now() - started) / 1000;
      await new Promise((r) => setTimeout(r, 15_000)); // steady state: nothing left to do
      const steady = rssMiB(ctl.pid);
      const heapLine = (await ctl.metrics())
        .split("\n")
        .find((l) => l.startsWith("nodejs_heap_size_used_bytes "));
      const heapMiB = Number(heapLine?.split(" ")[1] ?? NaN) / 2 ** 20;
      const verdict = (value: number, target: number) => (value <= target ? "met" : "**missed**");
      const loadedAtStart = modules.findIndex((m) => m.what.startsWith("refsync's controller")) + 1;
      const controllerRow = modules[loadedAtStart - 1];
      return {
        title: `Memory: ${ES} ExternalSecrets and ${SECRETS} unmanaged Secrets (cluster-wide controller)`,
        lines: [
          "| measurement | value | target |",
          "|---|---|---|",
          `| controller RSS after start (empty cluster, bundled CLI) | **${MiB(empty.now)}** | ≤ 100 MiB ${verdict(empty.now, 100)} |`,
          `| … of which private (anon) / mapped files (the node binary's pages, shared with other processes) | ${MiB(empty.anon)} / ${MiB(empty.file)} | |`,
          `| the same controller from tsc's output (dist/cli/, all of @kubernetes/client-node loaded) | ${MiB(tscIdle)} | |`,
          `| … after ${SECRETS} unmanaged Secrets were created | ${MiB(idle.now)} | ≈ the line above |`,
          `| controller RSS, steady state with ${ES} synced ExternalSecrets | **${MiB(steady.now)}** | ≤ 150 MiB ${verdict(steady.now, 150)} |`,
          `| controller peak RSS during the initial sync | ${MiB(steady.peak)} | |`,
          `| V8 heap used, steady state | ${MiB(heapMiB)} | |`,
          `| steady − idle, per ExternalSecret (its object, its Secret's metadata, metrics, queue) | ${(((steady.now - idle.now) * 1024) / ES).toFixed(1)} KiB | |`,
          `| setup and sync time | ${syncedS.toFixed(0)} s | |`,
          "",
          `Where the idle controller's MiB go: each import in a fresh Node with the Deployment's NODE_OPTIONS, RSS and V8 heap it added (after a full GC; a row pays for what no earlier row loaded). @kubernetes/client-node imported whole, as tsc's output does, adds ${MiB(wholeClient)} of RSS on its own; the bundle's controller row (${MiB(controllerRow?.rss ?? NaN)}) holds the part of it KubeConfig uses.`,
          "",
          "| module | RSS | V8 heap |",
          "|---|---:|---:|",
          ...modules.map((m) => `| ${m.what} | ${MiB(m.rss)} | ${MiB(m.heap)} |`),
          `| sum of the rows up to the controller (what it loads at start) | ${MiB(modules.slice(0, loadedAtStart).reduce((a, m) => a + m.rss, 0))} | |`,
          "",
          `The idle controller's V8 heap by module (a heap snapshot, ${MiB(heap.total / 2 ** 20)} of objects): each module's source text, compiled functions and closures; then the other objects by kind (the zod schemas' instances are most of the arrays and JavaScript objects). Modules under 0.1 MiB are summed in one row.`,
          "",
          "| module or kind | heap |",
          "|---|---:|",
          ...heapRows(heap),
        ],
      };
    } finally {
      await ctl.stop();
    }
  } finally {
    kube.close();
    await cluster.stop();
  }
}

/** The heap summary's rows: modules of 0.1 MiB or more, the rest of the modules in one row, then the kinds. */
function heapRows(heap: HeapSummary): string[] {
  const big = heap.modules.filter(([, bytes]) => bytes >= 0.1 * 2 ** 20);
  const small = heap.modules.slice(big.length);
  const row = (what: string, bytes: number) => `| ${what} | ${MiB(bytes / 2 ** 20)} |`;
  return [
    ...big.map(([what, bytes]) => row(what, bytes)),
    row(
      `${small.length} other modules`,
      small.reduce((a, [, b]) => a + b, 0),
    ),
    ...heap.rest.filter(([, bytes]) => bytes >= 0.01 * 2 ** 20).map(([what, bytes]) => row(what, bytes)),
  ];
}

await runIfMain(import.meta.filename, bench);
