/**
 * The Lua health checks and the kstatus rules, fed with statuses the real controller
 * wrote (test/controller/harness.ts), so the scripts and the controller cannot drift apart:
 * every state an ExternalSecret or store can be left in reads as what it is.
 */
import assert from "node:assert/strict";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import type { ExternalSecret, SecretStore } from "../../src/api/v1alpha1.ts";
import { resourceTypes } from "../../src/kube/resources.ts";
import { startCluster, type Cluster } from "../cluster/index.ts";
import {
  applyObject,
  externalSecret,
  fakeStore,
  getExternalSecret,
  startTestController,
  waitFor,
  waitForCondition,
  type TestController,
} from "../controller/harness.ts";
import { computeKStatus } from "../flux/kstatus.ts";
import { healthRoot } from "../../scripts/health-files.ts";
import { runArgoLua } from "./lua.ts";

const health = (kind: string, object: unknown) =>
  runArgoLua(path.join(healthRoot, kind, "health.lua"), object) as Promise<{
    status: string;
    message: string;
  }>;

void describe("Argo CD health and kstatus of controller-written statuses", () => {
  let cluster: Cluster;
  let ctl: TestController;
  let namespace: string;
  const es = (name: string, key: string, store = "demo") =>
    externalSecret(namespace, name, {
      secretStoreRef: { name: store },
      data: [{ secretKey: "password", remoteRef: { key, property: "password" } }],
    });
  const storeReady = (name: string) =>
    waitFor(async () => {
      const s = await ctl.kube.get<SecretStore>(resourceTypes.secretStore, namespace, name);
      return s?.status?.observedGeneration === s?.metadata.generation && s?.status?.conditions?.length
        ? s
        : undefined;
    }, `SecretStore ${name} status`);

  before(async () => {
    cluster = await startCluster({ crds: true });
    namespace = await cluster.createNamespace("health");
    ctl = await startTestController(cluster, { namespace });
    await applyObject(
      ctl.kube,
      fakeStore(namespace, "demo", [{ key: "team-a/db", valueMap: { password: "pw-never-shown" } }]),
    );
  });
  after(async () => {
    await ctl?.stop();
    await cluster?.stop();
  });

  void it("synced: Healthy / Current", async () => {
    await applyObject(ctl.kube, es("ok", "team-a/db"));
    const object = await waitForCondition(ctl.kube, namespace, "ok", "Ready", "True");
    assert.deepEqual(await health("ExternalSecret", object), {
      status: "Healthy",
      message: "Secret is synced",
    });
    assert.equal(computeKStatus(object).status, "Current");
    assert.equal((await health("SecretStore", await storeReady("demo"))).status, "Healthy");
  });

  void it("the refresh action makes the controller sync again, as Argo CD applies it", async () => {
    const before = (await getExternalSecret(ctl.kube, namespace, "ok")) as ExternalSecret;
    const token = before.status?.syncedResourceVersion;
    assert.ok(token);
    const acted = (await runArgoLua(
      path.join(healthRoot, "ExternalSecret", "actions", "refresh", "action.lua"),
      before,
    )) as ExternalSecret;
    const stamp = acted.metadata.annotations?.["refsync.dev/force-sync"];
    assert.ok(stamp);
    // Argo CD patches the live object with what the action changed.
    await ctl.kube.request("PATCH", ctl.kube.path(resourceTypes.externalSecret, namespace, "ok"), {
      body: { metadata: { annotations: { "refsync.dev/force-sync": stamp } } },
      contentType: "application/merge-patch+json",
    });
    const after = await waitFor(async () => {
      const o = await getExternalSecret(ctl.kube, namespace, "ok");
      return o?.status?.syncedResourceVersion !== token ? o : undefined;
    }, "a new sync after the refresh action");
    assert.equal(after.status?.syncedResourceVersion, `${after.metadata.generation}/${stamp}`);
    assert.equal((await health("ExternalSecret", after)).status, "Healthy");
  });

  void it("missing key: Degraded with the controller's message / InProgress (retried, not Stalled)", async () => {
    await applyObject(ctl.kube, es("missing", "team-a/nope"));
    const object = await waitForCondition(ctl.kube, namespace, "missing", "Ready", "False", "NotFound");
    const ready = object.status?.conditions?.find((c) => c.type === "Ready");
    assert.deepEqual(await health("ExternalSecret", object), { status: "Degraded", message: ready?.message });
    assert.doesNotMatch(ready?.message ?? "", /pw-never-shown/);
    assert.equal(computeKStatus(object).status, "InProgress");
  });

  void it("invalid spec: Degraded / Failed (the controller marks it Stalled)", async () => {
    // Valid for the CRD schema, invalid for the controller: a regular expression that does not compile.
    await applyObject(
      ctl.kube,
      externalSecret(namespace, "invalid", {
        secretStoreRef: { name: "demo" },
        dataFrom: [{ find: { name: { regexp: "([" } } }],
      }),
    );
    const object = await waitForCondition(ctl.kube, namespace, "invalid", "Stalled", "True");
    const stalled = object.status?.conditions?.find((c) => c.type === "Stalled");
    assert.deepEqual(await health("ExternalSecret", object), {
      status: "Degraded",
      message: stalled?.message,
    });
    assert.equal(computeKStatus(object).status, "Failed");
  });

  void it("missing store: Progressing until the store exists", async () => {
    await applyObject(ctl.kube, es("no-store", "team-a/db", "absent"));
    const object = await waitFor(async () => {
      const o = await getExternalSecret(ctl.kube, namespace, "no-store");
      return o?.status?.conditions?.length ? o : undefined;
    }, "a status on no-store");
    const ready = object.status?.conditions?.find((c) => c.type === "Ready");
    assert.equal(ready?.reason, "StoreNotReady");
    assert.deepEqual(await health("ExternalSecret", object), {
      status: "Progressing",
      message: ready?.message,
    });
    assert.equal(computeKStatus(object).status, "InProgress");
  });

  void it("invalid store: Degraded", async () => {
    await applyObject(ctl.kube, fakeStore(namespace, "broken", [{ key: "x" }]));
    const store = await storeReady("broken");
    const ready = store.status?.conditions?.find((c) => c.type === "Ready");
    assert.equal(ready?.reason, "InvalidSpec");
    assert.deepEqual(await health("SecretStore", store), { status: "Degraded", message: ready?.message });
  });

  void it("with the controller stopped: a new object is waiting for first sync, a changed one is not yet reconciled", async () => {
    await ctl.stop();
    await applyObject(ctl.kube, es("new", "team-a/db"));
    const fresh = (await getExternalSecret(ctl.kube, namespace, "new")) as ExternalSecret;
    assert.deepEqual(await health("ExternalSecret", fresh), {
      status: "Progressing",
      message: "Waiting for first sync",
    });
    assert.equal(computeKStatus(fresh).status, "Current", "kstatus' fallback: see the Flux healthCheckExprs");

    const changed = es("ok", "team-a/db");
    changed.spec.refreshInterval = "5m";
    await applyObject(ctl.kube, changed);
    const stale = (await getExternalSecret(ctl.kube, namespace, "ok")) as ExternalSecret;
    assert.equal(stale.metadata.generation, 2);
    assert.deepEqual(await health("ExternalSecret", stale), {
      status: "Progressing",
      message: "Spec changed, not yet reconciled (generation 2, observed 1)",
    });
    assert.equal(computeKStatus(stale).status, "InProgress");
  });
});
