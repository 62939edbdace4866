// The batching figure: 200 ExternalSecrets over 40 distinct AWS secrets in one
// store, synced by the real controller on the real API server. The test
// server's request log tells how many Secrets Manager read calls one cycle
// cost and how many secrets they fetched.
//
// With as many workers as the cycle has distinct secrets, the reconciles'
// own reads meet in the provider's coalescer; with the default 4 workers the
// controller's prefetch of a store's due reads (one readMany for every due
// ExternalSecret of the store) does it: either way one cycle costs at most 2
// BatchGetSecretValue calls, and each secret is fetched once.
import assert from "node:assert/strict";
import { after, before, test, type TestContext } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { CoreV1Api, CustomObjectsApi } from "@kubernetes/client-node";
import { API_VERSION, GROUP, LABEL_MANAGED_BY, MANAGED_BY, VERSION } from "../../src/api/v1alpha1.ts";
import { KubeClient } from "../../src/kube/client.ts";
import { startCluster, type Cluster } from "../cluster/index.ts";
import { ensureCrds, startTestController, type TestController } from "../controller/harness.ts";
import { startAwsServer, type AwsTestServer } from "../servers/aws/index.ts";
import { awsStore, staticKeysAuth } from "./fixtures.ts";

const EXTERNAL_SECRETS = 200;
const DISTINCT = 40;

let cluster: Cluster;
let aws: AwsTestServer;
const controllers: TestController[] = [];

before(async () => {
  cluster = await startCluster({ crds: true });
  aws = await startAwsServer();
  // The CRDs as the controller harness applies them (provider sections preserved).
  const kube = await KubeClient.fromKubeConfig(cluster.kc);
  await ensureCrds(kube);
  kube.close();
});

after(async () => {
  for (const controller of controllers) await controller.stop();
  await aws?.close();
  await cluster?.stop();
});

interface Figure {
  calls: number;
  batches: number;
  fetched: number;
  distinct: number;
  text: string;
}

/** Creates the store, 40 secrets and 200 ExternalSecrets, runs a controller with `workers` (default: the controller's), and reads the request log. */
async function syncCycle(t: TestContext, workers?: number): Promise<Figure> {
  const ns = await cluster.createNamespace(`aws-batch-${workers ?? "default"}`);
  const core = cluster.kc.makeApiClient(CoreV1Api);
  const custom = cluster.kc.makeApiClient(CustomObjectsApi);
  const keys = aws.addUser({ name: ns, read: [`${ns}/*`] });
  const principal = `arn:aws:iam::${aws.account}:user/${ns}`;
  for (let i = 0; i < DISTINCT; i++) aws.putSecret(`${ns}/app-${i}`, JSON.stringify({ n: String(i) }));
  const auth = await staticKeysAuth(cluster.kc, ns, "aws-keys", keys);
  const create = (plural: string, body: object) =>
    custom.createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural, body });
  await create("secretstores", awsStore(aws, { name: "aws", namespace: ns }, { prefix: `${ns}/`, auth }));
  for (let i = 0; i < EXTERNAL_SECRETS; i += 20) {
    await Promise.all(
      Array.from({ length: 20 }, (_, j) =>
        create("externalsecrets", {
          apiVersion: API_VERSION,
          kind: "ExternalSecret",
          metadata: { name: `es-${i + j}` },
          spec: {
            secretStoreRef: { name: "aws" },
            refreshInterval: "1h",
            data: [{ secretKey: "n", remoteRef: { key: `app-${(i + j) % DISTINCT}`, property: "n" } }],
          },
        }),
      ),
    );
  }

  controllers.push(await startTestController(cluster, { namespace: ns, logLevel: "info", workers }));
  const deadline = Date.now() + 120_000;
  let synced = 0;
  while (Date.now() < deadline) {
    const list = await core.listNamespacedSecret({
      namespace: ns,
      labelSelector: `${LABEL_MANAGED_BY}=${MANAGED_BY}`,
    });
    synced = list.items.filter((s) => s.data?.["n"] !== undefined).length;
    if (synced === EXTERNAL_SECRETS) break;
    await sleep(250);
  }
  assert.equal(synced, EXTERNAL_SECRETS, "every ExternalSecret synced");

  const reads = aws.requests.filter(
    (r) =>
      r.principal === principal &&
      (r.operation === "GetSecretValue" || r.operation === "BatchGetSecretValue"),
  );
  const fetched = reads.flatMap((r) => r.secrets);
  const batches = reads.filter((r) => r.operation === "BatchGetSecretValue").length;
  const text =
    `${EXTERNAL_SECRETS} ExternalSecrets / ${DISTINCT} secrets, ${workers ?? "default (4)"} workers → ${reads.length} read calls ` +
    `(${batches} BatchGetSecretValue, ${reads.length - batches} GetSecretValue), ` +
    `${fetched.length} secrets fetched, ${new Set(fetched).size} distinct`;
  t.diagnostic(text);
  console.log(`figure: ${text}`);
  return { calls: reads.length, batches, fetched: fetched.length, distinct: new Set(fetched).size, text };
}

void test("one cycle with enough concurrent reconciles: ≤ 40 secrets fetched in ≤ 2 BatchGetSecretValue calls", async (t) => {
  const figure = await syncCycle(t, 50);
  assert.equal(figure.distinct, DISTINCT, figure.text);
  assert.ok(figure.fetched <= DISTINCT, figure.text);
  assert.ok(figure.calls <= 2 && figure.batches === figure.calls, figure.text);
});

void test("one cycle with the default worker count: each secret fetched once, in ≤ 2 BatchGetSecretValue calls", async (t) => {
  const figure = await syncCycle(t);
  assert.equal(figure.distinct, DISTINCT, figure.text);
  assert.ok(figure.fetched <= DISTINCT, figure.text);
  assert.ok(figure.calls < DISTINCT, figure.text);
  assert.ok(figure.calls <= 2 && figure.batches === figure.calls, figure.text);
});
