// More ExternalSecrets backed by Azure Key Vault, reconciled by the real
// controller on the real API server, against the Key Vault + Entra ID test
// server: the other auth modes (service principal with a client secret and
// with a certificate, a user-assigned managed identity through the SDK's
// IDENTITY_ENDPOINT/IDENTITY_HEADER), find by tag, `key/` and `cert/`
// objects, 429 backed off with every attempt counted, and a workload
// identity's token refreshed mid-run without a refused read.
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { after, before, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { CoreV1Api } from "@kubernetes/client-node";
import { ANNOTATION_FORCE_SYNC, type SecretStore } from "../../src/api/v1alpha1.ts";
import { resourceTypes } from "../../src/kube/resources.ts";
import { startCluster, type Cluster } from "../cluster/index.ts";
import {
  applyObject,
  externalSecret,
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

const TENANT = "55555555-5555-5555-5555-555555555555";
const VAULT = "modes-kv";
/** A first sync takes a store validation and a token: give a loaded machine time. */
const LOADED = 60_000;
let cluster: Cluster;
let core: CoreV1Api;
let azure: AzureTestServer;
let ctl: TestController;
let ns: string;
let reader: string;
let certApp: string;
let certPem: string;
let identity: string;
let signingCert: string;
let tlsV1: string;
const savedEnv = { ...process.env };

before(async () => {
  cluster = await startCluster({ crds: true });
  core = cluster.kc.makeApiClient(CoreV1Api);
  azure = await startAzureServer({ reviewToken: kubeTokenReviewer(cluster.kc) });
  ns = await cluster.createNamespace("az-modes");
  azure.addVault(VAULT, TENANT);

  // A service principal with a client secret: secrets, keys and certificates of the whole vault.
  reader = azure.addApp({ tenant: TENANT, name: "reader", clientSecret: "reader-client-secret" });
  azure.assignRole(VAULT, {
    principal: reader,
    actions: [...SECRETS_USER, "keys/read", "certificates/read"],
  });
  // A service principal with a certificate: one secret.
  const cert = await azure.pki.issue("cert-app");
  certPem = cert.pem;
  certApp = azure.addApp({ tenant: TENANT, name: "cert-app", certificates: [cert.certPem] });
  azure.assignRole(VAULT, { principal: certApp, actions: ["secrets/getSecret"], objects: ["cert-db"] });
  // The controller's own user-assigned managed identity: one secret.
  identity = azure.addManagedIdentity(TENANT, "refsync-controller");
  azure.assignRole(VAULT, { principal: identity, actions: SECRETS_USER, objects: ["mi-db"] });

  azure.putSecret(VAULT, "cert-db", JSON.stringify({ password: "cert-pw" }));
  azure.putSecret(VAULT, "mi-db", JSON.stringify({ password: "mi-pw" }));
  azure.putSecret(VAULT, "team-a-db", JSON.stringify({ password: "tag-pw" }), { tags: { team: "a" } });
  azure.putSecret(VAULT, "team-a-token", "tag-token", { tags: { team: "a", tier: "web" } });
  azure.putSecret(VAULT, "team-a-off", "tag-disabled", { tags: { team: "a" } });
  azure.setEnabled(VAULT, "team-a-off", false);
  azure.putSecret(VAULT, "team-b-db", "tag-b", { tags: { team: "b" } });
  const signing = await azure.pki.issue("signing");
  signingCert = signing.certPem;
  azure.putKey(VAULT, "signing", signing.certPem);
  tlsV1 = azure.putCertificate(VAULT, "tls", signing.der);
  azure.putCertificate(VAULT, "tls", (await azure.pki.issue("tls-renewed")).der);

  await core.createNamespacedSecret({
    namespace: ns,
    body: {
      metadata: { name: "sp" },
      stringData: { id: reader, secret: "reader-client-secret", certId: certApp, cert: certPem },
    },
  });
  // ManagedIdentityCredential finds the endpoint where App Service and Azure Arc put it.
  Object.assign(process.env, { IDENTITY_ENDPOINT: azure.msi.endpoint, IDENTITY_HEADER: azure.msi.header });
  ctl = await startTestController(cluster, { namespace: ns });
});

after(async () => {
  await ctl?.stop();
  process.env = savedEnv;
  await azure?.close();
  await cluster?.stop();
});

function store(name: string, provider: Record<string, unknown>): SecretStore {
  return {
    apiVersion: "refsync.dev/v1alpha1",
    kind: "SecretStore",
    metadata: { name, namespace: ns },
    spec: {
      provider: {
        azurekv: {
          vaultUrl: azure.vaultUrl(VAULT),
          tenantId: TENANT,
          customCloudConfig: azure.customCloudConfig,
          ...provider,
        },
      },
    },
  };
}

const withSecret = {
  authType: "ServicePrincipal",
  authSecretRef: { clientId: { name: "sp", key: "id" }, clientSecret: { name: "sp", key: "secret" } },
};

/** The Ready condition's reason and message. */
async function ready(name: string): Promise<{ reason: string; message: string }> {
  const es = await ctl.kube.get<{
    status?: { conditions?: { type: string; reason?: string; message?: string }[] };
  }>(resourceTypes.externalSecret, ns, name);
  const c = es?.status?.conditions?.find((x) => x.type === "Ready");
  return { reason: c?.reason ?? "", message: c?.message ?? "" };
}

async function storeCondition(s: SecretStore, type: string) {
  return waitFor(
    async () => {
      const got = await ctl.kube.get<SecretStore>(resourceTypes.secretStore, ns, s.metadata.name);
      return got?.status?.conditions?.find((c) => c.type === type && c.status === "True");
    },
    `SecretStore ${s.metadata.name} ${type}`,
    LOADED,
  );
}

function callsCounted(storeName: string, call: string, result: string): Promise<number> {
  return ctl.controller.metrics.providerCalls
    .get()
    .then(({ values }) =>
      values
        .filter(
          (v) =>
            v.labels["store"] === `SecretStore/${ns}/${storeName}` &&
            v.labels["call"] === call &&
            v.labels["result"] === result,
        )
        .reduce((sum, v) => sum + v.value, 0),
    );
}

void test("service principal with a certificate: reads its secret, RBAC refuses another, StaticCredentials", async () => {
  const certStore = store("sp-cert", {
    authType: "ServicePrincipal",
    authSecretRef: {
      clientId: { name: "sp", key: "certId" },
      clientCertificate: { name: "sp", key: "cert" },
    },
  });
  await applyObject(ctl.kube, certStore);
  await applyObject(
    ctl.kube,
    externalSecret(ns, "cert-db", {
      secretStoreRef: { name: "sp-cert" },
      data: [{ secretKey: "password", remoteRef: { key: "cert-db", property: "password" } }],
    }),
  );
  await applyObject(
    ctl.kube,
    externalSecret(ns, "cert-other", {
      secretStoreRef: { name: "sp-cert" },
      data: [{ secretKey: "password", remoteRef: { key: "mi-db", property: "password" } }],
    }),
  );
  await waitForCondition(ctl.kube, ns, "cert-db", "Ready", "True", "SecretSynced", LOADED);
  assert.equal((await getSecret(ctl.kube, ns, "cert-db"))?.data["password"], "cert-pw");
  await waitForCondition(ctl.kube, ns, "cert-other", "Ready", "False", "AccessDenied", LOADED);
  assert.match((await ready("cert-other")).message, /ForbiddenByRbac/);
  assert.doesNotMatch((await ready("cert-other")).message, /mi-pw/);
  // Entra ID took a certificate assertion from this app, not a client secret.
  assert.ok(azure.count({ service: "entra", operation: "Token", status: 200, principal: certApp }) >= 1);
  assert.equal((await storeCondition(certStore, "StaticCredentials")).status, "True");
});

void test("the controller's managed identity: reads through IDENTITY_ENDPOINT, only what its role allows", async () => {
  await applyObject(ctl.kube, store("mi", { authType: "ManagedIdentity", identityId: identity }));
  await applyObject(
    ctl.kube,
    externalSecret(ns, "mi-db", {
      secretStoreRef: { name: "mi" },
      data: [{ secretKey: "password", remoteRef: { key: "mi-db", property: "password" } }],
    }),
  );
  await applyObject(
    ctl.kube,
    externalSecret(ns, "mi-other", {
      secretStoreRef: { name: "mi" },
      data: [{ secretKey: "password", remoteRef: { key: "cert-db", property: "password" } }],
    }),
  );
  await waitForCondition(ctl.kube, ns, "mi-db", "Ready", "True", "SecretSynced", LOADED);
  assert.equal((await getSecret(ctl.kube, ns, "mi-db"))?.data["password"], "mi-pw");
  await waitForCondition(ctl.kube, ns, "mi-other", "Ready", "False", "AccessDenied", LOADED);
  assert.ok(azure.count({ service: "msi", status: 200, principal: identity }) >= 1);
  assert.ok(
    azure.requests.some(
      (r) => r.service === "vault" && r.object === "mi-db" && r.status === 200 && r.principal === identity,
    ),
  );
});

void test("service principal with a client secret: find by tag, keys as JWK, certificates as PEM, pinned versions", async () => {
  await applyObject(ctl.kube, store("sp-secret", withSecret));
  await applyObject(
    ctl.kube,
    externalSecret(ns, "objects", {
      secretStoreRef: { name: "sp-secret" },
      data: [
        { secretKey: "tls.crt", remoteRef: { key: "cert/tls" } },
        { secretKey: "previous.crt", remoteRef: { key: `${VAULT}/cert/tls`, version: tlsV1 } },
        { secretKey: "jwk", remoteRef: { key: "key/signing" } },
        { secretKey: "kty", remoteRef: { key: "key/signing", property: "kty" } },
      ],
      dataFrom: [{ find: { tags: { team: "a" } } }],
    }),
  );
  await waitForCondition(ctl.kube, ns, "objects", "Ready", "True", "SecretSynced", LOADED);
  const secret = await getSecret(ctl.kube, ns, "objects");
  assert.ok(secret);
  // Found by tag: enabled secrets tagged team=a, each whole; team-b's and the disabled one are not.
  assert.equal(secret.data["team-a-token"], "tag-token");
  assert.deepEqual(JSON.parse(secret.data["team-a-db"] ?? "{}"), { password: "tag-pw" });
  assert.equal(secret.data["team-a-off"], undefined);
  assert.equal(secret.data["team-b-db"], undefined);
  // A certificate is its X.509 PEM: the current one, or a pinned version.
  const current = new X509Certificate(secret.data["tls.crt"] ?? "");
  const previous = new X509Certificate(secret.data["previous.crt"] ?? "");
  assert.match(secret.data["tls.crt"] ?? "", /^-----BEGIN CERTIFICATE-----\n/);
  assert.match(current.subject, /tls-renewed/);
  assert.equal(previous.fingerprint256, new X509Certificate(signingCert).fingerprint256);
  // A key is its public JWK, never a private part.
  const jwk = JSON.parse(secret.data["jwk"] ?? "{}") as Record<string, unknown>;
  assert.equal(jwk["kty"], "RSA");
  assert.equal(jwk["d"], undefined);
  assert.equal(secret.data["kty"], "RSA");
  assert.ok(azure.count({ operation: "ListSecrets", status: 200, principal: reader }) >= 1);
  assert.ok(azure.count({ operation: "GetCertificate", status: 200, principal: reader }) >= 2);
  assert.ok(azure.count({ operation: "GetKey", status: 200, principal: reader }) >= 1);
});

void test("429 with Retry-After is backed off, and every attempt is counted", async () => {
  const throttled = store("throttled", withSecret);
  await applyObject(ctl.kube, throttled);
  await waitFor(
    async () => {
      const got = await ctl.kube.get<SecretStore>(resourceTypes.secretStore, ns, "throttled");
      return got?.status?.conditions?.find((c) => c.type === "Ready" && c.status === "True");
    },
    "store throttled Ready",
    LOADED,
  );
  azure.putSecret(VAULT, "busy", "busy-value");
  const before = azure.count({ operation: "GetSecret", status: 429, principal: reader });
  azure.failNext("throttle", 2, { service: "vault", operation: "GetSecret", principal: reader });
  await applyObject(
    ctl.kube,
    externalSecret(ns, "throttled", {
      secretStoreRef: { name: "throttled" },
      data: [{ secretKey: "v", remoteRef: { key: "busy" } }],
    }),
  );
  await waitForCondition(ctl.kube, ns, "throttled", "Ready", "True", "SecretSynced", 60_000);
  assert.equal((await getSecret(ctl.kube, ns, "throttled"))?.data["v"], "busy-value");
  assert.equal(azure.count({ operation: "GetSecret", status: 429, principal: reader }) - before, 2);
  assert.equal(await callsCounted("throttled", "GetSecret", "throttled"), 2);
  assert.equal(await callsCounted("throttled", "GetSecret", "success"), 1);
});

void test("workload identity: a token expiring mid-run is refreshed before Key Vault could refuse it", async () => {
  // The issuer Entra ID would be told about: the cluster's service-account issuer.
  await core.createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name: "app" } } });
  const probe = await core.createNamespacedServiceAccountToken({
    namespace: ns,
    name: "app",
    body: { spec: { audiences: ["api://AzureADTokenExchange"] } },
  });
  const issuer = (
    JSON.parse(Buffer.from((probe.status?.token ?? "").split(".")[1] ?? "", "base64url").toString()) as {
      iss: string;
    }
  ).iss;
  const app = azure.addApp({
    tenant: TENANT,
    name: "refreshing",
    federated: [{ issuer, subject: `system:serviceaccount:${ns}:app` }],
  });
  azure.assignRole(VAULT, { principal: app, actions: SECRETS_USER, objects: ["rotating"] });
  azure.putSecret(VAULT, "rotating", "r-0");
  // Tokens live 6 s: the cache takes a new one half-way, so a read never carries an expired one.
  azure.setTokenSeconds(6);
  try {
    // The client ID's Secret first: a store validated without it would warn, and the test counts warnings.
    await core.createNamespacedSecret({
      namespace: ns,
      body: { metadata: { name: "ids" }, stringData: { app } },
    });
    await applyObject(
      ctl.kube,
      store("refreshing", {
        serviceAccountRef: { name: "app" },
        authSecretRef: { clientId: { name: "ids", key: "app" } },
      }),
    );
    const es = externalSecret(ns, "refreshing", {
      secretStoreRef: { name: "refreshing" },
      refreshInterval: "1h",
      data: [{ secretKey: "v", remoteRef: { key: "rotating" } }],
    });
    await applyObject(ctl.kube, es);
    await waitForCondition(ctl.kube, ns, "refreshing", "Ready", "True", "SecretSynced", LOADED);
    const tokens = () => azure.count({ service: "entra", operation: "Token", status: 200, principal: app });
    const initial = tokens();
    // Rotate and force a sync until a value was read with a refreshed token (the run outlives the first).
    let round = 0;
    const deadline = Date.now() + 60_000;
    for (;;) {
      round++;
      azure.putSecret(VAULT, "rotating", `r-${round}`);
      await applyObject(ctl.kube, {
        ...es,
        metadata: { ...es.metadata, annotations: { [ANNOTATION_FORCE_SYNC]: String(round) } },
      });
      await waitFor(
        async () =>
          (await getSecret(ctl.kube, ns, "refreshing"))?.data["v"] === `r-${round}` ? true : undefined,
        `value r-${round}`,
        LOADED,
      );
      if (tokens() > initial) break;
      assert.ok(Date.now() < deadline, "a second token within a minute of 6-second tokens");
      await sleep(500);
    }
    // One more rotation: read with the refreshed token.
    const refreshedAt = azure.requests.findLastIndex(
      (r) => r.service === "entra" && r.operation === "Token" && r.principal === app,
    );
    azure.putSecret(VAULT, "rotating", "r-final");
    await applyObject(ctl.kube, {
      ...es,
      metadata: { ...es.metadata, annotations: { [ANNOTATION_FORCE_SYNC]: "final" } },
    });
    await waitFor(
      async () => ((await getSecret(ctl.kube, ns, "refreshing"))?.data["v"] === "r-final" ? true : undefined),
      "value r-final",
      LOADED,
    );
    assert.ok(
      azure.requests
        .slice(refreshedAt + 1)
        .some((r) => r.operation === "GetSecret" && r.status === 200 && r.principal === app),
    );
    // Every read carried a valid token: no Key Vault refusal, no failed call, no warning.
    assert.equal(await callsCounted("refreshing", "GetSecret", "denied"), 0);
    assert.equal(await callsCounted("refreshing", "GetSecret", "error"), 0);
    assert.equal(await callsCounted("refreshing", "GetToken", "denied"), 0);
    assert.equal((await ready("refreshing")).reason, "SecretSynced");
    const events = await core.listNamespacedEvent({ namespace: ns });
    assert.ok(!events.items.some((e) => e.involvedObject.name === "refreshing" && e.type === "Warning"));
  } finally {
    azure.setTokenSeconds(3600);
  }
});
