// metadataPolicy Fetch on the Kubernetes provider, as ESO reads it: the
// Secret's labels and annotations (JSON without HTML escapes), against a real
// kube-apiserver.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { CoreV1Api } from "@kubernetes/client-node";
import { startCluster, type Cluster } from "../../../test/cluster/index.ts";
import { SecretNotFoundError } from "../../errors.ts";
import { extractMap, extractValue } from "../extract.ts";
import { kubernetesSecretReader } from "./client.ts";
import { kubernetesProvider } from "./index.ts";

let cluster: Cluster;
let namespace: string;

before(async () => {
  cluster = await startCluster();
  namespace = await cluster.createNamespace("k8s-metadata");
  const core = cluster.kc.makeApiClient(CoreV1Api);
  await core.createNamespacedSecret({
    namespace,
    body: {
      metadata: { name: "db", labels: { team: "a" }, annotations: { "example.com/owner": "R&D <ops>" } },
      stringData: { password: "the-value" },
    },
  });
  await core.createNamespacedSecret({
    namespace,
    body: { metadata: { name: "bare" }, stringData: { a: "b" } },
  });
});

after(async () => {
  await cluster?.stop();
});

const text = (b: Uint8Array) => Buffer.from(b).toString("utf8");

void test("labels and annotations as ESO writes them; one by labels.KEY; extract per group", async () => {
  const reader = kubernetesSecretReader(cluster.kc);
  const client = kubernetesProvider.create(
    { remoteNamespace: namespace },
    {
      storeName: "SecretStore/app/k8s",
      readCredential: () => Promise.reject(new Error("unused")),
      kubernetes: () => reader,
    },
  );
  const req = { store: "SecretStore/app/k8s", key: "db" };
  const value = await client.read({ key: "db", metadata: true });
  assert.equal(
    text(extractValue(value, req)),
    '{"annotations":{"example.com/owner":"R&D <ops>"},"labels":{"team":"a"}}',
  );
  assert.equal(text(extractValue(value, { ...req, property: "labels.team" })), "a");
  assert.equal(text(extractValue(value, { ...req, property: "annotations.example.com/owner" })), "R&D <ops>");
  assert.throws(() => extractValue(value, { ...req, property: "labels.nope" }), SecretNotFoundError);
  assert.deepEqual(Object.fromEntries(Object.entries(extractMap(value, req)).map(([k, v]) => [k, text(v)])), {
    annotations: '{"example.com/owner":"R&D <ops>"}',
    labels: '{"team":"a"}',
  });
  assert.ok(!JSON.stringify(value).includes("the-value"));
  const bare = await client.read({ key: "bare", metadata: true });
  assert.equal(text(extractValue(bare, { ...req, key: "bare" })), '{"annotations":null,"labels":null}');
});
