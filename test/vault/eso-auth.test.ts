// The Vault logins ESO users have, through the controller on the real API server, against a Vault served
// over HTTPS: userPass and ldap with a password from a Secret, cert with a client certificate from a
// kubernetes.io/tls Secret, kubernetes auth with a service-account token kept in a Secret (checked by the
// cluster's TokenReview), jwt with the audience requested through kubernetesServiceAccountToken.audiences, and
// iam with AWS keys from a Secret (the signed request checked by the AWS test server's STS).
// No credential may reach the controller's log or the objects' status.
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { resourceTypes } from "../../src/kube/resources.ts";
import { createPki, type ClusterPki } from "../cluster/pki.ts";
import { applyObject, putSecret } from "../controller/harness.ts";
import { startAwsServer } from "../servers/aws/index.ts";
import { clusterJwks } from "../servers/vault/index.ts";
import {
  assertNoCredentials,
  expectStoreSyncs,
  startNamespaceSuite,
  useSuite,
  vaultStore,
  waitForStoreCondition,
} from "./setup.ts";

const PASSWORD = "eso-auth-password-5b9e";

void describe("Vault userPass, ldap, cert, kubernetes.secretRef, jwt audiences and iam stores", () => {
  let dir: string;
  let pki: ClusterPki;
  let caPem: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "refsync-vault-eso-auth-"));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  const suite = useSuite(
    async () => {
      pki = await createPki(dir);
      caPem = await readFile(pki.caCertPath, "utf8");
      const tls = {
        cert: await readFile(pki.servingCertPath, "utf8"),
        key: await readFile(pki.servingKeyPath, "utf8"),
      };
      return startNamespaceSuite("vault-eso-auth", { tls });
    },
    async ({ vault, ns }) => {
      vault.root.writePolicy("reader", [{ path: `secret/data/${ns}/*`, capabilities: ["read"] }]);
      vault.root.putSecret("secret", `${ns}/db`, { password: "eso-auth-value" });
    },
  );

  async function applyStore(name: string, auth: Record<string, unknown>): Promise<void> {
    const caBundle = Buffer.from(caPem).toString("base64");
    await applyObject(
      suite.ctl.kube,
      vaultStore(suite.ns, name, { server: suite.vault.url, path: "secret", caBundle, auth }),
    );
  }

  async function expectSynced(store: string): Promise<void> {
    await expectStoreSyncs(suite, store, "eso-auth-value");
    await waitForStoreCondition(suite.ctl.kube, suite.ns, store, "Ready", "True");
  }

  void it("userPass and ldap: the password comes from a Secret", async () => {
    suite.vault.root.enableUserpass();
    suite.vault.root.addUserpassUser("app", { password: PASSWORD, policies: ["reader"], ttl: 300 });
    suite.vault.root.enableLdap("corp");
    suite.vault.root.addLdapUser("svc-app", { password: PASSWORD, policies: ["reader"], ttl: 300 }, "corp");
    await putSecret(suite.ctl.kube, suite.ns, "vault-login", { password: PASSWORD });
    const secretRef = { name: "vault-login", key: "password" };
    await applyStore("userpass", { userPass: { username: "app", secretRef } });
    await applyStore("ldap", { ldap: { path: "corp", username: "svc-app", secretRef } });
    await expectSynced("userpass");
    await expectSynced("ldap");
    assert.ok(suite.vault.count({ path: "auth/userpass/login/app", status: 200 }) >= 1);
    assert.ok(suite.vault.count({ path: "auth/corp/login/svc-app", status: 200 }) >= 1);
  });

  void it("a wrong password leaves the store not Ready with AccessDenied, the password in no message", async () => {
    const wrong = "wrong-password-eso-auth-31";
    await putSecret(suite.ctl.kube, suite.ns, "vault-login-wrong", { password: wrong });
    await applyStore("userpass-wrong", {
      userPass: { username: "app", secretRef: { name: "vault-login-wrong", key: "password" } },
    });
    const condition = await waitForStoreCondition(
      suite.ctl.kube,
      suite.ns,
      "userpass-wrong",
      "Ready",
      "False",
    );
    assert.match(condition.message, /userPass login at auth\/userpass\/login/);
    assert.ok(!condition.message.includes(wrong));
    assert.ok(!suite.ctl.logText().includes(wrong));
  });

  void it("cert: the client certificate and key of a kubernetes.io/tls Secret, presented in the TLS handshake", async () => {
    suite.vault.root.enableCertAuth();
    suite.vault.root.addCertRole("apps", {
      certificate: caPem,
      allowedCommonNames: ["carol"],
      policies: ["reader"],
      ttl: 300,
    });
    const key = await readFile(pki.clientKeyPath, "utf8");
    await suite.ctl.kube.apply(
      resourceTypes.secret,
      {
        apiVersion: "v1",
        kind: "Secret",
        type: "kubernetes.io/tls",
        metadata: { name: "vault-client", namespace: suite.ns },
        stringData: { "tls.crt": await readFile(pki.clientCertPath, "utf8"), "tls.key": key },
      },
      { fieldManager: "test", force: true },
    );
    await applyStore("cert", {
      cert: {
        vaultRole: "apps",
        clientCert: { name: "vault-client", key: "tls.crt" },
        secretRef: { name: "vault-client", key: "tls.key" },
      },
    });
    await expectSynced("cert");
    assert.ok(suite.vault.count({ path: "auth/cert/login", status: 200 }) >= 1);
    assert.ok(suite.vault.count({ path: `secret/data/${suite.ns}/db`, identity: "cert-apps" }) >= 1);
    const keyLine = key.split("\n")[1] ?? "";
    assert.ok(keyLine.length > 20 && !suite.ctl.logText().includes(keyLine));
  });

  void it("kubernetes: a service-account token kept in a Secret (key default: token), reviewed by the cluster", async () => {
    suite.vault.root.addKubernetesRole("legacy", {
      boundServiceAccountNames: ["app"],
      boundServiceAccountNamespaces: [suite.ns],
      policies: ["reader"],
      ttl: 300,
    });
    const response = await suite.ctl.kube.request<{ status: { token: string } }>(
      "POST",
      suite.ctl.kube.path(resourceTypes.serviceAccount, suite.ns, "app", "token"),
      {
        body: {
          apiVersion: "authentication.k8s.io/v1",
          kind: "TokenRequest",
          spec: { audiences: [], expirationSeconds: 3600 },
        },
      },
    );
    await putSecret(suite.ctl.kube, suite.ns, "app-token", { token: response.status.token });
    await applyStore("k8s-secret", { kubernetes: { role: "legacy", secretRef: { name: "app-token" } } });
    await expectSynced("k8s-secret");
    assert.ok(suite.vault.count({ path: "auth/kubernetes/login", status: 200 }) >= 1);
    assertNoCredentials(suite.ctl.logText(), "the controller log");
  });

  void it("iam: AWS keys from a Secret sign GetCallerIdentity, which Vault sends to STS", async () => {
    const aws = await startAwsServer();
    try {
      const keys = aws.addUser({ name: "vault-login" });
      suite.vault.root.enableAwsAuth(aws.endpoint);
      suite.vault.root.addAwsIamRole("app", {
        boundIamPrincipalArns: [`arn:aws:iam::${aws.account}:user/vault-login`],
        policies: ["reader"],
        ttl: 300,
      });
      await putSecret(suite.ctl.kube, suite.ns, "aws-keys", {
        id: keys.accessKeyId,
        secret: keys.secretAccessKey,
      });
      await applyStore("iam", {
        iam: {
          vaultRole: "app",
          region: aws.region,
          stsEndpoint: aws.endpoint,
          secretRef: {
            accessKeyIDSecretRef: { name: "aws-keys", key: "id" },
            secretAccessKeySecretRef: { name: "aws-keys", key: "secret" },
          },
        },
      });
      await expectSynced("iam");
      assert.ok(suite.vault.count({ path: "auth/aws/login", status: 200 }) >= 1);
      assert.ok(aws.requests.some((r) => r.operation === "GetCallerIdentity" && r.status === 200));
      assert.ok(!suite.ctl.logText().includes(keys.secretAccessKey));
    } finally {
      await aws.close();
    }
  });

  void it("jwt: kubernetesServiceAccountToken.audiences is what Vault's role is bound to", async () => {
    suite.vault.root.enableJwtAuth(clusterJwks(suite.cluster.kc), "jwt-aud");
    suite.vault.root.addJwtRole(
      "workload",
      { boundAudiences: ["vault"], policies: ["reader"], ttl: 300 },
      "jwt-aud",
    );
    await applyStore("jwt-aud", {
      jwt: {
        path: "jwt-aud",
        role: "workload",
        kubernetesServiceAccountToken: {
          serviceAccountRef: { name: "app" },
          audiences: ["vault"],
          expirationSeconds: 900,
        },
      },
    });
    await expectSynced("jwt-aud");
    assert.equal(suite.vault.count({ path: "auth/jwt-aud/login", status: 200 }), 1);
    assertNoCredentials(suite.ctl.logText(), "the controller log");
  });
});
