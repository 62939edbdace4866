// ExternalSecrets through Vault SecretStores with Kubernetes auth: each namespace logs in as its own
// service account (TokenRequest, audience "vault"), Vault checks it through the cluster's TokenReview.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { applyObject, getSecret, syncFailures, waitFor, waitForCondition } from "../controller/harness.ts";
import {
  applyKubernetesAuthStore,
  assertNoCredentials,
  createServiceAccount,
  grantNamespace,
  kubernetesAuthSpec,
  startTenantsSuite,
  useSuite,
  vaultStore,
  waitForStoreCondition,
  propertyExternalSecret,
} from "./setup.ts";

void describe("Vault Kubernetes auth with serviceAccountRef", () => {
  const suite = useSuite(
    () => startTenantsSuite("vault-a", "vault-b"),
    async ({ vault, nsA, nsB, ctlA }) => {
      for (const ns of [nsA, nsB]) {
        grantNamespace(vault, ns);
        vault.root.putSecret("secret", `${ns}/db`, { password: `pw-of-${ns}` });
        await createServiceAccount(ctlA.kube, ns, "app");
        await applyKubernetesAuthStore(ctlA.kube, vault, ns);
      }
    },
  );

  void it("syncs each namespace's own path as its own service account", async () => {
    for (const [ctl, ns] of [
      [suite.ctlA, suite.nsA],
      [suite.ctlB, suite.nsB],
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
    await waitForStoreCondition(suite.ctlA.kube, suite.nsA, "vault", "Ready", "True");
  });

  void it("denies namespace A's service account namespace B's path", async () => {
    await applyObject(
      suite.ctlA.kube,
      propertyExternalSecret(suite.nsA, "steal", { name: "vault" }, `${suite.nsB}/db`, "password"),
    );
    const es = await waitForCondition(suite.ctlA.kube, suite.nsA, "steal", "Ready", "False", "AccessDenied");
    const condition = es.status?.conditions?.find((c) => c.type === "Ready");
    assert.match(condition?.message ?? "", new RegExp(`secret/data/${suite.nsB}/db`));
    assert.equal(await getSecret(suite.ctlA.kube, suite.nsA, "steal"), undefined);
    await waitFor(
      () => (syncFailures(suite.ctlA, suite.nsA, "steal") > 0 ? true : undefined),
      "the failure logged",
    );
    assert.ok(!suite.ctlA.logText().includes(`pw-of-${suite.nsB}`));
    assertNoCredentials(suite.ctlA.logText(), "the controller log");
    assertNoCredentials(JSON.stringify(es.status), "the status");
    assert.ok(!JSON.stringify(es.status).includes(`pw-of-${suite.nsB}`));
  });

  void it("denies namespace A a store that logs in with namespace B's Vault role", async () => {
    await applyObject(
      suite.ctlA.kube,
      vaultStore(suite.nsA, "borrowed-role", kubernetesAuthSpec(suite.vault.url, suite.nsB, "app")),
    );
    await applyObject(
      suite.ctlA.kube,
      propertyExternalSecret(suite.nsA, "borrowed", { name: "borrowed-role" }, `${suite.nsB}/db`, "password"),
    );
    const es = await waitForCondition(suite.ctlA.kube, suite.nsA, "borrowed", "Ready", "False");
    const condition = es.status?.conditions?.find((c) => c.type === "Ready");
    assert.match(condition?.message ?? "", /namespace not authorized/);
    assert.ok(suite.vault.count({ path: "auth/kubernetes/login", status: 403 }) >= 1);
    assert.equal(await getSecret(suite.ctlA.kube, suite.nsA, "borrowed"), undefined);
  });
});
