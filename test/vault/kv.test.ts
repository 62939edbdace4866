// KV v2 (latest and pinned versions, extract, find) and KV v1 stores through the controller, and a sealed
// Vault: Ready=False with the Secret kept, then recovery after unsealing without a restart.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  applyObject,
  externalSecret,
  getSecret,
  waitFor,
  waitForCondition,
  type TestController,
} from "../controller/harness.ts";
import {
  grantNamespace,
  kubernetesAuthSpec,
  kubernetesRole,
  startNamespaceSuite,
  vaultStore,
  type NamespaceSuite,
  propertyExternalSecret,
} from "./setup.ts";

void describe("Vault KV v1 and v2 through the controller", () => {
  let suite: NamespaceSuite;
  let ns: string;
  let ctl: TestController;

  before(async () => {
    suite = await startNamespaceSuite("vault-kv");
    ({ ns, ctl } = suite);
    const root = suite.vault.root;
    grantNamespace(suite.vault, ns);
    kubernetesRole(suite.vault, `${ns}-v1`, ns, [{ path: `kv/${ns}/*`, capabilities: ["read"] }]);
    root.putSecret("secret", `${ns}/db`, { user: "app", password: "first-password" });
    root.putSecret("secret", `${ns}/db`, { user: "app", password: "second-password" });
    root.putSecret("secret", `${ns}/apps/api/token`, { value: "api-token" });
    root.putSecret("secret", `${ns}/apps/web/token`, { value: "web-token" });
    root.putSecret("secret", `${ns}/apps/web/config`, { value: "not-a-token" });
    root.putSecret("kv", `${ns}/legacy`, { apiKey: "v1-api-key" });
    await applyObject(ctl.kube, vaultStore(ns, "vault", kubernetesAuthSpec(suite.vault.url, ns, "app")));
    await applyObject(
      ctl.kube,
      vaultStore(
        ns,
        "vault-v1",
        kubernetesAuthSpec(suite.vault.url, `${ns}-v1`, "app", { path: "kv", version: "v1" }),
      ),
    );
  });
  after(async () => {
    await suite?.stop();
  });

  void it("reads the latest KV v2 version, a pinned one, a whole secret and a find", async () => {
    await applyObject(
      ctl.kube,
      externalSecret(ns, "v2", {
        secretStoreRef: { name: "vault" },
        data: [
          { secretKey: "current", remoteRef: { key: `${ns}/db`, property: "password" } },
          { secretKey: "previous", remoteRef: { key: `${ns}/db`, property: "password", version: "1" } },
        ],
        dataFrom: [{ extract: { key: `${ns}/db` } }],
      }),
    );
    await waitForCondition(ctl.kube, ns, "v2", "Ready", "True", "SecretSynced");
    const secret = await waitFor(() => getSecret(ctl.kube, ns, "v2"), "Secret v2");
    assert.deepEqual(secret.data, {
      current: "second-password",
      previous: "first-password",
      user: "app",
      password: "second-password",
    });
    assert.equal(
      suite.vault.count({ path: `secret/data/${ns}/db`, status: 200 }),
      2,
      "latest and v1: two reads",
    );

    await applyObject(
      ctl.kube,
      externalSecret(ns, "tokens", {
        secretStoreRef: { name: "vault" },
        dataFrom: [
          {
            find: { path: `${ns}/apps`, name: { regexp: "/token$" } },
            rewrite: [{ regexp: { source: `^${ns}/apps/(.*)/token$`, target: "$1" } }],
          },
        ],
      }),
    );
    await waitForCondition(ctl.kube, ns, "tokens", "Ready", "True", "SecretSynced");
    const tokens = await waitFor(() => getSecret(ctl.kube, ns, "tokens"), "Secret tokens");
    assert.deepEqual(Object.keys(tokens.data).sort(), ["api", "web"]);
    assert.deepEqual(JSON.parse(tokens.data.web!), { value: "web-token" });
  });

  void it("reads KV v1 without the /data/ segment", async () => {
    await applyObject(
      ctl.kube,
      propertyExternalSecret(ns, "v1", { name: "vault-v1" }, `${ns}/legacy`, "apiKey"),
    );
    await waitForCondition(ctl.kube, ns, "v1", "Ready", "True", "SecretSynced");
    assert.deepEqual((await getSecret(ctl.kube, ns, "v1"))?.data, { apiKey: "v1-api-key" });
    assert.equal(suite.vault.count({ path: `kv/${ns}/legacy`, status: 200 }), 1);
  });

  void it("keeps the Secret while Vault is sealed, reports Ready=False, and recovers after unsealing", async () => {
    await applyObject(
      ctl.kube,
      propertyExternalSecret(ns, "sealed", { name: "vault" }, `${ns}/db`, "password", {
        refreshInterval: "1s",
      }),
    );
    await waitForCondition(ctl.kube, ns, "sealed", "Ready", "True", "SecretSynced");
    const before = await getSecret(ctl.kube, ns, "sealed");
    suite.vault.faults.sealed = true;
    try {
      const es = await waitForCondition(ctl.kube, ns, "sealed", "Ready", "False");
      assert.match(es.status?.conditions?.find((c) => c.type === "Ready")?.message ?? "", /sealed/);
      const during = await getSecret(ctl.kube, ns, "sealed");
      assert.deepEqual(during?.data, { password: "second-password" });
      assert.equal(
        during?.metadata.resourceVersion,
        before?.metadata.resourceVersion,
        "the Secret is left alone",
      );
    } finally {
      suite.vault.faults.sealed = false;
    }
    suite.vault.root.putSecret("secret", `${ns}/db`, { user: "app", password: "after-unseal" });
    await waitFor(
      async () =>
        (await getSecret(ctl.kube, ns, "sealed"))?.data.password === "after-unseal" ? true : undefined,
      "the Secret updated after unsealing",
    );
    await waitForCondition(ctl.kube, ns, "sealed", "Ready", "True", "SecretSynced");
  });
});
