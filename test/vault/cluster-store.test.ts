// One ClusterSecretStore for many tenants: each ExternalSecret's namespace logs in as its own service
// account (serviceAccountRef without a namespace), and a templated Vault policy keeps each namespace to
// its own path. The store itself validates without any tenant's identity.
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import type { SecretStore } from "../../src/api/v1alpha1.ts";
import { resourceTypes } from "../../src/kube/resources.ts";
import { applyObject, deleteObject, getSecret, waitFor, waitForCondition } from "../controller/harness.ts";
import { createServiceAccount, propertyExternalSecret, startTenantsSuite, useSuite } from "./setup.ts";

void describe("Vault ClusterSecretStore with per-namespace Kubernetes identities", () => {
  let store: SecretStore;
  // Registered first, so it runs before the suite stops: the ClusterSecretStore outlives the namespaces.
  after(async () => {
    await deleteObject(suite.ctlA.kube, store).catch(() => undefined);
  });
  const suite = useSuite(
    () => startTenantsSuite("vault-tenant-a", "vault-tenant-b"),
    async ({ vault, nsA, nsB, ctlA }) => {
      vault.root.writePolicy("tenant", [
        {
          path: "secret/data/{{identity.entity.aliases.auth_kubernetes_3f2a.metadata.service_account_namespace}}/*",
          capabilities: ["read"],
        },
      ]);
      vault.root.addKubernetesRole("tenants", {
        boundServiceAccountNames: ["app"],
        boundServiceAccountNamespaces: [nsA, nsB],
        audience: "vault",
        policies: ["tenant"],
        ttl: 300,
      });
      store = {
        apiVersion: "refsync.dev/v1alpha1",
        kind: "ClusterSecretStore",
        metadata: { name: `vault-${nsA}` },
        spec: {
          provider: {
            vault: {
              server: vault.url,
              path: "secret",
              auth: {
                kubernetes: { role: "tenants", serviceAccountRef: { name: "app", audiences: ["vault"] } },
              },
            },
          },
          conditions: [{ namespaces: [nsA, nsB] }],
        },
      };
      for (const ns of [nsA, nsB]) {
        vault.root.putSecret("secret", `${ns}/db`, { password: `tenant-pw-${ns}` });
        await createServiceAccount(ctlA.kube, ns, "app");
      }
      await applyObject(ctlA.kube, store);
    },
  );

  void it("validates without a tenant identity, then each namespace reads only its own path as itself", async () => {
    // What the store reconciler runs (scoped test controllers leave ClusterSecretStore status to a
    // cluster-wide one): the store's own validation, with no ExternalSecret's namespace to act for.
    const stored = await waitFor(
      () =>
        suite.ctlA.kube.get<SecretStore>(resourceTypes.clusterSecretStore, undefined, store.metadata.name),
      "ClusterSecretStore",
    );
    assert.deepEqual(await suite.ctlA.controller.sessions.session(stored).validate(), { status: "Ready" });
    assert.equal(suite.vault.count({ path: "auth/kubernetes/login" }), 0, "validation logs in as nobody");

    for (const [ctl, own, other] of [
      [suite.ctlA, suite.nsA, suite.nsB],
      [suite.ctlB, suite.nsB, suite.nsA],
    ] as const) {
      const ref = { name: store.metadata.name, kind: "ClusterSecretStore" as const };
      await applyObject(ctl.kube, propertyExternalSecret(own, "db", ref, `${own}/db`, "password"));
      await applyObject(ctl.kube, propertyExternalSecret(own, "other", ref, `${other}/db`, "password"));
      await waitForCondition(ctl.kube, own, "db", "Ready", "True", "SecretSynced");
      assert.deepEqual((await getSecret(ctl.kube, own, "db"))?.data, { password: `tenant-pw-${own}` });
      await waitForCondition(ctl.kube, own, "other", "Ready", "False", "AccessDenied");
      assert.equal(await getSecret(ctl.kube, own, "other"), undefined);
      assert.equal(
        suite.vault.count({ path: "auth/kubernetes/login", status: 200, identity: `kubernetes-${own}-app` }),
        1,
      );
    }
  });
});
