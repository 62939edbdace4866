// ExternalSecrets backed by Google Secret Manager, reconciled by the real
// controller on the real API server, against the gRPC + STS + IAM Credentials
// test server (subject tokens checked with the cluster's TokenReview).
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { CoreV1Api } from "@kubernetes/client-node";
import type { ExternalSecret, SecretStore } from "../../src/api/v1alpha1.ts";
import { ANNOTATION_FORCE_SYNC } from "../../src/api/v1alpha1.ts";
import { resourceTypes } from "../../src/kube/resources.ts";
import { startCluster, type Cluster } from "../cluster/index.ts";
import {
  applyObject,
  externalSecret,
  getSecret,
  startTestController,
  syncFailures,
  waitFor,
  waitForCondition,
  type TestController,
} from "../controller/harness.ts";
import { kubeTokenReviewer, startGcpServer, type GcpTestServer } from "../servers/gcp/index.ts";
import { CLUSTER_ISSUER, federation, gcpStore } from "./fixtures.ts";

let cluster: Cluster;
let gcp: GcpTestServer;
let core: CoreV1Api;
let nsA: string;
let nsB: string;
let audience: string;
let ctl: TestController;
const member = (ns: string, sa = "app") => gcp.subjectMember("k8s", `system:serviceaccount:${ns}:${sa}`);

before(async () => {
  // A cluster of its own: this file's controller watches every namespace (ClusterSecretStores
  // acting for several), and on the shared cluster it would also serve other files' objects.
  cluster = await startCluster({ crds: true, private: true });
  core = cluster.kc.makeApiClient(CoreV1Api);
  gcp = await startGcpServer({ reviewToken: kubeTokenReviewer(cluster.kc) });
  [nsA, nsB] = await Promise.all([cluster.createNamespace("gcp-a"), cluster.createNamespace("gcp-b")]);
  audience = gcp.addProvider("k8s", "cluster", CLUSTER_ISSUER);
  for (const ns of [nsA, nsB]) {
    await core.createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name: "app" } } });
    gcp.bind({ member: member(ns), role: "secretAccessor", secrets: [`${ns}-*`] });
    gcp.bind({ member: member(ns), role: "viewer", secrets: ["*"] });
  }
  gcp.putSecret(`${nsA}-db`, JSON.stringify({ password: "a-old" }), { labels: { team: "a" } });
  gcp.putSecret(`${nsA}-db`, JSON.stringify({ password: "a-new", nested: { k: "deep" } }));
  gcp.putSecret(`${nsA}-token`, "plain-a", { labels: { team: "a" } });
  gcp.putSecret(`${nsB}-db`, JSON.stringify({ password: "b-pw" }));
  ctl = await startTestController(cluster, { namespace: undefined });
});

after(async () => {
  await ctl?.stop();
  await gcp?.close();
  await cluster?.stop();
});

/** The Ready condition of an ExternalSecret (reason and message). */
function ready(es: ExternalSecret): { reason: string; message: string } {
  const c = es.status?.conditions?.find((x) => x.type === "Ready");
  return { reason: c?.reason ?? "", message: c?.message ?? "" };
}

async function storeCondition(store: SecretStore, type: string) {
  return waitFor(async () => {
    const got = await ctl.kube.get<SecretStore>(
      store.kind === "SecretStore" ? resourceTypes.secretStore : resourceTypes.clusterSecretStore,
      store.metadata.namespace,
      store.metadata.name,
    );
    return got?.status?.conditions?.find((c) => c.type === type);
  }, `${store.kind} ${store.metadata.name} ${type}`);
}

function callsCounted(store: string, call: string, result: string): Promise<number> {
  return ctl.controller.metrics.providerCalls
    .get()
    .then(({ values }) =>
      values
        .filter(
          (v) => v.labels["store"] === store && v.labels["call"] === call && v.labels["result"] === result,
        )
        .reduce((sum, v) => sum + v.value, 0),
    );
}

