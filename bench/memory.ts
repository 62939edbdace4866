/**
 * Steady-state memory: a cluster-wide controller with 5,000 ExternalSecrets
 * (10 namespaces, one fake store each, 100 keys) and 20,000 Secrets it does
 * not manage. It watches only the Secrets it labels, so the unmanaged ones
 * should cost nothing (target ≤ 200 MiB RSS once all are synced).
 *   node bench/run.ts memory     (or: node bench/memory.ts)
 * Env: BENCH_MEM_ES (5000), BENCH_MEM_SECRETS (20000).
 */
import { KubeClient } from "../src/kube/client.ts";
import { resourceTypes } from "../src/kube/resources.ts";
import { startCluster } from "../test/cluster/index.ts";
import { ensureCrds, externalSecret, fakeStore } from "../test/controller/harness.ts";
import { pool, rssMiB, startBenchController } from "./herd-kit.ts";
import type { BenchResult } from "./run.ts";
import { runIfMain } from "./standalone.ts";

const ES = Number(process.env.BENCH_MEM_ES ?? 5000);
const SECRETS = Number(process.env.BENCH_MEM_SECRETS ?? 20_000);
const NAMESPACES = 10;
const KEYS = 100;

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
      return {
        title: `Memory: ${ES} ExternalSecrets and ${SECRETS} unmanaged Secrets (cluster-wide controller)`,
        lines: [
          "| measurement | value | target |",
          "|---|---|---|",
          `| controller RSS after start (empty cluster) | ${empty.now.toFixed(0)} MiB | |`,
          `| … after ${SECRETS} unmanaged Secrets were created | ${idle.now.toFixed(0)} MiB | ≈ the line above |`,
          `| controller RSS, steady state with ${ES} synced ExternalSecrets | **${steady.now.toFixed(0)} MiB** | ≤ 200 MiB |`,
          `| controller peak RSS during the initial sync | ${steady.peak.toFixed(0)} MiB | |`,
          `| V8 heap used, steady state | ${heapMiB.toFixed(0)} MiB | |`,
          `| ratio steady / target | ${(steady.now / 200).toFixed(2)}× | ≤ 1× |`,
          `| setup and sync time | ${syncedS.toFixed(0)} s | |`,
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

await runIfMain(import.meta.filename, bench);
