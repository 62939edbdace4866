/**
 * Two controllers, one Lease: only the leader writes; when it stops, the
 * standby takes over and reconciles what changed meanwhile.
 */
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { once } from "node:events";
import { after, before, describe, test } from "node:test";
import { KubeClient } from "../../src/kube/client.ts";
import { resourceTypes } from "../../src/kube/resources.ts";
import { startCluster, type Cluster } from "../cluster/index.ts";
import {
  applyObject,
  externalSecret,
  fakeStore,
  getSecret,
  startTestController,
  waitFor,
  waitForCondition,
  type TestController,
} from "./harness.ts";
import { spawnRefsync } from "../cli-process.ts";

void describe("leader election", () => {
  let cluster: Cluster;
  let ns: string;
  let a: TestController;
  let b: TestController;

  before(async () => {
    cluster = await startCluster({ crds: true });
    ns = await cluster.createNamespace("leader");
    const election = (identity: string) => ({
      name: "refsync-test",
      namespace: ns,
      identity,
      leaseDurationSeconds: 3,
      renewDeadlineMs: 2000,
      retryPeriodMs: 300,
    });
    a = await startTestController(cluster, { namespace: ns, leaderElection: election("a") });
    await waitFor(() => (a.controller.isLeader ? true : undefined), "a leads");
    b = await startTestController(cluster, { namespace: ns, leaderElection: election("b") });
  });
  after(async () => {
    await a?.stop();
    await b?.stop();
    await cluster?.stop();
  });

  void test("only the leader writes; the standby takes over when the leader stops", async () => {
    await applyObject(a.kube, fakeStore(ns, "s", [{ key: "k", value: "v1" }]));
    await applyObject(
      a.kube,
      externalSecret(ns, "es", {
        secretStoreRef: { name: "s" },
        data: [{ secretKey: "k", remoteRef: { key: "k" } }],
      }),
    );
    await waitForCondition(a.kube, ns, "es", "Ready", "True");
    assert.equal(a.controller.isLeader, true);
    assert.equal(b.controller.isLeader, false);
    // Who wrote: every managed field of the Secret and the status is refsync's, and the standby did nothing.
    const syncs = async (ctl: TestController) =>
      (
        await ctl.controller.metrics.registry.getSingleMetric("refsync_sync_calls_total")?.get()
      )?.values.reduce((n, v) => n + v.value, 0) ?? 0;
    assert.ok((await syncs(a)) >= 1);
    assert.equal(await syncs(b), 0);
    const lease = await a.kube.get<{ spec: { holderIdentity: string } }>(
      resourceTypes.leaderElectionLock,
      ns,
      "refsync-test",
    );
    assert.equal(lease?.spec.holderIdentity, "a");

    await a.stop();
    await waitFor(() => (b.controller.isLeader ? true : undefined), "b takes over", 10_000);
    await applyObject(b.kube, fakeStore(ns, "s", [{ key: "k", value: "v2" }]));
    await applyObject(
      b.kube,
      externalSecret(ns, "es2", {
        secretStoreRef: { name: "s" },
        data: [{ secretKey: "k", remoteRef: { key: "k" } }],
      }),
    );
    await waitForCondition(b.kube, ns, "es2", "Ready", "True");
    assert.equal((await getSecret(b.kube, ns, "es2"))?.data.k, "v2");
    assert.ok((await syncs(b)) >= 1);
  });
});

