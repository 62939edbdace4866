// AppRole, JWT (a Secret's JWT, and a TokenRequest token checked against the cluster's JWKS) and
// static-token SecretStores, through the controller on the real API server.
import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { describe, it } from "node:test";
import { applyObject, putSecret } from "../controller/harness.ts";
import { clusterJwks, signJwt } from "../servers/vault/index.ts";
import {
  assertNoCredentials,
  expectStoreSyncs,
  startNamespaceSuite,
  vaultStore,
  waitForStoreCondition,
  useSuite,
} from "./setup.ts";

const SECRET_ID = "approle-secret-id-integration";

void describe("Vault AppRole, JWT and static-token stores", () => {
  const suite = useSuite(
    () => startNamespaceSuite("vault-auth"),
    async ({ vault, ns }) => {
      const root = vault.root;
      root.writePolicy("reader", [{ path: `secret/data/${ns}/*`, capabilities: ["read"] }]);
      root.putSecret("secret", `${ns}/db`, { password: "auth-methods-pw" });
    },
  );

  /** SecretStore `name` reading secret/ with `auth`. */
  async function applyStore(name: string, auth: Record<string, unknown>): Promise<void> {
    await applyObject(
      suite.ctl.kube,
      vaultStore(suite.ns, name, { server: suite.vault.url, path: "secret", auth }),
    );
  }

  const expectSynced = (store: string) => expectStoreSyncs(suite, store, "auth-methods-pw");

  void it("AppRole: role id in the store, secret id from a Secret", async () => {
    suite.vault.root.enableAppRole();
    suite.vault.root.addAppRole("app", {
      roleId: "role-1",
      secretIds: [SECRET_ID],
      policies: ["reader"],
      ttl: 300,
    });
    await putSecret(suite.ctl.kube, suite.ns, "approle-creds", { "secret-id": SECRET_ID });
    await applyStore("approle", {
      appRole: { roleId: "role-1", secretRef: { name: "approle-creds", key: "secret-id" } },
    });
    await expectSynced("approle");
    await waitForStoreCondition(suite.ctl.kube, suite.ns, "approle", "Ready", "True");
    assert.ok(suite.vault.count({ path: "auth/approle/login", status: 200 }) >= 1);
    assert.ok(!suite.ctl.logText().includes(SECRET_ID));
  });

  void it("JWT: a JWT kept in a Secret, signature and audience checked by Vault", async () => {
    const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    suite.vault.root.enableJwtAuth(() => [{ ...publicKey.export({ format: "jwk" }), kid: "ci" }], "jwt-ci");
    suite.vault.root.addJwtRole(
      "deployer",
      { boundAudiences: ["vault"], policies: ["reader"], ttl: 300 },
      "jwt-ci",
    );
    const jwt = signJwt(
      { iss: "https://ci.example", sub: "pipeline", aud: "vault", exp: Math.floor(Date.now() / 1000) + 3600 },
      privateKey,
      "ci",
    );
    await putSecret(suite.ctl.kube, suite.ns, "ci-jwt", { token: jwt });
    await applyStore("jwt-secret", {
      jwt: { path: "jwt-ci", role: "deployer", secretRef: { name: "ci-jwt", key: "token" } },
    });
    await expectSynced("jwt-secret");
    assert.equal(
      suite.vault.count({ path: "auth/jwt-ci/login", status: 200, identity: "jwt-ci-pipeline" }),
      1,
    );
  });

  void it("JWT: a TokenRequest token of the namespace's service account, checked against the cluster's JWKS", async () => {
    suite.vault.root.enableJwtAuth(clusterJwks(suite.cluster.kc), "jwt-k8s");
    suite.vault.root.addJwtRole(
      "workload",
      {
        boundAudiences: ["vault"],
        boundSubject: `system:serviceaccount:${suite.ns}:app`,
        policies: ["reader"],
        ttl: 300,
      },
      "jwt-k8s",
    );
    await applyStore("jwt-sa", {
      jwt: {
        path: "jwt-k8s",
        role: "workload",
        kubernetesServiceAccountToken: { serviceAccountRef: { name: "app", audiences: ["vault"] } },
      },
    });
    await expectSynced("jwt-sa");
    assert.equal(suite.vault.count({ path: "auth/jwt-k8s/login", status: 200 }), 1);
  });

  void it("static token: works, and the store carries the StaticCredentials warning", async () => {
    const token = suite.vault.root.createToken({ policies: ["reader"], ttl: 0 });
    await putSecret(suite.ctl.kube, suite.ns, "vault-token", { token });
    await applyStore("static", { tokenSecretRef: { name: "vault-token", key: "token" } });
    await expectSynced("static");
    const warning = await waitForStoreCondition(
      suite.ctl.kube,
      suite.ns,
      "static",
      "StaticCredentials",
      "True",
    );
    assert.equal(warning.reason, "StaticVaultToken");
    assert.match(warning.message, /static Vault token/);
    await waitForStoreCondition(suite.ctl.kube, suite.ns, "static", "Ready", "True");
    assert.ok(!suite.ctl.logText().includes(token));
    assertNoCredentials(suite.ctl.logText(), "the controller log");
  });
});
