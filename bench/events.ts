/**
 * Event-driven refresh: 1,000 ExternalSecrets over 100 Vault KV keys,
 * refreshInterval 1h, on the real API server with the Vault test server.
 * 50 changes, one every CHANGE_GAP_MS, each announced through the signed
 * webhook: the time from the webhook call until every ExternalSecret reading
 * the key has its new value in its Secret (p50 / p99 per Secret and per
 * change; targets ≤ 1 s and ≤ 3 s), and Vault reads per change (target 1).
 * Next to it, the same 50 changes on the other 50 keys with polling only:
 * their ExternalSecrets' refreshInterval compressed to POLL_S seconds, so
 * the latency is the wait for the next slot and the reads are the slots'.
 * The controller runs as the image runs it (bin/refsync.js, built by
 * `npm run bench`), with 4 workers; the webhook goes to its --metrics-addr
 * server, and latencies are seen through a watch on the Secrets.
 *   npm run bench -- events     (or, after npm run build: node bench/events.ts)
 * Env: BENCH_EVENTS_POLL_S (30): the compressed refreshInterval.
 */
import type { ExternalSecret } from "../src/api/v1alpha1.ts";
import { signWebhook } from "../src/controller/events/webhook.ts";
import { Informer } from "../src/kube/informer.ts";
import { KubeClient } from "../src/kube/client.ts";
import { resourceTypes } from "../src/kube/resources.ts";
import { silentLogger } from "../src/log.ts";
import { startCluster } from "../test/cluster/index.ts";
import { ensureCrds, externalSecret, putSecret } from "../test/controller/harness.ts";
import { startVaultServer } from "../test/servers/vault/index.ts";
import { pool, startBenchController, sumMetric } from "./herd-kit.ts";
import type { BenchResult } from "./run.ts";
import { runIfMain } from "./standalone.ts";

const COUNT = 1000;
const KEYS = 100;
const CHANGES = 50;
const CHANGE_GAP_MS = 500;
const POLL_S = Number(process.env.BENCH_EVENTS_POLL_S ?? 30);
const HOOK_SECRET = "bench-webhook-signing-secret-0123456789";

