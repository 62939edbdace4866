/**
 * The API server goes away and comes back with its etcd (simulated for the
 * controller by a proxy that resets and refuses its connections — the shared
 * cluster keeps running for the other suites), and a watch dies silently.
 * The same controller, never restarted, catches up on everything that
 * changed meanwhile: an ExternalSecret edited, one created and one deleted.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { KubeClient } from "../../src/kube/client.ts";
import { startCluster, type Cluster } from "../cluster/index.ts";
import {
  applyObject,
  deleteObject,
  ensureCrds,
  externalSecret,
  fakeStore,
  getSecret,
  startTestController,
  waitFor,
  waitForCondition,
  type TestController,
} from "../controller/harness.ts";
import { startProxy, type ApiServerProxy } from "./proxy.ts";

const SILENCE_MS = 3_000;
const STORE = ["a", "a2", "a3", "a4", "b", "c", "gone"].map((key) => ({
  key,
  value: key.length > 1 ? key : `${key}1`,
}));

void describe("API server restart and silent watches", () => {
  let cluster: Cluster;
  let admin: KubeClient; // the test's own client: straight to the API server
  let proxy: ApiServerProxy;
  let ctl: TestController;
  let ns: string;

  const es = (name: string, key: string) =>
    externalSecret(ns, name, {
      secretStoreRef: { name: "store" },
      refreshInterval: "1h", // only watch events (or a re-list) can bring changes in time
      target: { deletionPolicy: "Delete" },
      data: [{ secretKey: "value", remoteRef: { key } }],
    });
  const value = async (name: string) => (await getSecret(admin, ns, name))?.data.value;

  before(async () => {
    cluster = await startCluster({ crds: true });
    admin = await KubeClient.fromKubeConfig(cluster.kc);
    await ensureCrds(admin);
    ns = await cluster.createNamespace("fault-apiserver");
    proxy = await startProxy(cluster);
    ctl = await startTestController(
      { kc: proxy.kubeConfig(cluster) },
      { namespace: ns, informer: { silenceMs: SILENCE_MS, watchTimeoutSeconds: 300 } },
    );
  });
  after(async () => {
    await ctl?.stop();
    await proxy?.down();
    admin?.close();
    await cluster?.stop();
  });

  void test("changes made while the API server was down are all processed after it returns", async () => {
    await applyObject(admin, fakeStore(ns, "store", STORE));
    await applyObject(admin, es("a", "a"));
    await applyObject(admin, es("gone", "gone"));
    await waitForCondition(admin, ns, "a", "Ready", "True");
    await waitForCondition(admin, ns, "gone", "Ready", "True");

    const failures = () => ctl.logText().match(/list\/watch failed/g)?.length ?? 0;
    const failedBefore = failures();
    await proxy.down();
    await applyObject(admin, es("a", "a2")); // a new generation: a different key
    await applyObject(admin, es("b", "b"));
    await deleteObject(admin, es("gone", "gone"));
    // The controller's list/watch calls fail and back off meanwhile: wait for it to have tried a few
    // times (its own log), not for a wall-clock time in which a loaded machine may run nothing of it.
    await waitFor(() => (failures() >= failedBefore + 4 ? true : undefined), "list/watch failures", 30_000);
    assert.equal(await value("a"), "a1");
    assert.equal(await value("b"), undefined);
    await proxy.up();

    await waitFor(async () => ((await value("a")) === "a2" ? true : undefined), "a updated", 30_000);
    await waitFor(async () => ((await value("b")) === "b1" ? true : undefined), "b created", 30_000);
    await waitFor(
      async () => ((await getSecret(admin, ns, "gone")) ? undefined : true),
      "gone's Secret deleted",
      30_000,
    );
    assert.match(ctl.logText(), /list\/watch failed/);
  });

  void test("a watch that goes silent is abandoned and re-listed", async () => {
    await applyObject(admin, es("a", "a3"));
    await waitFor(async () => ((await value("a")) === "a3" ? true : undefined), "a synced");
    await sleep(500); // let every informer settle on its watch
    const relists = ctl.controller.externalSecrets.relists + ctl.controller.secretStores.relists;

    proxy.silence(); // open watches stay connected and deliver nothing
    const silencedAt = Date.now();
    await applyObject(admin, es("a", "a4"));
    await applyObject(admin, es("c", "c"));

    await waitFor(async () => ((await value("c")) === "c1" ? true : undefined), "c created", 30_000);
    await waitFor(async () => ((await value("a")) === "a4" ? true : undefined), "a updated", 30_000);
    const took = Date.now() - silencedAt;
    assert.ok(
      took >= SILENCE_MS - 500,
      `caught up after ${took} ms: before the watch could be noticed as silent?`,
    );
    // Each informer notices its own silence on its own timer: the store informer may be a moment behind.
    await waitFor(
      () =>
        ctl.controller.externalSecrets.relists + ctl.controller.secretStores.relists >= relists + 2
          ? true
          : undefined,
      "both informers re-listed",
      SILENCE_MS * 3,
    );
    assert.match(ctl.logText(), /watch silent too long; re-listing/);
    console.log(`silent watch noticed and re-listed; caught up ${took} ms after the connections went silent`);
  });
});