void test("federated ClusterSecretStore: each namespace reads with its own identity, never the other's", async () => {
  const shared = gcpStore(gcp, { name: "gcp-shared" }, { auth: federation(audience, { name: "app" }) });
  await applyObject(ctl.kube, shared);
  const spec = (key: string) => ({
    secretStoreRef: { name: "gcp-shared", kind: "ClusterSecretStore" as const },
    data: [{ secretKey: "password", remoteRef: { key, property: "password" } }],
  });
  await applyObject(ctl.kube, externalSecret(nsA, "own", spec(`${nsA}-db`)));
  await applyObject(ctl.kube, externalSecret(nsB, "own", spec(`${nsB}-db`)));
  await applyObject(ctl.kube, externalSecret(nsA, "crossed", spec(`${nsB}-db`)));
  await waitForCondition(ctl.kube, nsA, "own", "Ready", "True", "SecretSynced");
  await waitForCondition(ctl.kube, nsB, "own", "Ready", "True", "SecretSynced");
  assert.equal((await getSecret(ctl.kube, nsA, "own"))?.data["password"], "a-new");
  assert.equal((await getSecret(ctl.kube, nsB, "own"))?.data["password"], "b-pw");
  await waitForCondition(ctl.kube, nsA, "crossed", "Ready", "False", "AccessDenied");
  const principals = new Set(
    gcp.requests.filter((r) => r.method === "AccessSecretVersion").map((r) => r.principal),
  );
  assert.ok(principals.has(member(nsA)) && principals.has(member(nsB)));
  const denied = gcp.requests.filter(
    (r) => r.method === "AccessSecretVersion" && r.status === "PERMISSION_DENIED",
  );
  assert.ok(denied.length > 0 && denied.every((r) => r.principal === member(nsA)));
  await waitFor(() => (syncFailures(ctl, nsA, "crossed") > 0 ? true : undefined), "the failure logged");
  assert.doesNotMatch(ctl.logText(), /a-new|b-pw/);
});

void test("a SecretStore cannot borrow another namespace's ServiceAccount", async () => {
  const borrowing = gcpStore(
    gcp,
    { name: "borrow", namespace: nsA },
    { auth: federation(audience, { name: "app", namespace: nsB }) },
  );
  await applyObject(ctl.kube, borrowing);
  await applyObject(
    ctl.kube,
    externalSecret(nsA, "borrow", {
      secretStoreRef: { name: "borrow" },
      data: [{ secretKey: "password", remoteRef: { key: `${nsB}-db`, property: "password" } }],
    }),
  );
  const condition = ready(await waitForCondition(ctl.kube, nsA, "borrow", "Ready", "False"));
  assert.match(`${condition.reason} ${condition.message}`, /AccessDenied|StoreNotReady/);
  assert.equal(await getSecret(ctl.kube, nsA, "borrow"), undefined);
});

void test("impersonation: federated token → generateAccessToken → the service account's bindings", async () => {
  const email = "reader@refsync-test.iam.gserviceaccount.com";
  gcp.addServiceAccount(email, [member(nsA)]);
  gcp.putSecret("shared-config", JSON.stringify({ url: "https://db" }));
  gcp.bind({ member: `serviceAccount:${email}`, role: "secretAccessor", secrets: ["shared-*"] });
  gcp.bind({ member: `serviceAccount:${email}`, role: "viewer", secrets: ["*"] });
  await applyObject(
    ctl.kube,
    gcpStore(
      gcp,
      { name: "impersonate", namespace: nsA },
      { auth: federation(audience, { name: "app" }, email) },
    ),
  );
  await applyObject(
    ctl.kube,
    externalSecret(nsA, "impersonated", {
      secretStoreRef: { name: "impersonate" },
      data: [{ secretKey: "url", remoteRef: { key: "shared-config", property: "url" } }],
    }),
  );
  await waitForCondition(ctl.kube, nsA, "impersonated", "Ready", "True", "SecretSynced");
  assert.equal((await getSecret(ctl.kube, nsA, "impersonated"))?.data["url"], "https://db");
  assert.ok(gcp.count("GenerateAccessToken", { status: "200", principal: member(nsA) }) >= 1);
  assert.ok(gcp.count("AccessSecretVersion", { status: "OK", principal: `serviceAccount:${email}` }) >= 1);
  // B's ServiceAccount may not impersonate A's reader.
  await applyObject(
    ctl.kube,
    gcpStore(
      gcp,
      { name: "impersonate", namespace: nsB },
      { auth: federation(audience, { name: "app" }, email) },
    ),
  );
  await applyObject(
    ctl.kube,
    externalSecret(nsB, "impersonated", {
      secretStoreRef: { name: "impersonate" },
      data: [{ secretKey: "url", remoteRef: { key: "shared-config", property: "url" } }],
    }),
  );
  // Ready=False can come first from a store not validated yet: wait for IAM's refusal itself.
  await waitFor(
    () =>
      gcp.count("GenerateAccessToken", { status: "403", principal: member(nsB) }) >= 1 ? true : undefined,
    "generateAccessToken refused for B",
  );
  await waitForCondition(ctl.kube, nsB, "impersonated", "Ready", "False");
  assert.equal(await getSecret(ctl.kube, nsB, "impersonated"), undefined);
});

