// ExternalSecrets through Vault SecretStores with Kubernetes auth: each namespace logs in as its own
// service account (TokenRequest, audience "vault"), Vault checks it through the cluster's TokenReview.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  applyObject,
  getSecret,
  waitFor,
  waitForCondition,
  type TestController,
} from "../controller/harness.ts";
import {
  assertNoCredentials,
  controllerFor,
  createServiceAccount,
  grantNamespace,
  kubernetesAuthSpec,
  startVaultSuite,
  vaultStore,
  waitForStoreCondition,
  type VaultSuite,
  propertyExternalSecret,
} from "./setup.ts";

void describe("Vault Kubernetes auth with serviceAccountRef", () => {
  let suite: VaultSuite;
  let nsA: string;
  let nsB: string;
  let ctlA: TestController;
  let ctlB: TestController;

  before(async () => {
    suite = await startVaultSuite();
    nsA = await suite.cluster.createNamespace("vault-a");
    nsB = await suite.cluster.createNamespace("vault-b");
    ctlA = await controllerFor(suite, nsA);
    ctlB = await controllerFor(suite, nsB);
    for (const ns of [nsA, nsB]) {
      grantNamespace(suite.vault, ns);
      suite.vault.root.putSecret("secret", `${ns}/db`, { password: `pw-of-${ns}` });
      await createServiceAccount(ctlA.kube, ns, "app");
      await applyObject(ctlA.kube, vaultStore(ns, "vault", kubernetesAuthSpec(suite.vault.url, ns, "app")));
    }
  });
  after(async () => {
    await ctlA?.stop();
    await ctlB?.stop();
    await suite?.stop();
  });

  void it("syncs each namespace's own path as its own service account", async () => {
    for (const [ctl, ns] of [
      [ctlA, nsA],
      [ctlB, nsB],
    ] as const) {
      await applyObject(
        ctl.kube,
        propertyExternalSecret(ns, "db", { name: "vault" }, `${ns}/db`, "password"),
      );
      await waitForCondition(ctl.kube, ns, "db", "Ready", "True", "SecretSynced");
      const secret = await waitFor(() => getSecret(ctl.kube, ns, "db"), `Secret ${ns}/db`);
      assert.deepEqual(secret.data, { password: `pw-of-${ns}` });
      assert.equal(
        suite.vault.count({ path: "auth/kubernetes/login", status: 200, identity: `kubernetes-${ns}-app` }),
        1,
      );
    }
    await waitForStoreCondition(ctlA.kube, nsA, "vault", "Ready", "True");
  });

  void it("denies namespace A's service account namespace B's path", async () => {
    await applyObject(
      ctlA.kube,
      propertyExternalSecret(nsA, "steal", { name: "vault" }, `${nsB}/db`, "password"),
    );
    const es = await waitForCondition(ctlA.kube, nsA, "steal", "Ready", "False", "AccessDenied");
    const condition = es.status?.conditions?.find((c) => c.type === "Ready");
    assert.match(condition?.message ?? "", new RegExp(`secret/data/${nsB}/db`));
    assert.equal(await getSecret(ctlA.kube, nsA, "steal"), undefined);
    assert.ok(!ctlA.logText().includes(`pw-of-${nsB}`));
    assertNoCredentials(ctlA.logText(), "the controller log");
    assertNoCredentials(JSON.stringify(es.status), "the status");
    assert.ok(!JSON.stringify(es.status).includes(`pw-of-${nsB}`));
  });

  void it("denies namespace A a store that logs in with namespace B's Vault role", async () => {
    await applyObject(
      ctlA.kube,
      vaultStore(nsA, "borrowed-role", kubernetesAuthSpec(suite.vault.url, nsB, "app")),
    );
    await applyObject(
      ctlA.kube,
      propertyExternalSecret(nsA, "borrowed", { name: "borrowed-role" }, `${nsB}/db`, "password"),
    );
    const es = await waitForCondition(ctlA.kube, nsA, "borrowed", "Ready", "False");
    const condition = es.status?.conditions?.find((c) => c.type === "Ready");
    assert.match(condition?.message ?? "", /namespace not authorized/);
    assert.ok(suite.vault.count({ path: "auth/kubernetes/login", status: 403 }) >= 1);
    assert.equal(await getSecret(ctlA.kube, nsA, "borrowed"), undefined);
  });
});
