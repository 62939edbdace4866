// ExternalSecrets backed by Azure Key Vault, reconciled by the real controller
// on the real API server, against the Key Vault + Entra ID test server:
// per-namespace workload identities (a TokenRequest token as the client
// assertion, checked with the cluster's TokenReview and the apps' federated
// credentials), a borrowed client ID refused with the subject named,
// versions, and the cost of 100 ExternalSecrets over 10 secrets.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { CoreV1Api, CustomObjectsApi } from "@kubernetes/client-node";
import {
  API_VERSION,
  GROUP,
  LABEL_MANAGED_BY,
  MANAGED_BY,
  VERSION,
  type SecretStore,
} from "../../src/api/v1alpha1.ts";
import { startCluster, type Cluster } from "../cluster/index.ts";
import {
  applyObject,
  externalSecret,
  getExternalSecret,
  getSecret,
  startTestController,
  waitFor,
  waitForCondition,
  type TestController,
} from "../controller/harness.ts";
import {
  kubeTokenReviewer,
  SECRETS_USER,
  startAzureServer,
  type AzureTestServer,
} from "../servers/azure/index.ts";

const TENANT = "33333333-3333-3333-3333-333333333333";
const VAULT = "team-kv";
let cluster: Cluster;
let core: CoreV1Api;
let azure: AzureTestServer;
let ctl: TestController;
let nsA: string;
let nsB: string;
let appA: string;
let appB: string;
let previous: string;

before(async () => {
  // A cluster of its own: this file's controller watches every namespace (ClusterSecretStores
  // acting for several), and on the shared cluster it would also serve other files' objects.
  cluster = await startCluster({ crds: true, private: true });
  core = cluster.kc.makeApiClient(CoreV1Api);
  azure = await startAzureServer({ reviewToken: kubeTokenReviewer(cluster.kc) });
  [nsA, nsB] = await Promise.all([cluster.createNamespace("az-a"), cluster.createNamespace("az-b")]);
  // The issuer Entra ID would be told about: the cluster's service-account issuer.
  const probe = await core.createNamespacedServiceAccount({
    namespace: nsA,
    body: { metadata: { name: "probe" } },
  });
  const token = await core.createNamespacedServiceAccountToken({
    namespace: nsA,
    name: probe.metadata?.name ?? "probe",
    body: { spec: { audiences: ["api://AzureADTokenExchange"] } },
  });
  const issuer = (
    JSON.parse(Buffer.from((token.status?.token ?? "").split(".")[1] ?? "", "base64url").toString()) as {
      iss: string;
    }
  ).iss;
  azure.addVault(VAULT, TENANT);
  appA = azure.addApp({
    tenant: TENANT,
    name: "a",
    federated: [{ issuer, subject: `system:serviceaccount:${nsA}:app` }],
  });
  appB = azure.addApp({
    tenant: TENANT,
    name: "b",
    federated: [{ issuer, subject: `system:serviceaccount:${nsB}:app` }],
  });
  azure.assignRole(VAULT, { principal: appA, actions: SECRETS_USER, objects: ["a-db"] });
  azure.assignRole(VAULT, { principal: appB, actions: SECRETS_USER, objects: ["b-db"] });
  previous = azure.putSecret(VAULT, "a-db", JSON.stringify({ password: "a-old" }));
  azure.putSecret(VAULT, "a-db", JSON.stringify({ password: "a-new" }));
  azure.putSecret(VAULT, "b-db", JSON.stringify({ password: "b-pw" }));
  for (const [namespace, clientId] of [
    [nsA, appA],
    [nsB, appB],
  ] as const) {
    await core.createNamespacedServiceAccount({
      namespace,
      body: { metadata: { name: "app", annotations: { "azure.workload.identity/client-id": clientId } } },
    });
  }
  ctl = await startTestController(cluster, { namespace: undefined });
});

after(async () => {
  await ctl?.stop();
  await azure?.close();
  await cluster?.stop();
});

function store(
  metadata: { name: string; namespace?: string },
  provider: Record<string, unknown> = {},
): SecretStore {
  return {
    apiVersion: "refsync.dev/v1alpha1",
    kind: metadata.namespace ? "SecretStore" : "ClusterSecretStore",
    metadata,
    spec: {
      provider: {
        azurekv: {
          vaultUrl: azure.vaultUrl(VAULT),
          tenantId: TENANT,
          customCloudConfig: azure.customCloudConfig,
          serviceAccountRef: { name: "app" },
          ...provider,
        },
      },
    },
  };
}

void test("ClusterSecretStore with workload identity: each namespace reads with its own identity, versions too", async () => {
  const shared = `azure-shared-${nsA}`;
  await applyObject(ctl.kube, store({ name: shared }));
  const ref = { name: shared, kind: "ClusterSecretStore" as const };
  await applyObject(
    ctl.kube,
    externalSecret(nsA, "db", {
      secretStoreRef: ref,
      data: [
        { secretKey: "password", remoteRef: { key: `${VAULT}/a-db`, property: "password" } },
        { secretKey: "previous", remoteRef: { key: "a-db", property: "password", version: previous } },
      ],
    }),
  );
  await applyObject(
    ctl.kube,
    externalSecret(nsB, "db", {
      secretStoreRef: ref,
      data: [{ secretKey: "password", remoteRef: { key: "b-db", property: "password" } }],
    }),
  );
  // A's identity has no role on B's secret.
  await applyObject(
    ctl.kube,
    externalSecret(nsA, "crossed", {
      secretStoreRef: ref,
      data: [{ secretKey: "password", remoteRef: { key: "b-db", property: "password" } }],
    }),
  );
  await waitForCondition(ctl.kube, nsA, "db", "Ready", "True", "SecretSynced");
  await waitForCondition(ctl.kube, nsB, "db", "Ready", "True", "SecretSynced");
  const a = await waitFor(() => getSecret(ctl.kube, nsA, "db"), "Secret A");
  assert.equal(a.data["password"], "a-new");
  assert.equal(a.data["previous"], "a-old");
  assert.equal((await waitFor(() => getSecret(ctl.kube, nsB, "db"), "Secret B")).data["password"], "b-pw");
  const crossed = await waitForCondition(ctl.kube, nsA, "crossed", "Ready", "False", "AccessDenied");
  assert.doesNotMatch(JSON.stringify(crossed.status), /b-pw/);
  assert.equal(await getSecret(ctl.kube, nsA, "crossed"), undefined);
  const vaultReads = azure.requests.filter((r) => r.service === "vault" && r.status === 200);
  assert.ok(vaultReads.some((r) => r.object === "a-db" && r.principal === appA));
  assert.ok(vaultReads.some((r) => r.object === "b-db" && r.principal === appB));
  assert.ok(!vaultReads.some((r) => r.object === "b-db" && r.principal === appA));
});

