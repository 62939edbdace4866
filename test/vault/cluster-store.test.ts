// One ClusterSecretStore for many tenants: each ExternalSecret's namespace logs in as its own service
// account (serviceAccountRef without a namespace), and a templated Vault policy keeps each namespace to
// its own path. The store itself validates without any tenant's identity.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { SecretStore } from "../../src/api/v1alpha1.ts";
import { resourceTypes } from "../../src/controller/kube/client.ts";
import {
  applyObject,
  deleteObject,
  getSecret,
  waitFor,
  waitForCondition,
  type TestController,
} from "../controller/harness.ts";
import {
  controllerFor,
  createServiceAccount,
  propertyExternalSecret,
  startVaultSuite,
  type VaultSuite,
} from "./setup.ts";

void describe("Vault ClusterSecretStore with per-namespace Kubernetes identities", () => {
  let suite: VaultSuite;
  let nsA: string;
  let nsB: string;
  let ctlA: TestController;
  let ctlB: TestController;
  let store: SecretStore;

  before(async () => {
    suite = await startVaultSuite();
    nsA = await suite.cluster.createNamespace("vault-tenant-a");
    nsB = await suite.cluster.createNamespace("vault-tenant-b");
    ctlA = await controllerFor(suite, nsA);
    ctlB = await controllerFor(suite, nsB);
    suite.vault.root.writePolicy("tenant", [
      {
        path: "secret/data/{{identity.entity.aliases.auth_kubernetes_3f2a.metadata.service_account_namespace}}/*",
        capabilities: ["read"],
      },
    ]);
    suite.vault.root.addKubernetesRole("tenants", {
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
            server: suite.vault.url,
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
      suite.vault.root.putSecret("secret", `${ns}/db`, { password: `tenant-pw-${ns}` });
      await createServiceAccount(ctlA.kube, ns, "app");
    }
    await applyObject(ctlA.kube, store);
  });
  after(async () => {
    await deleteObject(ctlA.kube, store).catch(() => undefined);
    await ctlA?.stop();
    await ctlB?.stop();
    await suite?.stop();
  });

  void it("validates without a tenant identity, then each namespace reads only its own path as itself", async () => {
    // What the store reconciler runs (scoped test controllers leave ClusterSecretStore status to a
    // cluster-wide one): the store's own validation, with no ExternalSecret's namespace to act for.
    const stored = await waitFor(
      () => ctlA.kube.get<SecretStore>(resourceTypes.clusterSecretStore, undefined, store.metadata.name),
      "ClusterSecretStore",
    );
    assert.deepEqual(await ctlA.controller.sessions.session(stored).validate(), { status: "Ready" });
    assert.equal(suite.vault.count({ path: "auth/kubernetes/login" }), 0, "validation logs in as nobody");

    for (const [ctl, own, other] of [
      [ctlA, nsA, nsB],
      [ctlB, nsB, nsA],
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
