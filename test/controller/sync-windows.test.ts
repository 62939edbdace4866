/**
 * spec.syncWindows on a real API server, with a mocked clock (Date only: the
 * controller's timers run in real time, its idea of "now" is the test's):
 * the first sync runs at once; a periodic refresh due outside the allow
 * window waits, with an event saying until when, and runs when the window
 * opens; a new spec does not wait.
 */
import assert from "node:assert/strict";
import { after, before, describe, mock, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import type { ExternalSecretSpec, SecretStore } from "../../src/api/v1alpha1.ts";
import { resourceTypes } from "../../src/kube/resources.ts";
import { startCluster, type Cluster } from "../cluster/index.ts";
import {
  applyObject,
  externalSecret,
  fakeStore,
  getSecret,
  startTestController,
  waitFor,
  type TestController,
  waitForEvent,
} from "./harness.ts";

// A Wednesday, an hour before the window opens.
const START = Date.parse("2026-12-02T08:00:00Z");

void describe("controller: spec.syncWindows", () => {
  let cluster: Cluster;
  let ns: string;
  let ctl: TestController;
  const store = (value: string) => fakeStore(ns, "demo", [{ key: "rotating", value }]);
  const spec: ExternalSecretSpec = {
    secretStoreRef: { name: "demo" },
    refreshInterval: "10s",
    syncWindows: { kind: "allow", windows: [{ schedule: "0 9 * * 1-5", duration: "8h" }] },
    data: [{ secretKey: "value", remoteRef: { key: "rotating" } }],
  };
  const value = async () => (await getSecret(ctl.kube, ns, "windowed"))?.data.value;
  const untilValue = (want: string) =>
    waitFor(async () => ((await value()) === want ? true : undefined), `Secret windowed = ${want}`);

  before(async () => {
    cluster = await startCluster({ crds: true });
    ns = await cluster.createNamespace("windows");
    mock.timers.enable({ apis: ["Date"], now: START });
    // resyncMs: a waiting object is looked at again within a second of real time.
    ctl = await startTestController(cluster, { namespace: ns, resyncMs: 1_000 });
    await applyObject(ctl.kube, store("v1"));
  });
  after(async () => {
    mock.timers.reset();
    await ctl?.stop();
    await cluster?.stop();
  });

  void test("outside the allow window a refresh waits, saying until when; it runs when the window opens", async () => {
    await applyObject(ctl.kube, externalSecret(ns, "windowed", spec));
    await untilValue("v1"); // the first sync does not wait for a window
    await applyObject(ctl.kube, store("v2"));
    mock.timers.tick(60_000); // 08:01: refreshes are due every 10 s, and held back
    const deferred = (await waitForEvent(ctl.kube, ns, "RefreshDeferred", "windowed")).event;
    assert.equal(
      deferred.message,
      "periodic refresh waits (outside the allow windows of spec.syncWindows): next allowed at 2026-12-02T09:00:00Z",
    );
    await sleep(3_000); // real time: several looks at the object, none of them a refresh
    assert.equal(await value(), "v1");

    mock.timers.tick(60 * 60_000); // 09:01: the window is open
    await untilValue("v2");
  });

  void test("a new spec syncs at once, window or not", async () => {
    mock.timers.tick(9 * 60 * 60_000); // 18:01: closed again
    await applyObject(ctl.kube, store("v3"));
    // The store's change must be seen first: the window holds back the refresh that would catch it later.
    await waitFor(async () => {
      const s = await ctl.kube.get<SecretStore>(resourceTypes.secretStore, ns, "demo");
      return s?.status?.observedGeneration === s?.metadata.generation ? true : undefined;
    }, "store demo observed");
    await applyObject(ctl.kube, externalSecret(ns, "windowed", { ...spec, refreshInterval: "20s" }));
    await untilValue("v3");
  });
});
