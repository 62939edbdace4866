/**
 * A deleted object leaves no series behind: create a store and two
 * ExternalSecrets (one syncing, one failing), let them sync, delete them,
 * scrape /metrics: no series of any family names them any more.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { resourceTypes } from "../../src/kube/resources.ts";
import { createApp, listen, type RunningServer } from "../../src/server/app.ts";
import { startCluster, type Cluster } from "../cluster/index.ts";
import {
  applyObject,
  deleteObject,
  externalSecret,
  fakeStore,
  startTestController,
  waitFor,
  waitForCondition,
  type TestController,
} from "../controller/harness.ts";

let cluster: Cluster;
let ns: string;
let ctl: TestController;
let server: RunningServer;

before(async () => {
  cluster = await startCluster({ crds: true });
  ns = await cluster.createNamespace("ghosts");
  ctl = await startTestController(cluster, { namespace: ns });
  const metrics = ctl.controller.metrics;
  server = await listen(
    createApp({ registry: metrics.registry, health: { live: () => true, ready: () => true } }),
    "127.0.0.1:0",
  );
});
after(async () => {
  await server?.close();
  await ctl?.stop();
  await cluster?.stop();
});

async function scrape(): Promise<string[]> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  return text.split("\n").filter((l) => l && !l.startsWith("#"));
}

/** Series (sample lines) whose labels name `ns`: its objects' names with it, or a store's label. */
const seriesOf = (lines: string[]) =>
  lines.filter((l) => l.includes(`namespace="${ns}"`) || l.includes(`/${ns}/`));

const family = (line: string) => line.slice(0, line.search(/[{ ]/));

void test("deleting an ExternalSecret or a store removes every series that names it", async () => {
  const store = fakeStore(ns, "ghost-store", [{ key: "db", value: "ghost-value-5e1" }]);
  const ok = externalSecret(ns, "ghost-ok", {
    secretStoreRef: { name: "ghost-store" },
    data: [{ secretKey: "v", remoteRef: { key: "db" } }],
  });
  const bad = externalSecret(ns, "ghost-bad", {
    secretStoreRef: { name: "ghost-store" },
    data: [{ secretKey: "v", remoteRef: { key: "missing" } }],
  });
  await applyObject(ctl.kube, store);
  await applyObject(ctl.kube, ok);
  await applyObject(ctl.kube, bad);
  await waitForCondition(ctl.kube, ns, "ghost-ok", "Ready", "True");
  await waitForCondition(ctl.kube, ns, "ghost-bad", "Ready", "False", "NotFound");
  await waitFor(
    () =>
      ctl.controller.secretStores
        .get(`${ns}/ghost-store`)
        ?.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True")
        ? true
        : undefined,
    "store Ready in the controller's cache",
  );

  // Before: the objects are in every family that carries per-object labels.
  const before = seriesOf(await scrape());
  const families = (name: string) => new Set(before.filter((l) => l.includes(`name="${name}"`)).map(family));
  for (const f of [
    "refsync_sync_calls_total",
    "externalsecret_sync_calls_total",
    "refsync_status_condition",
    "externalsecret_status_condition",
    "refsync_secret_age_seconds",
  ])
    assert.ok(families("ghost-ok").has(f), `ghost-ok in ${f}`);
  assert.ok(families("ghost-bad").has("externalsecret_sync_calls_error"), "ghost-bad's errors");
  assert.ok(families("ghost-store").has("refsync_status_condition"), "the store's condition");
  const storeFamilies = new Set(before.filter((l) => l.includes(`/${ns}/ghost-store`)).map(family));
  for (const f of ["refsync_provider_api_calls_total", "refsync_cache_misses_total", "refsync_store_ready"])
    assert.ok(storeFamilies.has(f), `the store in ${f}`);

  await deleteObject(ctl.kube, ok);
  await deleteObject(ctl.kube, bad);
  await deleteObject(ctl.kube, store);
  await waitFor(
    async () =>
      (await ctl.kube.list(resourceTypes.externalSecret, { namespace: ns })).items.length === 0 &&
      (await ctl.kube.list(resourceTypes.secretStore, { namespace: ns })).items.length === 0
        ? true
        : undefined,
    "objects deleted",
  );

  // After: nothing names them, in any family (polled: deletion reaches the controller through its watch).
  let left: string[] = [];
  try {
    await waitFor(
      async () => ((left = seriesOf(await scrape())).length === 0 ? true : undefined),
      "no series of the deleted objects",
      15_000,
    );
  } catch {
    assert.deepEqual(left, [], "series of deleted objects are still exported");
  }
  assert.ok(
    (await scrape()).every((l) => !l.includes("ghost-value-5e1")),
    "and no value, ever",
  );
});
