/**
 * Mistakes in a spec get the right condition and a message that says what to
 * change, on a real API server: an invalid target.name is InvalidSpec (not a
 * SecretSyncError retried forever), a store with rateLimit.qps 0 is not
 * Ready, and a ClusterSecretStore named without `kind:` is pointed out.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { ExternalSecret } from "../../src/api/v1alpha1.ts";
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

const readyMessage = (es: ExternalSecret) =>
  es.status?.conditions?.find((c) => c.type === "Ready")?.message ?? "";

void describe("spec errors", () => {
  let cluster: Cluster;
  let ns: string;
  let ctl: TestController;
  const cssName = `shared-${Math.random().toString(36).slice(2, 8)}`;

  before(async () => {
    cluster = await startCluster({ crds: true });
    ns = await cluster.createNamespace("spec-errors");
    ctl = await startTestController(cluster, { namespace: ns });
    await applyObject(ctl.kube, fakeStore(ns, "demo", [{ key: "db", value: "spec-errors-value" }]));
  });
  after(async () => {
    await ctl?.kube.delete(resourceTypes.clusterSecretStore, undefined, cssName).catch(() => undefined);
    await ctl?.stop();
    await cluster?.stop();
  });

  void test("an invalid target.name is InvalidSpec naming spec.target.name, and not retried", async () => {
    await applyObject(
      ctl.kube,
      externalSecret(ns, "bad-target", {
        secretStoreRef: { name: "demo" },
        target: { name: "Bad_Name" },
        data: [{ secretKey: "v", remoteRef: { key: "db" } }],
      }),
    );
    const es = await waitForCondition(ctl.kube, ns, "bad-target", "Ready", "False", "InvalidSpec");
    assert.match(readyMessage(es), /^spec\.target\.name: must be a lowercase RFC 1123 subdomain/);
    assert.equal(es.status?.conditions?.find((c) => c.type === "Stalled")?.status, "True");
    assert.doesNotMatch(readyMessage(es), /spec-errors-value/);
  });

  void test("a store with rateLimit.qps 0 is not Ready (InvalidSpec), and its ExternalSecrets say why", async () => {
    await applyObject(
      ctl.kube,
      fakeStore(ns, "no-reads", [{ key: "db", value: "spec-errors-value" }], { rateLimit: { qps: 0 } }),
    );
    // Created before the store reconciler looked at the store: the ExternalSecret names the store's problem.
    await applyObject(
      ctl.kube,
      externalSecret(ns, "uses-no-reads", {
        secretStoreRef: { name: "no-reads" },
        data: [{ secretKey: "v", remoteRef: { key: "db" } }],
      }),
    );
    const store = await waitFor(async () => {
      const s = await ctl.kube.get<{
        metadata: { generation?: number };
        status?: {
          observedGeneration?: number;
          conditions?: { type: string; status: string; reason: string; message: string }[];
        };
      }>(resourceTypes.secretStore, ns, "no-reads");
      const ready = s?.status?.conditions?.find((c) => c.type === "Ready");
      return ready && s?.status?.observedGeneration === s?.metadata.generation ? ready : undefined;
    }, "store no-reads reconciled");
    assert.deepEqual(
      { status: store.status, reason: store.reason },
      { status: "False", reason: "InvalidSpec" },
      `store condition: ${store.message}`,
    );
    assert.match(store.message, /spec\.rateLimit\.qps: must be greater than 0/);
    const es = await waitForCondition(ctl.kube, ns, "uses-no-reads", "Ready", "False", "StoreNotReady");
    assert.match(readyMessage(es), /SecretStore "no-reads" is not .*spec\.rateLimit\.qps/);
    assert.equal(await getSecret(ctl.kube, ns, "uses-no-reads"), undefined);
  });

  void test("a ClusterSecretStore named without kind: the message says it exists and how to use it", async () => {
    await applyObject(ctl.kube, {
      apiVersion: "refsync.dev/v1alpha1",
      kind: "ClusterSecretStore",
      metadata: { name: cssName },
      spec: { provider: { fake: { data: [{ key: "db", value: "spec-errors-value" }] } } },
    });
    await waitFor(
      () => (ctl.controller.clusterSecretStores.get(cssName) ? true : undefined),
      "ClusterSecretStore in the controller's cache",
    );
    const spec = {
      secretStoreRef: { name: cssName },
      data: [{ secretKey: "v", remoteRef: { key: "db" } }],
    };
    await applyObject(ctl.kube, externalSecret(ns, "no-kind", spec));
    const es = await waitForCondition(ctl.kube, ns, "no-kind", "Ready", "False", "StoreNotReady");
    assert.equal(
      readyMessage(es),
      `SecretStore "${cssName}" not found in namespace "${ns}"; a ClusterSecretStore "${cssName}" exists: ` +
        "to use it, set secretStoreRef.kind: ClusterSecretStore",
    );
    // Doing what it says works.
    await applyObject(
      ctl.kube,
      externalSecret(ns, "no-kind", {
        ...spec,
        secretStoreRef: { name: cssName, kind: "ClusterSecretStore" },
      }),
    );
    await waitForCondition(ctl.kube, ns, "no-kind", "Ready", "True", "SecretSynced");
    assert.equal((await getSecret(ctl.kube, ns, "no-kind"))?.data.v, "spec-errors-value");
  });
});