void describe("leader election after a crash", () => {
  let cluster: Cluster;
  let ns: string;
  let standby: TestController | undefined;
  let child: ChildProcess | undefined;

  before(async () => {
    cluster = await startCluster({ crds: true });
    ns = await cluster.createNamespace("crash");
  });
  after(async () => {
    child?.kill("SIGKILL");
    await standby?.stop();
    await cluster?.stop();
  });

  void test("when the leader dies without releasing the Lease, the standby takes over once it expires", async () => {
    child = spawnRefsync(
      [
        "controller",
        "--kubeconfig",
        cluster.kubeconfigPath,
        "--namespace",
        ns,
        "--metrics-addr",
        "0",
        "--leader-elect",
        "--lease-name",
        "crash",
        "--lease-namespace",
        ns,
        "--leader-id",
        "doomed",
        "--lease-duration",
        "3s",
        "--renew-deadline",
        "2s",
        "--retry-period",
        "500ms",
      ],
      { stdio: "ignore" },
    );
    const kube = await KubeClient.fromKubeConfig(cluster.kc);
    try {
      const holder = async () =>
        (await kube.get<{ spec: { holderIdentity?: string } }>(resourceTypes.leaderElectionLock, ns, "crash"))
          ?.spec.holderIdentity;
      // The child compiles and loads the whole CLI first: slow on a loaded 2-core machine, and not what is measured.
      await waitFor(
        async () => ((await holder()) === "doomed" ? true : undefined),
        "the child leads",
        90_000,
      );
      standby = await startTestController(cluster, {
        namespace: ns,
        leaderElection: {
          name: "crash",
          namespace: ns,
          identity: "standby",
          leaseDurationSeconds: 3,
          renewDeadlineMs: 2000,
          retryPeriodMs: 300,
        },
      });
      assert.equal(standby.controller.isLeader, false);
      const exited = once(child, "exit");
      child.kill("SIGKILL");
      await exited;
      // Measured between the times the replicas wrote into the Lease (their own clocks), not by this
      // test's polling, which a loaded machine delays: the standby's acquireTime is at least the lease
      // duration after the dead leader's last renewTime, and at most lease duration + renew deadline
      // + one retry period of the standby's (src/kube/leader-election.ts).
      const lease = async () => {
        const l = await kube.get<{
          spec: { holderIdentity?: string; acquireTime?: string; renewTime?: string };
        }>(resourceTypes.leaderElectionLock, ns, "crash");
        return {
          holder: l?.spec.holderIdentity,
          acquired: Date.parse(l?.spec.acquireTime ?? ""),
          renewed: Date.parse(l?.spec.renewTime ?? ""),
        };
      };
      const last = await lease();
      assert.equal(last.holder, "doomed");
      await waitFor(() => (standby?.controller.isLeader ? true : undefined), "standby takes over", 60_000);
      const now = await lease();
      assert.equal(now.holder, "standby");
      const tookMs = now.acquired - last.renewed;
      console.log(`# took over ${tookMs} ms after the last renewal (lease 3000 ms, bound 5300 ms)`);
      assert.ok(tookMs >= 3000, `took a live lease: ${tookMs} ms after the last renewal`);
      assert.ok(tookMs <= 3000 + 2000 + 300, `took over ${tookMs} ms after the last renewal`);
      await applyObject(kube, fakeStore(ns, "s", [{ key: "k", value: "v" }]));
      await applyObject(
        kube,
        externalSecret(ns, "es", {
          secretStoreRef: { name: "s" },
          data: [{ secretKey: "k", remoteRef: { key: "k" } }],
        }),
      );
      await waitForCondition(kube, ns, "es", "Ready", "True");
    } finally {
      kube.close();
    }
  });
});

void describe("leader election when the leader cannot serve", () => {
  let cluster: Cluster;
  let ns: string;
  let broken: TestController | undefined;
  let healthy: TestController | undefined;

  before(async () => {
    cluster = await startCluster({ crds: true });
    ns = await cluster.createNamespace("resign");
  });
  after(async () => {
    await broken?.stop();
    await healthy?.stop();
    await cluster?.stop();
  });

  void test("a leader that cannot load the data-hash key gives the Lease up and another replica leads", async () => {
    const election = (identity: string) => ({
      name: "resign",
      namespace: ns,
      identity,
      leaseDurationSeconds: 3,
      renewDeadlineMs: 2000,
      retryPeriodMs: 300,
    });
    const kube = await KubeClient.fromKubeConfig(cluster.kc);
    try {
      const holder = async () =>
        (
          await kube.get<{ spec: { holderIdentity?: string } }>(
            resourceTypes.leaderElectionLock,
            ns,
            "resign",
          )
        )?.spec.holderIdentity;
      // Its key Secret would live in a namespace that does not exist: creating it fails.
      broken = await startTestController(cluster, {
        namespace: ns,
        leaderElection: election("broken"),
        hashKeySecret: { namespace: `${ns}-missing`, name: "refsync-hash-key" },
      });
      await waitFor(
        () => (broken?.logText().includes("this replica cannot serve") ? true : undefined),
        "broken gives leadership up",
        15_000,
      );
      // Released (an empty holder), not renewed until it expires.
      await waitFor(async () => ((await holder()) === "" ? true : undefined), "the Lease is released", 5_000);
      assert.equal(broken.controller.isLeader, false);

      healthy = await startTestController(cluster, { namespace: ns, leaderElection: election("healthy") });
      await waitFor(() => (healthy?.controller.isLeader ? true : undefined), "healthy leads", 15_000);
      assert.equal(await holder(), "healthy");
      assert.equal(broken.controller.isLeader, false);
      await applyObject(kube, fakeStore(ns, "s", [{ key: "k", value: "v" }]));
      await applyObject(
        kube,
        externalSecret(ns, "es", {
          secretStoreRef: { name: "s" },
          data: [{ secretKey: "k", remoteRef: { key: "k" } }],
        }),
      );
      await waitForCondition(kube, ns, "es", "Ready", "True");
      // The broken replica stays a candidate: it does not take the Lease from a renewing leader.
      await new Promise((resolve) => setTimeout(resolve, 4_000));
      assert.equal(await holder(), "healthy");
    } finally {
      kube.close();
    }
  });
});
