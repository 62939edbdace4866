/**
 * Denial paths not covered elsewhere (docs/security.md's authorisation table lists
 * every denial test): an ExternalSecret cannot use a SecretStore of another
 * namespace — by name, or by calling a ClusterSecretStore a SecretStore —
 * and is told why; the other namespace's backend is never read.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { resourceTypes } from "../../src/kube/resources.ts";
import { startCluster, type Cluster } from "../cluster/index.ts";
import {
  applyObject,
  externalSecret,
  fakeStore,
  getSecret,
  startTestController,
  waitForCondition,
  type TestController,
} from "../controller/harness.ts";

const VALUE = "authz-other-namespace-value";
let cluster: Cluster;
let ctl: TestController;
let tenant: string;
let owner: string;

before(async () => {
  // A cluster of its own: the controller here watches every namespace, which on the shared cluster
  // would reconcile the other suites' objects.
  cluster = await startCluster({ crds: true, private: true });
  [tenant, owner] = await Promise.all([
    cluster.createNamespace("authz-tenant"),
    cluster.createNamespace("authz-owner"),
  ]);
  // Watches every namespace, as a cluster-wide controller does: scoping is not what protects the owner.
  ctl = await startTestController(cluster, { namespace: undefined });
  await applyObject(ctl.kube, fakeStore(owner, "shared", [{ key: "db", valueMap: { password: VALUE } }]));
});
after(async () => {
  await ctl?.stop();
  await cluster?.stop();
});

/** Backend reads (not validations) of stores in `namespace`. */
const reads = async (namespace: string) =>
  (await ctl.controller.metrics.registry.getSingleMetric("refsync_provider_api_calls_total")?.get())?.values
    .filter(
      (v) => String(v.labels.store ?? "").includes(namespace) && String(v.labels.call).startsWith("read"),
    )
    .reduce((n, v) => n + v.value, 0) ?? 0;

void test("a SecretStore of another namespace is not found from this one, and says so", async () => {
  const readsBefore = await reads(owner);
  await applyObject(
    ctl.kube,
    externalSecret(tenant, "steal", {
      secretStoreRef: { name: "shared" },
      data: [{ secretKey: "p", remoteRef: { key: "db", property: "password" } }],
    }),
  );
  const es = await waitForCondition(ctl.kube, tenant, "steal", "Ready", "False", "StoreNotReady");
  const message = es.status?.conditions?.find((c) => c.type === "Ready")?.message ?? "";
  assert.match(message, /shared/);
  assert.match(message, new RegExp(tenant));
  assert.match(message, /not found|does not exist/i);
  assert.equal(await getSecret(ctl.kube, tenant, "steal"), undefined);
  assert.equal(await reads(owner), readsBefore, "the owner's store was never read");
});

void test("a ClusterSecretStore named as a SecretStore is not used", async () => {
  const name = `css-${tenant}`;
  await applyObject(ctl.kube, {
    ...fakeStore("", name, [{ key: "db", valueMap: { password: VALUE } }]),
    kind: "ClusterSecretStore",
    metadata: { name },
    spec: {
      provider: { fake: { data: [{ key: "db", valueMap: { password: VALUE } }] } },
      conditions: [{ namespaces: [owner] }],
    },
  });
  await applyObject(
    ctl.kube,
    externalSecret(tenant, "confused", {
      secretStoreRef: { name, kind: "SecretStore" },
      data: [{ secretKey: "p", remoteRef: { key: "db", property: "password" } }],
    }),
  );
  const es = await waitForCondition(ctl.kube, tenant, "confused", "Ready", "False", "StoreNotReady");
  assert.match(es.status?.conditions?.find((c) => c.type === "Ready")?.message ?? "", new RegExp(name));
  assert.equal(await getSecret(ctl.kube, tenant, "confused"), undefined);

  // Named correctly, its conditions still decide: this namespace is not listed.
  await applyObject(
    ctl.kube,
    externalSecret(tenant, "confused", {
      secretStoreRef: { name, kind: "ClusterSecretStore" },
      data: [{ secretKey: "p", remoteRef: { key: "db", property: "password" } }],
    }),
  );
  const denied = await waitForCondition(ctl.kube, tenant, "confused", "Ready", "False", "AccessDenied");
  const message = denied.status?.conditions?.find((c) => c.type === "Ready")?.message ?? "";
  assert.match(message, new RegExp(name));
  assert.match(message, new RegExp(tenant));
  assert.equal(await getSecret(ctl.kube, tenant, "confused"), undefined);
  await ctl.kube.delete(resourceTypes.clusterSecretStore, undefined, name);
});
