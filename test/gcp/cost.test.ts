// The cost figure: 100 ExternalSecrets over 10 Google secrets in one
// federated store, synced by the real controller on the real API server.
// Secret Manager has no batch read, so the shared read cache and single
// flight must keep a cycle to one AccessSecretVersion per distinct secret
// version, and the token cache to one STS exchange for the store's identity;
// the request log and refsync_provider_api_calls_total both tell.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { CoreV1Api, CustomObjectsApi } from "@kubernetes/client-node";
import { API_VERSION, GROUP, LABEL_MANAGED_BY, MANAGED_BY, VERSION } from "../../src/api/v1alpha1.ts";
import { startCluster, type Cluster } from "../cluster/index.ts";
import { startTestController, waitFor, type TestController } from "../controller/harness.ts";
import { kubeTokenReviewer, startGcpServer, type GcpTestServer } from "../servers/gcp/index.ts";
import { CLUSTER_ISSUER, federation, gcpStore } from "./fixtures.ts";

const EXTERNAL_SECRETS = 100;
const DISTINCT = 10;

let cluster: Cluster;
let gcp: GcpTestServer;
let ctl: TestController | undefined;

before(async () => {
  cluster = await startCluster({ crds: true });
  gcp = await startGcpServer({ reviewToken: kubeTokenReviewer(cluster.kc) });
});

after(async () => {
  await ctl?.stop();
  await gcp?.close();
  await cluster?.stop();
});

void test("100 ExternalSecrets over 10 secrets: ≤ 10 AccessSecretVersion calls and one token exchange", async (t) => {
  const ns = await cluster.createNamespace("gcp-cost");
  const core = cluster.kc.makeApiClient(CoreV1Api);
  const custom = cluster.kc.makeApiClient(CustomObjectsApi);
  const audience = gcp.addProvider("k8s", "cluster", CLUSTER_ISSUER);
  const principal = gcp.subjectMember("k8s", `system:serviceaccount:${ns}:app`);
  gcp.bind({ member: principal, role: "secretAccessor", secrets: ["app-*"] });
  gcp.bind({ member: principal, role: "viewer", secrets: ["*"] });
  for (let i = 0; i < DISTINCT; i++) gcp.putSecret(`app-${i}`, JSON.stringify({ n: String(i) }));
  await core.createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name: "app" } } });
  const create = (plural: string, body: object) =>
    custom.createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural, body });
  await create(
    "secretstores",
    gcpStore(gcp, { name: "gcp", namespace: ns }, { auth: federation(audience, { name: "app" }) }),
  );
  for (let i = 0; i < EXTERNAL_SECRETS; i += 20) {
    await Promise.all(
      Array.from({ length: 20 }, (_, j) =>
        create("externalsecrets", {
          apiVersion: API_VERSION,
          kind: "ExternalSecret",
          metadata: { name: `es-${i + j}` },
          spec: {
            secretStoreRef: { name: "gcp" },
            refreshInterval: "1h",
            data: [{ secretKey: "n", remoteRef: { key: `app-${(i + j) % DISTINCT}`, property: "n" } }],
          },
        }),
      ),
    );
  }
  ctl = await startTestController(cluster, { namespace: ns, logLevel: "info" });
  await waitFor(
    async () => {
      const list = await core.listNamespacedSecret({
        namespace: ns,
        labelSelector: `${LABEL_MANAGED_BY}=${MANAGED_BY}`,
      });
      const synced = list.items.filter((s) => s.data?.["n"] !== undefined).length;
      return synced === EXTERNAL_SECRETS ? true : undefined;
    },
    "every ExternalSecret synced",
    120_000,
  );

  const reads = gcp.requests.filter((r) => r.method === "AccessSecretVersion" && r.principal === principal);
  const exchanges = gcp.count("ExchangeToken", { status: "200", principal });
  const { values } = await ctl.controller.metrics.providerCalls.get();
  const metric = (call: string) =>
    values
      .filter((v) => v.labels["store"] === `SecretStore/${ns}/gcp` && v.labels["call"] === call)
      .reduce((sum, v) => sum + v.value, 0);
  const text =
    `${EXTERNAL_SECRETS} ExternalSecrets / ${DISTINCT} secrets → ${reads.length} AccessSecretVersion ` +
    `(${new Set(reads.map((r) => r.resource)).size} distinct), ${exchanges} token exchange; ` +
    `metric: ${metric("AccessSecretVersion")} AccessSecretVersion, ${metric("ExchangeToken")} ExchangeToken`;
  t.diagnostic(text);
  console.log(`figure: ${text}`);
  assert.ok(reads.length <= DISTINCT, text);
  assert.equal(new Set(reads.map((r) => r.resource)).size, DISTINCT, text);
  assert.equal(exchanges, 1, text);
  assert.equal(metric("AccessSecretVersion"), reads.length, text);
  assert.equal(metric("ExchangeToken"), 1, text);
});
