/**
 * `refsync controller` as a process: flags, JSON logs, /healthz, /readyz and
 * /metrics, syncing, and a clean stop on SIGTERM.
 */
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { once } from "node:events";
import { after, before, describe, test } from "node:test";
import { parseControllerFlags } from "../../src/cli/controller.ts";
import { startCluster, type Cluster } from "../cluster/index.ts";
import {
  applyObject,
  ensureCrds,
  externalSecret,
  fakeStore,
  getSecret,
  waitFor,
  waitForCondition,
} from "./harness.ts";
import { KubeClient } from "../../src/kube/client.ts";
import { spawnRefsync } from "../cli-process.ts";

function refsync(args: string[]): ChildProcess {
  return spawnRefsync([...args], { stdio: ["ignore", "pipe", "pipe"] });
}

void describe("refsync controller (process)", () => {
  let cluster: Cluster;
  let kube: KubeClient;

  before(async () => {
    cluster = await startCluster({ crds: true });
    kube = await KubeClient.fromKubeConfig(cluster.kc);
    await ensureCrds(kube);
  });
  after(async () => {
    kube?.close();
    await cluster?.stop();
  });

  void test("flags: defaults, durations and clear errors", () => {
    const f = parseControllerFlags(["--leader-elect", "--lease-namespace", "ops", "--workers", "8"], {
      POD_NAME: "pod-1",
    });
    assert.equal(f.options.workers, 8);
    assert.equal(f.metricsAddr, ":8080");
    assert.deepEqual(f.options.leaderElection, {
      name: "refsync-controller",
      namespace: "ops",
      identity: "pod-1",
      leaseDurationSeconds: 15,
      renewDeadlineMs: 10_000,
      retryPeriodMs: 2_000,
    });
    assert.deepEqual(f.options.hashKeySecret, { namespace: "ops", name: "refsync-hash-key" });
    assert.equal(parseControllerFlags([], {}, () => "ops").options.leaderElection, undefined);
    assert.throws(() => parseControllerFlags(["--workers", "0"]), /--workers/);
    assert.throws(() => parseControllerFlags(["--log-level", "loud"]), /--log-level/);
    assert.throws(
      () => parseControllerFlags(["--leader-elect", "--renew-deadline", "20s"]),
      /retry-period < --renew-deadline < --lease-duration/,
    );
    assert.throws(() => parseControllerFlags(["--bogus"]), /bogus/);
  });

  void test("a bad flag exits 2 with one line on stderr", async () => {
    const child = refsync(["controller", "--workers", "x"]);
    let err = "";
    child.stderr?.on("data", (c: Buffer) => (err += c.toString()));
    const [code] = (await once(child, "exit")) as [number];
    assert.equal(code, 2);
    assert.match(
      err,
      /^refsync controller: --workers: "x" is not a positive integer \(see refsync controller --help\)\n$/,
    );
  });

  void test("runs, serves health and metrics, syncs, logs JSON without values, stops on SIGTERM", async () => {
    const ns = await cluster.createNamespace("cli");
    const child = refsync([
      "controller",
      "--kubeconfig",
      cluster.kubeconfigPath,
      "--namespace",
      ns,
      "--metrics-addr",
      "127.0.0.1:0",
      "--log-level",
      "debug",
      "--leader-elect",
      "--lease-namespace",
      ns,
    ]);
    let out = "";
    child.stdout?.on("data", (c: Buffer) => (out += c.toString()));
    try {
      const url = await waitFor(() => /"url":"([^"]+)"/.exec(out)?.[1], "metrics URL in the log");
      const health = await fetch(`${url}/healthz`);
      assert.equal(health.status, 200);
      await waitFor(async () => ((await fetch(`${url}/readyz`)).status === 200 ? true : undefined), "readyz");
      await applyObject(kube, fakeStore(ns, "s", [{ key: "k", valueMap: { p: "cli-secret-value" } }]));
      await applyObject(
        kube,
        externalSecret(ns, "es", {
          secretStoreRef: { name: "s" },
          data: [{ secretKey: "p", remoteRef: { key: "k", property: "p" } }],
        }),
      );
      await waitForCondition(kube, ns, "es", "Ready", "True", "SecretSynced", 30_000);
      assert.equal((await getSecret(kube, ns, "es"))?.data.p, "cli-secret-value");
      const metrics = await (await fetch(`${url}/metrics`)).text();
      for (const name of [
        "refsync_sync_calls_total",
        "refsync_status_condition",
        "refsync_provider_api_calls_total",
        "refsync_reconcile_duration_seconds_bucket",
        "refsync_cache_misses_total",
        "externalsecret_sync_calls_total",
        "externalsecret_status_condition",
        "externalsecret_provider_api_calls_count",
        "process_resident_memory_bytes",
      ]) {
        assert.ok(metrics.includes(name), `metric ${name}`);
      }
      assert.match(metrics, /refsync_leader 1/);
      for (const line of out.trim().split("\n")) assert.doesNotThrow(() => JSON.parse(line), line);
      assert.ok(!out.includes("cli-secret-value"));
    } finally {
      child.kill("SIGTERM");
      const [code] = (await once(child, "exit")) as [number];
      assert.equal(
        code,
        0,
        `exit code; the controller's last log lines:\n${out.split("\n").slice(-8).join("\n")}`,
      );
    }
  });
});