void test("a namespace cannot borrow another's client ID: Entra ID names the subject it refused", async () => {
  await core.createNamespacedSecret({
    namespace: nsA,
    body: { metadata: { name: "borrowed" }, stringData: { id: appB } },
  });
  await applyObject(
    ctl.kube,
    store(
      { name: "borrow", namespace: nsA },
      { authSecretRef: { clientId: { name: "borrowed", key: "id" } } },
    ),
  );
  await applyObject(
    ctl.kube,
    externalSecret(nsA, "borrow", {
      secretStoreRef: { name: "borrow" },
      data: [{ secretKey: "p", remoteRef: { key: "b-db" } }],
    }),
  );
  const es = await waitForCondition(ctl.kube, nsA, "borrow", "Ready", "False");
  const message = es.status?.conditions?.find((c) => c.type === "Ready")?.message ?? "";
  assert.match(message, new RegExp(`AADSTS700213.*system:serviceaccount:${nsA}:app`));
  assert.doesNotMatch(message, /b-pw/);
  // A SecretStore in A naming B's service account is refused before any token is requested.
  await applyObject(
    ctl.kube,
    store({ name: "sa-b", namespace: nsA }, { serviceAccountRef: { name: "app", namespace: nsB } }),
  );
  await applyObject(
    ctl.kube,
    externalSecret(nsA, "sa-b", {
      secretStoreRef: { name: "sa-b" },
      data: [{ secretKey: "p", remoteRef: { key: "b-db" } }],
    }),
  );
  const refused = await waitForCondition(ctl.kube, nsA, "sa-b", "Ready", "False");
  assert.match(
    refused.status?.conditions?.find((c) => c.type === "Ready")?.message ?? "",
    /may not name namespace/,
  );
});

void test("100 ExternalSecrets over 10 secrets: ≤ 10 secret reads and one token request for the identity", async (t) => {
  const ns = await cluster.createNamespace("az-cost");
  await core.createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name: "app" } } });
  const app = azure.addApp({ tenant: TENANT, name: "cost", clientSecret: "cost-secret" });
  const names = Array.from({ length: 10 }, (_, i) => `cost-${i}`);
  azure.assignRole(VAULT, { principal: app, actions: SECRETS_USER, objects: names });
  for (const [i, name] of names.entries()) azure.putSecret(VAULT, name, JSON.stringify({ n: String(i) }));
  await core.createNamespacedSecret({
    namespace: ns,
    body: { metadata: { name: "sp" }, stringData: { id: app, secret: "cost-secret" } },
  });
  const custom = cluster.kc.makeApiClient(CustomObjectsApi);
  const create = (plural: string, body: object) =>
    custom.createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural, body });
  await create(
    "secretstores",
    store(
      { name: "kv", namespace: ns },
      {
        authType: "ServicePrincipal",
        serviceAccountRef: undefined,
        authSecretRef: { clientId: { name: "sp", key: "id" }, clientSecret: { name: "sp", key: "secret" } },
      },
    ),
  );
  for (let i = 0; i < 100; i += 20) {
    await Promise.all(
      Array.from({ length: 20 }, (_, j) =>
        create("externalsecrets", {
          apiVersion: API_VERSION,
          kind: "ExternalSecret",
          metadata: { name: `es-${i + j}` },
          spec: {
            secretStoreRef: { name: "kv" },
            refreshInterval: "1h",
            data: [{ secretKey: "n", remoteRef: { key: names[(i + j) % 10] as string, property: "n" } }],
          },
        }),
      ),
    );
  }
  const deadline = Date.now() + 120_000;
  let synced = 0;
  while (Date.now() < deadline) {
    const list = await core.listNamespacedSecret({
      namespace: ns,
      labelSelector: `${LABEL_MANAGED_BY}=${MANAGED_BY}`,
    });
    synced = list.items.filter((s) => s.data?.["n"] !== undefined).length;
    if (synced === 100) break;
    await sleep(250);
  }
  assert.equal(synced, 100, "every ExternalSecret synced");
  const reads = azure.count({ service: "vault", operation: "GetSecret", principal: app });
  const tokens = azure.count({ service: "entra", operation: "Token", principal: app });
  const text = `100 ExternalSecrets / 10 secrets → ${reads} GetSecret calls, ${tokens} token request(s) for the identity`;
  t.diagnostic(text);
  console.log(`figure: ${text}`);
  assert.ok(reads <= 10, text);
  assert.equal(tokens, 1, text);
  const es = await getExternalSecret(ctl.kube, ns, "es-0");
  assert.equal(es?.status?.conditions?.find((c) => c.type === "Ready")?.status, "True");
});
