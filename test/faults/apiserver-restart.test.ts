/**
 * A real kube-apiserver restart with etcd kept (a private cluster: the
 * shared one serves the other suites). Unlike the proxy of
 * apiserver.test.ts, the new server starts with an empty watch cache, so a
 * watch resumed from an old resourceVersion may be refused (410) and must be
 * re-listed. The same controller process catches up on what changed before
 * it reconnected.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
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
} from "../controller/harness.ts";

let cluster: Cluster;
let ctl: TestController;
let ns: string;

before(async () => {
  cluster = await startCluster({ crds: true, private: true });
  ns = await cluster.createNamespace("fault-restart");
  ctl = await startTestController(cluster, { namespace: ns });
});
after(async () => {
  await ctl?.stop();
  await cluster?.stop();
});

void test("kube-apiserver restarted on the same etcd: the controller reconnects and processes what changed", async () => {
  const { kube } = ctl;
  const es = (name: string, key: string) =>
    externalSecret(ns, name, {
      secretStoreRef: { name: "store" },
      refreshInterval: "1h",
      data: [{ secretKey: "value", remoteRef: { key } }],
    });
  await applyObject(
    kube,
    fakeStore(
      ns,
      "store",
      ["a1", "a2", "b1"].map((key) => ({ key, value: key })),
    ),
  );
  await applyObject(kube, es("a", "a1"));
  await waitForCondition(kube, ns, "a", "Ready", "True");

  const restartedAt = Date.now();
  await cluster.restartApiserver?.();
  const downMs = Date.now() - restartedAt;
  // Changed as soon as the new server answers, while the controller's list/watch calls are backing off.
  await waitFor(() => applyObject(kube, es("a", "a2")), "the restarted API server", 60_000);
  await applyObject(kube, es("b", "b1"));
  await waitFor(
    async () => ((await getSecret(kube, ns, "a"))?.data.value === "a2" ? true : undefined),
    "a updated",
    60_000,
  );
  await waitFor(
    async () => ((await getSecret(kube, ns, "b"))?.data.value === "b1" ? true : undefined),
    "b created",
    60_000,
  );
  await waitForCondition(kube, ns, "b", "Ready", "True");
  assert.match(ctl.logText(), /list\/watch failed|re-listing/);
  console.log(
    `kube-apiserver restarted in ${downMs} ms; the controller caught up after ${Date.now() - restartedAt} ms`,
  );
});