interface SecretObj {
  metadata: { name: string; namespace?: string };
  data?: Record<string, string>;
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

const fmt = (ms: number) => (ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`);

export async function bench(): Promise<BenchResult> {
  const cluster = await startCluster({ crds: true });
  const kube = await KubeClient.fromKubeConfig(cluster.kc);
  await ensureCrds(kube);
  const ns = await cluster.createNamespace("bench-events");
  const vault = await startVaultServer();
  vault.root.mountKv("secret", 2);
  const key = (k: number) => `bench/k-${k}`;
  for (let k = 0; k < KEYS; k++) vault.root.putSecret("secret", key(k), { value: "v0" });
  await putSecret(kube, ns, "vault-token", { token: vault.rootToken });
  await putSecret(kube, ns, "hook", { secret: HOOK_SECRET });
  const ctl = await startBenchController(cluster, ns, 4);
  // When each Secret last changed its value, seen through a watch.
  const seen = new Map<string, { value: string; at: number }>();
  const secrets = new Informer<SecretObj & { metadata: { name: string } }>(
    kube,
    resourceTypes.secret,
    silentLogger,
    { namespace: ns },
  );
  secrets.on((_event, s) => {
    const value = Buffer.from(s.data?.value ?? "", "base64").toString("utf8");
    if (seen.get(s.metadata.name)?.value !== value)
      seen.set(s.metadata.name, { value, at: performance.now() });
  });
  secrets.start();
  try {
    await kube.apply(
      resourceTypes.secretStore,
      {
        apiVersion: "refsync.dev/v1alpha1",
        kind: "SecretStore",
        metadata: { name: "vault", namespace: ns },
        spec: {
          provider: {
            vault: {
              server: vault.url,
              path: "secret",
              auth: { tokenSecretRef: { name: "vault-token", key: "token" } },
            },
          },
          events: { webhook: { secretRef: { name: "hook", key: "secret" } } },
        },
      },
      { fieldManager: "bench" },
    );
    const objects = Array.from({ length: COUNT }, (_, i) =>
      externalSecret(ns, `es-${i}`, {
        secretStoreRef: { name: "vault" },
        refreshInterval: "1h",
        data: [{ secretKey: "value", remoteRef: { key: key(i % KEYS), property: "value" } }],
      }),
    );
    await pool(COUNT, 8, (i) => kube.create(resourceTypes.externalSecret, objects[i]!));
    const readersOf = (k: number) => objects.filter((_, i) => i % KEYS === k).map((o) => o.metadata.name);
    const until = async (what: string, done: () => boolean, timeoutMs = 600_000) => {
      const deadline = Date.now() + timeoutMs;
      while (!done()) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    await until("all Secrets", () => objects.every((o) => seen.get(o.metadata.name)?.value === "v0"));
    const reads = () => vault.count({ method: "GET", path: /^secret\/data\/bench\//, status: 200 });

    /** Makes the 50 changes on `keys`; returns per-Secret and per-change latencies (ms) and the reads meanwhile. */
    const run = async (keys: number[], value: string, announce: boolean) => {
      const before = reads();
      const sentAt = new Map<number, number>();
      for (const k of keys) {
        vault.root.putSecret("secret", key(k), { value });
        const at = performance.now();
        sentAt.set(k, at);
        if (announce) {
          const body = JSON.stringify({ changes: [{ key: key(k) }] });
          const ts = Math.floor(Date.now() / 1000);
          const res = await fetch(`${ctl.url}/api/v1/events/${ns}/vault`, {
            method: "POST",
            headers: {
              "x-refsync-timestamp": String(ts),
              "x-refsync-signature": signWebhook(HOOK_SECRET, ts, body),
            },
            body,
          });
          if (res.status !== 202) throw new Error(`webhook answered ${res.status}: ${await res.text()}`);
        }
        await new Promise((r) => setTimeout(r, CHANGE_GAP_MS));
      }
      const names = keys.flatMap((k) => readersOf(k));
      await until(`${value} everywhere`, () => names.every((n) => seen.get(n)?.value === value));
      const perSecret = keys.flatMap((k) =>
        readersOf(k).map((n) => (seen.get(n)?.at ?? NaN) - (sentAt.get(k) ?? NaN)),
      );
      const perChange = keys.map((k) =>
        Math.max(...readersOf(k).map((n) => (seen.get(n)?.at ?? NaN) - (sentAt.get(k) ?? NaN))),
      );
      return { perSecret, perChange, reads: reads() - before };
    };

    const eventKeys = Array.from({ length: CHANGES }, (_, i) => i);
    const events = await run(eventKeys, "v1", true);

    // Polling: the other 50 keys' ExternalSecrets refresh every POLL_S seconds.
    const pollKeys = Array.from({ length: CHANGES }, (_, i) => CHANGES + i);
    const polled = pollKeys.flatMap((k) => readersOf(k));
    await pool(polled.length, 8, (i) =>
      kube.mergePatch<ExternalSecret>(resourceTypes.externalSecret, ns, polled[i]!, {
        spec: { refreshInterval: `${POLL_S}s` },
      }),
    );
    // Let the re-syncs of the new spec pass before measuring.
    await new Promise((r) => setTimeout(r, 10_000));
    const pollStart = performance.now();
    const polling = await run(pollKeys, "v1", false);
    const pollSeconds = (performance.now() - pollStart) / 1000;
    const text = await ctl.metrics();
    const collapsed = ["refresh", "duplicate", "unchanged", "unread"]
      .map((o) => `${o} ${sumMetric(text, "refsync_key_changes_total", `outcome="${o}"`)}`)
      .join(", ");
    return {
      title: `Event-driven refresh: ${COUNT} ExternalSecrets over ${KEYS} keys, ${CHANGES} changes`,
      lines: [
        `Vault test server, refreshInterval 1h, one change every ${CHANGE_GAP_MS} ms, ${COUNT / KEYS} ExternalSecrets per key; the controller as its own process (bin/refsync.js) with 4 workers.`,
        "",
        `| measurement | webhook | polling (refreshInterval ${POLL_S}s) | target (webhook) |`,
        "|---|---|---|---|",
        `| change→Secret p50 (each of the ${CHANGES * (COUNT / KEYS)} Secrets) | **${fmt(percentile(events.perSecret, 50))}** | ${fmt(percentile(polling.perSecret, 50))} | ≤ 1 s |`,
        `| change→Secret p99 | **${fmt(percentile(events.perSecret, 99))}** | ${fmt(percentile(polling.perSecret, 99))} | ≤ 3 s |`,
        `| change→all ${COUNT / KEYS} readers p50 / p99 | ${fmt(percentile(events.perChange, 50))} / ${fmt(percentile(events.perChange, 99))} | ${fmt(percentile(polling.perChange, 50))} / ${fmt(percentile(polling.perChange, 99))} | |`,
        `| Vault reads during the ${CHANGES} changes | ${events.reads} | ${polling.reads} (in ${pollSeconds.toFixed(0)} s) | |`,
        `| Vault reads per change | **${(events.reads / CHANGES).toFixed(2)}** | ${(polling.reads / CHANGES).toFixed(2)} | 1 |`,
        `| with polling at 1h (no events): change→Secret | up to 1 h (+5 % jitter) | | |`,
        "",
        `Key changes by outcome: ${collapsed || "none"}.`,
      ],
    };
  } finally {
    await ctl.stop();
    await secrets.stop();
    await vault.stop();
    kube.close();
    await cluster.stop();
  }
}

await runIfMain(import.meta.filename, bench);