void test("key file from a Secret: latest, pinned, disabled version, JSON pointer, find by label, StaticCredentials", async () => {
  const email = "keyed@refsync-test.iam.gserviceaccount.com";
  gcp.addServiceAccount(email);
  gcp.bind({ member: `serviceAccount:${email}`, role: "secretAccessor", secrets: [`${nsA}-*`] });
  gcp.bind({ member: `serviceAccount:${email}`, role: "viewer", secrets: ["*"] });
  await core.createNamespacedSecret({
    namespace: nsA,
    body: { metadata: { name: "gcp-key" }, stringData: { "key.json": gcp.createKey(email) } },
  });
  const keyed = gcpStore(
    gcp,
    { name: "keyed", namespace: nsA },
    { auth: { secretRef: { secretAccessKeySecretRef: { name: "gcp-key", key: "key.json" } } } },
  );
  await applyObject(ctl.kube, keyed);
  await applyObject(
    ctl.kube,
    externalSecret(nsA, "versions", {
      secretStoreRef: { name: "keyed" },
      data: [
        { secretKey: "latest", remoteRef: { key: `${nsA}-db`, property: "password" } },
        { secretKey: "pinned", remoteRef: { key: `${nsA}-db`, property: "password", version: "1" } },
        { secretKey: "deep", remoteRef: { key: `${nsA}-db`, property: "/nested/k" } },
      ],
      dataFrom: [{ find: { tags: { team: "a" } } }],
    }),
  );
  await waitForCondition(ctl.kube, nsA, "versions", "Ready", "True", "SecretSynced");
  const secret = await getSecret(ctl.kube, nsA, "versions");
  assert.equal(secret?.data["latest"], "a-new");
  assert.equal(secret?.data["pinned"], "a-old");
  assert.equal(secret?.data["deep"], "deep");
  assert.equal(secret?.data[`${nsA}-token`], "plain-a", "found by label");
  assert.ok(secret?.data[`${nsA}-db`]?.includes("a-new"), "found by label");
  const warning = await storeCondition(keyed, "StaticCredentials");
  assert.equal(warning.status, "True");

  gcp.putSecret(`${nsA}-rotating`, "v1");
  gcp.putSecret(`${nsA}-rotating`, "v2");
  gcp.setVersionState(`${nsA}-rotating`, 2, "DISABLED");
  await applyObject(
    ctl.kube,
    externalSecret(nsA, "disabled", {
      secretStoreRef: { name: "keyed" },
      data: [{ secretKey: "v", remoteRef: { key: `${nsA}-rotating` } }],
    }),
  );
  const condition = ready(await waitForCondition(ctl.kube, nsA, "disabled", "Ready", "False", "NotFound"));
  assert.match(condition.message, /DISABLED/);
  assert.doesNotMatch(condition.message, /v1|v2/);
});

