/**
 * The Kubernetes provider and ClusterSecretStore authorisation on a real API
 * server: a ClusterSecretStore serves only namespaces its conditions allow,
 * a SecretStore reads another namespace only as a service account RBAC lets.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { resourceTypes } from "../../src/kube/resources.ts";
import { startCluster, type Cluster } from "../cluster/index.ts";
import {
  applyObject,
  externalSecret,
  getExternalSecret,
  getSecret,
  putSecret,
  startTestController,
  waitFor,
  waitForCondition,
  type TestController,
} from "./harness.ts";

const VALUE = "pa55-from-other-ns";

function clusterStore(name: string, remoteNamespace: string, conditions: object[]) {
  return {
    apiVersion: "refsync.dev/v1alpha1",
    kind: "ClusterSecretStore",
    metadata: { name },
    spec: { provider: { kubernetes: { remoteNamespace } }, conditions },
  };
}

void describe("stores: kubernetes provider and ClusterSecretStore conditions", () => {
  let cluster: Cluster;
  let source: string;
  let allowed: string;
  let denied: string;
  let ctl: TestController;
  let ctlDenied: TestController | undefined;
  const cssName = `shared-${Math.random().toString(36).slice(2, 8)}`;

  before(async () => {
    cluster = await startCluster({ crds: true });
    source = await cluster.createNamespace("source");
    allowed = await cluster.createNamespace("allowed");
    denied = await cluster.createNamespace("denied");
    // One controller per namespace: on the shared test cluster every test keeps to its own.
    ctl = await startTestController(cluster, { namespace: allowed });
    ctlDenied = await startTestController(cluster, { namespace: denied });
    await putSecret(ctl.kube, source, "db", { password: VALUE });
    await ctl.kube.mergePatch(resourceTypes.namespace, undefined, allowed, {
      metadata: { labels: { team: "a" } },
    });
  });
  after(async () => {
    await ctl?.stop();
    await ctlDenied?.stop();
    await cluster?.stop();
  });

  void test("a ClusterSecretStore serves a namespace its conditions allow and denies another (AccessDenied)", async () => {
    await applyObject(
      ctl.kube,
      clusterStore(cssName, source, [{ namespaceSelector: { matchLabels: { team: "a" } } }]),
    );
    for (const ns of [allowed, denied]) {
      await applyObject(
        ctl.kube,
        externalSecret(ns, "db", {
          secretStoreRef: { name: cssName, kind: "ClusterSecretStore" },
          data: [{ secretKey: "password", remoteRef: { key: "db", property: "password" } }],
        }),
      );
    }
    await waitForCondition(ctl.kube, allowed, "db", "Ready", "True");
    assert.equal((await getSecret(ctl.kube, allowed, "db"))?.data.password, VALUE);
    const es = await waitForCondition(ctl.kube, denied, "db", "Ready", "False", "AccessDenied");
    const message = es.status?.conditions?.find((c) => c.type === "Ready")?.message ?? "";
    assert.match(message, new RegExp(cssName));
    assert.match(message, new RegExp(denied));
    assert.equal(await getSecret(ctl.kube, denied, "db"), undefined);

    // Allowing the namespace by name lets it through.
    await applyObject(
      ctl.kube,
      clusterStore(cssName, source, [
        { namespaceSelector: { matchLabels: { team: "a" } } },
        { namespaces: [denied] },
      ]),
    );
    await waitForCondition(ctl.kube, denied, "db", "Ready", "True", undefined, 30_000);
    await ctl.kube.delete(resourceTypes.clusterSecretStore, undefined, cssName);
  });

  void test("namespaceRegexes allow by name with Go's unanchored match, ORed with namespaces", async () => {
    const name = `${cssName}-re`;
    await applyObject(ctl.kube, clusterStore(name, source, [{ namespaceRegexes: [`^${allowed}$`] }]));
    for (const ns of [allowed, denied]) {
      await applyObject(
        ctl.kube,
        externalSecret(ns, "re", {
          secretStoreRef: { name, kind: "ClusterSecretStore" },
          data: [{ secretKey: "password", remoteRef: { key: "db", property: "password" } }],
        }),
      );
    }
    await waitForCondition(ctl.kube, allowed, "re", "Ready", "True");
    assert.equal((await getSecret(ctl.kube, allowed, "re"))?.data.password, VALUE);
    await waitForCondition(ctl.kube, denied, "re", "Ready", "False", "AccessDenied");
    assert.equal(await getSecret(ctl.kube, denied, "re"), undefined);

    // Unanchored, as Go's regexp.MatchString: a fragment of the name matches; in the same condition,
    // a namespaces list that names neither does not take that away.
    const fragment = denied.slice(1, -1);
    await applyObject(
      ctl.kube,
      clusterStore(name, source, [{ namespaces: ["elsewhere"], namespaceRegexes: [fragment] }]),
    );
    await waitForCondition(ctl.kube, denied, "re", "Ready", "True", undefined, 30_000);
    assert.equal((await getSecret(ctl.kube, denied, "re"))?.data.password, VALUE);
    await ctl.kube.delete(resourceTypes.clusterSecretStore, undefined, name);
  });

  void test("a SecretStore cannot read another namespace as the controller; with a service account RBAC decides", async () => {
    await applyObject(ctl.kube, {
      apiVersion: "refsync.dev/v1alpha1",
      kind: "SecretStore",
      metadata: { name: "cross", namespace: allowed },
      spec: { provider: { kubernetes: { remoteNamespace: source } } },
    });
    await applyObject(
      ctl.kube,
      externalSecret(allowed, "cross", {
        secretStoreRef: { name: "cross" },
        data: [{ secretKey: "password", remoteRef: { key: "db", property: "password" } }],
      }),
    );
    // The store's own validation fails, so the ExternalSecret waits for it (StoreNotReady) and says why.
    const es = await waitForCondition(ctl.kube, allowed, "cross", "Ready", "False", "StoreNotReady");
    assert.match(
      es.status?.conditions?.find((c) => c.type === "Ready")?.message ?? "",
      /needs auth\.serviceAccount/,
    );

    // A service account in the store's namespace, allowed by a Role in the source namespace.
    await ctl.kube.create(resourceTypes.serviceAccount, {
      apiVersion: "v1",
      kind: "ServiceAccount",
      metadata: { name: "reader", namespace: allowed },
    });
    await applyObject(ctl.kube, {
      apiVersion: "refsync.dev/v1alpha1",
      kind: "SecretStore",
      metadata: { name: "cross", namespace: allowed },
      spec: {
        provider: { kubernetes: { remoteNamespace: source, auth: { serviceAccount: { name: "reader" } } } },
      },
    });
    // Without a Role the API server denies the service account.
    await waitFor(async () => {
      const now = await getExternalSecret(ctl.kube, allowed, "cross");
      const ready = now?.status?.conditions?.find((c) => c.type === "Ready");
      return ready?.reason === "StoreNotReady" && /denied|forbidden/i.test(ready.message) ? true : undefined;
    }, "StoreNotReady: access denied");
    await ctl.kube.request("POST", `/apis/rbac.authorization.k8s.io/v1/namespaces/${source}/roles`, {
      body: {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "Role",
        metadata: { name: "read-secrets" },
        rules: [{ apiGroups: [""], resources: ["secrets"], verbs: ["get", "list"] }],
      },
    });
    await ctl.kube.request("POST", `/apis/rbac.authorization.k8s.io/v1/namespaces/${source}/rolebindings`, {
      body: {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "RoleBinding",
        metadata: { name: "read-secrets" },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "read-secrets" },
        subjects: [{ kind: "ServiceAccount", name: "reader", namespace: allowed }],
      },
    });
    await waitForCondition(ctl.kube, allowed, "cross", "Ready", "True", undefined, 30_000);
    assert.equal((await getSecret(ctl.kube, allowed, "cross"))?.data.password, VALUE);
    assert.ok(!ctl.logText().includes(VALUE));
    await waitFor(
      async () => {
        const s = await ctl.kube.get<{ status?: { conditions?: { type: string; status: string }[] } }>(
          resourceTypes.secretStore,
          allowed,
          "cross",
        );
        return s?.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True")
          ? true
          : undefined;
      },
      "store Ready",
      30_000,
    );
  });
});
