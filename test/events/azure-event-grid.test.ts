// Azure Key Vault changes delivered by Event Grid to the events endpoint, end to end on the real API
// server with the Key Vault + Entra ID test server: the subscription-validation handshake, a
// SecretNewVersionCreated delivery refreshing every reader with one Key Vault read, a redelivery and
// a version already synced costing nothing, and deliveries without the code refused.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { CoreV1Api } from "@kubernetes/client-node";
import type { SecretStore } from "../../src/api/v1alpha1.ts";
import { SECRET_NEW_VERSION, VALIDATION_EVENT } from "../../src/controller/events/azure-event-grid.ts";
import type { RunningServer } from "../../src/server/app.ts";
import { startCluster, type Cluster } from "../cluster/index.ts";
import {
  applyObject,
  externalSecret,
  startTestController,
  waitForCondition,
  type TestController,
} from "../controller/harness.ts";
import {
  kubeTokenReviewer,
  SECRETS_USER,
  startAzureServer,
  type AzureTestServer,
} from "../servers/azure/index.ts";
import { eventsEndpoint, eventsReady, everyReaderHas } from "./harness.ts";

const TENANT = "44444444-4444-4444-4444-444444444444";
const VAULT = "events-kv";
const CODE = "an-event-grid-code-of-at-least-32-bytes";
const READERS = ["a", "b", "c"];

let cluster: Cluster;
let azure: AzureTestServer;
let ctl: TestController;
let server: RunningServer;
let ns: string;

before(async () => {
  cluster = await startCluster({ crds: true });
  azure = await startAzureServer({ reviewToken: kubeTokenReviewer(cluster.kc) });
  ns = await cluster.createNamespace("az-events");
  azure.addVault(VAULT, TENANT);
  const reader = azure.addApp({ tenant: TENANT, name: "reader", clientSecret: "reader-client-secret" });
  azure.assignRole(VAULT, { principal: reader, actions: SECRETS_USER });
  azure.putSecret(VAULT, "db", JSON.stringify({ password: "one" }));
  await cluster.kc.makeApiClient(CoreV1Api).createNamespacedSecret({
    namespace: ns,
    body: {
      metadata: { name: "creds" },
      stringData: { id: reader, secret: "reader-client-secret", code: CODE },
    },
  });
  ctl = await startTestController(cluster, { namespace: ns });
  server = await eventsEndpoint(ctl);
  const store: SecretStore = {
    apiVersion: "refsync.dev/v1alpha1",
    kind: "SecretStore",
    metadata: { name: "azure", namespace: ns },
    spec: {
      provider: {
        azurekv: {
          vaultUrl: azure.vaultUrl(VAULT),
          tenantId: TENANT,
          customCloudConfig: azure.customCloudConfig,
          authType: "ServicePrincipal",
          authSecretRef: {
            clientId: { name: "creds", key: "id" },
            clientSecret: { name: "creds", key: "secret" },
          },
        },
      },
      events: { azureEventGrid: { secretRef: { name: "creds", key: "code" } } },
    },
  };
  await applyObject(ctl.kube, store);
  for (const name of READERS)
    await applyObject(
      ctl.kube,
      externalSecret(ns, name, {
        secretStoreRef: { name: "azure" },
        refreshInterval: "1h",
        data: [{ secretKey: "password", remoteRef: { key: "db", property: "password" } }],
      }),
    );
  for (const name of READERS) await waitForCondition(ctl.kube, ns, name, "Ready", "True");
  await eventsReady(ctl.kube, ns, "azure", "True");
});

after(async () => {
  await server?.close();
  await ctl?.stop();
  await azure?.close();
});

function deliver(
  kind: "SubscriptionValidation" | "Notification",
  events: unknown[],
  code: string | null = CODE,
) {
  return fetch(`${server.url}/api/v1/events/${ns}/azure${code === null ? "" : `?code=${code}`}`, {
    method: "POST",
    headers: { "aeg-event-type": kind, "content-type": "application/json" },
    body: JSON.stringify(events),
  });
}

function newVersionEvent(id: string, version: string) {
  return {
    id,
    eventType: SECRET_NEW_VERSION,
    subject: "db",
    eventTime: new Date().toISOString(),
    topic: `/subscriptions/s/resourceGroups/g/providers/Microsoft.KeyVault/vaults/${VAULT}`,
    dataVersion: "1",
    metadataVersion: "1",
    data: {
      Id: `${azure.vaultUrl(VAULT)}/secrets/db/${version}`,
      VaultName: VAULT,
      ObjectType: "Secret",
      ObjectName: "db",
      Version: version,
      NBF: null,
      EXP: null,
    },
  };
}

const reads = () => azure.count({ service: "vault", operation: "GetSecret", object: "db", status: 200 });

const allHave = (value: string) => everyReaderHas(ctl.kube, ns, READERS, value);

void test("the subscription-validation handshake echoes the code only to a caller with the secret", async () => {
  const validation = [{ id: "v", eventType: VALIDATION_EVENT, data: { validationCode: "0f1e2d3c" } }];
  assert.equal((await deliver("SubscriptionValidation", validation, null)).status, 401);
  assert.equal((await deliver("SubscriptionValidation", validation, "not-the-code")).status, 401);
  const ok = await deliver("SubscriptionValidation", validation);
  assert.equal(ok.status, 200);
  assert.deepEqual(await ok.json(), { validationResponse: "0f1e2d3c" });
});

void test("a new Key Vault version reaches every reader with one read; redelivery and the same version cost nothing", async () => {
  const before = reads();
  const version = azure.putSecret(VAULT, "db", JSON.stringify({ password: "two" }));
  const sent = performance.now();
  const res = await deliver("Notification", [newVersionEvent("e-1", version)]);
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { accepted: 1 });
  await allHave("two");
  console.log(`Event Grid change→Secret ${(performance.now() - sent).toFixed(0)} ms`);
  assert.equal(reads() - before, 1, "one Key Vault read for three readers");

  // Event Grid redelivers (same id), and another subscription reports the same version (new id).
  assert.deepEqual(await (await deliver("Notification", [newVersionEvent("e-1", version)])).json(), {
    accepted: 0,
  });
  assert.deepEqual(await (await deliver("Notification", [newVersionEvent("e-2", version)])).json(), {
    accepted: 1,
  });
  assert.equal((await deliver("Notification", [newVersionEvent("e-3", "x")], null)).status, 401);
  await new Promise((r) => setTimeout(r, 1_000));
  assert.equal(reads() - before, 1, "nothing more was read");
  const text = await ctl.controller.metrics.registry.metrics();
  assert.match(text, /refsync_key_changes_total\{source="azure-event-grid",outcome="unchanged"\} 1/);
});