void test("token expiry mid-run: the next read exchanges again, and no read fails", async () => {
  const store = gcpStore(
    gcp,
    { name: "expiring", namespace: nsB },
    { auth: federation(audience, { name: "app" }) },
  );
  await applyObject(ctl.kube, store);
  const es = externalSecret(nsB, "expiring", {
    secretStoreRef: { name: "expiring" },
    refreshInterval: "1h",
    data: [{ secretKey: "password", remoteRef: { key: `${nsB}-db`, property: "password" } }],
  });
  await applyObject(ctl.kube, es);
  await waitForCondition(ctl.kube, nsB, "expiring", "Ready", "True", "SecretSynced");
  const exchanges = gcp.count("ExchangeToken", { status: "200", principal: member(nsB) });
  gcp.expireTokens();
  gcp.putSecret(`${nsB}-db`, JSON.stringify({ password: "b-rotated" }));
  await applyObject(ctl.kube, {
    ...es,
    metadata: { ...es.metadata, annotations: { [ANNOTATION_FORCE_SYNC]: "1" } },
  });
  await waitFor(
    async () =>
      (await getSecret(ctl.kube, nsB, "expiring"))?.data["password"] === "b-rotated" ? true : undefined,
    "rotated value",
  );
  assert.ok(gcp.count("ExchangeToken", { status: "200", principal: member(nsB) }) > exchanges);
  const id = `SecretStore/${nsB}/expiring`;
  assert.equal(await callsCounted(id, "AccessSecretVersion", "error"), 0);
  const events = await core.listNamespacedEvent({ namespace: nsB });
  assert.ok(!events.items.some((e) => e.involvedObject.name === "expiring" && e.type === "Warning"));
});

void test("RESOURCE_EXHAUSTED is backed off and every attempt counted", async () => {
  const store = gcpStore(
    gcp,
    { name: "throttled", namespace: nsA },
    { auth: federation(audience, { name: "app" }) },
  );
  await applyObject(ctl.kube, store);
  await storeCondition(store, "Ready");
  gcp.putSecret(`${nsA}-busy`, "busy-value");
  gcp.failNext("RESOURCE_EXHAUSTED", 2, { method: "AccessSecretVersion", resource: `/secrets/${nsA}-busy/` });
  await applyObject(
    ctl.kube,
    externalSecret(nsA, "throttled", {
      secretStoreRef: { name: "throttled" },
      data: [{ secretKey: "v", remoteRef: { key: `${nsA}-busy` } }],
    }),
  );
  await waitForCondition(ctl.kube, nsA, "throttled", "Ready", "True", "SecretSynced", 60_000);
  assert.equal((await getSecret(ctl.kube, nsA, "throttled"))?.data["v"], "busy-value");
  const id = `SecretStore/${nsA}/throttled`;
  assert.equal(await callsCounted(id, "AccessSecretVersion", "throttled"), 2);
  assert.equal(await callsCounted(id, "AccessSecretVersion", "success"), 1);
});

