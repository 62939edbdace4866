/**
 * Two controllers, one Lease: only the leader writes; when it stops, the
 * standby takes over and reconciles what changed meanwhile.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { resourceTypes } from "../../src/controller/kube/client.ts";
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
      resourceTypes.lease,
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