void test("GKE Workload Identity: the identity namespace, direct or through the annotated service account", async () => {
  const cluster = { clusterLocation: "europe-west1", clusterName: "prod", clusterProjectID: gcp.projectID };
  gcp.addGkeCluster(cluster.clusterLocation, cluster.clusterName);
  const email = "gke-reader@refsync-test.iam.gserviceaccount.com";
  const direct = `serviceAccount:${gcp.projectID}.svc.id.goog[${nsB}/gke-direct]`;
  const annotated = `serviceAccount:${gcp.projectID}.svc.id.goog[${nsB}/gke-annotated]`;
  gcp.bind({ member: direct, role: "secretAccessor", secrets: [`${nsB}-*`] });
  gcp.addServiceAccount(email, [annotated]);
  gcp.bind({ member: `serviceAccount:${email}`, role: "secretAccessor", secrets: [`${nsB}-*`] });
  await core.createNamespacedServiceAccount({ namespace: nsB, body: { metadata: { name: "gke-direct" } } });
  await core.createNamespacedServiceAccount({
    namespace: nsB,
    body: { metadata: { name: "gke-annotated", annotations: { "iam.gke.io/gcp-service-account": email } } },
  });
  const accounts = ["gke-direct", "gke-annotated"];
  for (const sa of accounts) {
    await applyObject(
      ctl.kube,
      gcpStore(
        gcp,
        { name: sa, namespace: nsB },
        { auth: { workloadIdentity: { serviceAccountRef: { name: sa }, ...cluster } } },
      ),
    );
    await applyObject(
      ctl.kube,
      externalSecret(nsB, sa, {
        secretStoreRef: { name: sa },
        data: [{ secretKey: "password", remoteRef: { key: `${nsB}-db`, property: "password" } }],
      }),
    );
  }
  // Both sync side by side; on a loaded machine a first sync (validation, two exchanges) can pass 30 s.
  await Promise.all(
    accounts.map((sa) => waitForCondition(ctl.kube, nsB, sa, "Ready", "True", "SecretSynced", 60_000)),
  );
  assert.ok(gcp.count("AccessSecretVersion", { status: "OK", principal: direct }) >= 1);
  assert.ok(gcp.count("GenerateAccessToken", { status: "200", principal: annotated }) >= 1);
  assert.ok(gcp.count("AccessSecretVersion", { status: "OK", principal: `serviceAccount:${email}` }) >= 1);
});

const outages = [
  { fault: "UNAVAILABLE", reason: "SecretSyncError", result: "error" },
  { fault: "DEADLINE_EXCEEDED", reason: "SecretSyncError", result: "error" },
  { fault: "PERMISSION_DENIED", reason: "AccessDenied", result: "denied" },
] as const;

for (const { fault, reason, result } of outages) {
  void test(`${fault}: Ready=False (${reason}), the Secret kept, recovery when the fault clears`, async () => {
    const store = gcpStore(
      gcp,
      { name: "faulty", namespace: nsA },
      { auth: federation(audience, { name: "app" }) },
    );
    await applyObject(ctl.kube, store);
    const id = `SecretStore/${nsA}/faulty`;
    const name = `fault-${fault.toLowerCase().replaceAll("_", "-")}`;
    const secretId = `${nsA}-${name}`;
    gcp.putSecret(secretId, "before-outage");
    const es = externalSecret(nsA, name, {
      secretStoreRef: { name: "faulty" },
      refreshInterval: "1h",
      data: [{ secretKey: "v", remoteRef: { key: secretId } }],
    });
    await applyObject(ctl.kube, es);
    await waitForCondition(ctl.kube, nsA, name, "Ready", "True", "SecretSynced", 60_000);
    const counted = await callsCounted(id, "AccessSecretVersion", result);

    // The outage: every read of this secret fails until it is cleared.
    gcp.failNext(fault, 1_000_000, { method: "AccessSecretVersion", resource: `/secrets/${secretId}/` });
    try {
      gcp.putSecret(secretId, "after-outage");
      await applyObject(ctl.kube, {
        ...es,
        metadata: { ...es.metadata, annotations: { [ANNOTATION_FORCE_SYNC]: "outage" } },
      });
      const failed = ready(await waitForCondition(ctl.kube, nsA, name, "Ready", "False", reason, 60_000));
      assert.match(failed.message, new RegExp(`AccessSecretVersion "${secretId}".*\\(${fault}\\)`));
      assert.equal(
        (await getSecret(ctl.kube, nsA, name))?.data["v"],
        "before-outage",
        "the existing Secret is left as it is",
      );
      assert.ok((await callsCounted(id, "AccessSecretVersion", result)) > counted, `counted as ${result}`);
    } finally {
      // The fault clears: the controller's back-off retries on its own and the new value arrives.
      gcp.clearFaults();
    }
    await waitForCondition(ctl.kube, nsA, name, "Ready", "True", "SecretSynced", 60_000);
    assert.equal((await getSecret(ctl.kube, nsA, name))?.data["v"], "after-outage");
    assert.doesNotMatch(ctl.logText(), /before-outage|after-outage/);
  });
}
