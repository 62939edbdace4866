/**
 * The Kubernetes provider against a second, real API server: a store's
 * `server` (url, caBundle, caProvider), `auth.token`, `auth.cert`,
 * `auth.serviceAccount` and `authRef` make the controller read that cluster
 * as that identity, never
 * the local one. Both clusters hold a Secret of the same name and namespace
 * with different values, so reading the wrong cluster cannot pass.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { CoreV1Api, RbacAuthorizationV1Api } from "@kubernetes/client-node";
import { stringify } from "yaml";
import type { SecretStore } from "../../src/api/v1alpha1.ts";
import { resourceTypes } from "../../src/kube/resources.ts";
import { startCluster, type Cluster } from "../cluster/index.ts";
import {
  applyObject,
  externalSecret,
  getSecret,
  putSecret,
  startTestController,
  waitFor,
  waitForCondition,
  type TestController,
} from "./harness.ts";

const REMOTE = "value-on-the-remote-cluster";
const LOCAL = "value-on-the-local-cluster";

void describe("kubernetes provider: a remote cluster", () => {
  let local: Cluster;
  let remote: Cluster;
  let ns: string;
  let ctl: TestController;

  /** A SecretStore of `ns` reading namespace `ns` through `connection`, and an ExternalSecret of it. */
  async function storeAndSecret(name: string, connection: object): Promise<void> {
    await applyObject(ctl.kube, {
      apiVersion: "refsync.dev/v1alpha1",
      kind: "SecretStore",
      metadata: { name, namespace: ns },
      spec: { provider: { kubernetes: { remoteNamespace: ns, ...connection } } },
    } satisfies SecretStore);
    await applyObject(
      ctl.kube,
      externalSecret(ns, name, {
        secretStoreRef: { name },
        data: [{ secretKey: "password", remoteRef: { key: "db", property: "password" } }],
      }),
    );
  }

  async function storeCondition(name: string, reason: string) {
    return waitFor(async () => {
      const store = await ctl.kube.get<SecretStore>(resourceTypes.secretStore, ns, name);
      const ready = store?.status?.conditions?.find((c) => c.type === "Ready");
      return ready?.reason === reason ? ready : undefined;
    }, `SecretStore ${name} ${reason}`);
  }

  before(async () => {
    [local, remote] = await Promise.all([startCluster({ crds: true }), startCluster({ private: true })]);
    ns = await local.createNamespace("k8s-remote");
    ctl = await startTestController(local, { namespace: ns });
    await putSecret(ctl.kube, ns, "db", { password: LOCAL });
    // On the remote cluster: the same namespace and Secret name, readable by alice only.
    await remote.kc.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name: ns } } });
    await remote.kc.makeApiClient(CoreV1Api).createNamespacedSecret({
      namespace: ns,
      body: { metadata: { name: "db" }, stringData: { password: REMOTE } },
    });
    const rbac = remote.kc.makeApiClient(RbacAuthorizationV1Api);
    await rbac.createNamespacedRole({
      namespace: ns,
      body: {
        metadata: { name: "read-secrets" },
        rules: [{ apiGroups: [""], resources: ["secrets"], verbs: ["get", "list"] }],
      },
    });
    await rbac.createNamespacedRoleBinding({
      namespace: ns,
      body: {
        metadata: { name: "read-secrets" },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "read-secrets" },
        subjects: [
          { apiGroup: "rbac.authorization.k8s.io", kind: "User", name: "alice" },
          { apiGroup: "rbac.authorization.k8s.io", kind: "User", name: remote.clientCertificate.user },
        ],
      },
    });
    const ca = Buffer.from(remote.caData, "base64").toString("utf8");
    await putSecret(ctl.kube, ns, "remote-token", { token: remote.tokens.alice });
    await putSecret(ctl.kube, ns, "remote-cert", {
      "tls.crt": Buffer.from(remote.clientCertificate.certData, "base64").toString("utf8"),
      "tls.key": Buffer.from(remote.clientCertificate.keyData, "base64").toString("utf8"),
    });
    await ctl.kube.apply(
      { group: "", version: "v1", plural: "configmaps", kind: "ConfigMap", namespaced: true },
      {
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name: "remote-ca", namespace: ns },
        data: { "ca.crt": ca },
      },
      { fieldManager: "test", force: true },
    );
  });
  after(async () => {
    await ctl?.stop();
    await Promise.all([local?.stop(), remote?.stop()]);
  });

  const token = { token: { bearerToken: { name: "remote-token", key: "token" } } };

  void test("server.url + caBundle + auth.token reads the remote cluster", async () => {
    await storeAndSecret("token", { server: { url: remote.server, caBundle: remote.caData }, auth: token });
    await waitForCondition(ctl.kube, ns, "token", "Ready", "True");
    assert.equal((await getSecret(ctl.kube, ns, "token"))?.data.password, REMOTE);
    assert.ok(!ctl.logText().includes(remote.tokens.alice), "the token is never logged");
  });

  void test("server.caProvider (ConfigMap) + auth.cert reads the remote cluster", async () => {
    await storeAndSecret("cert", {
      server: { url: remote.server, caProvider: { type: "ConfigMap", name: "remote-ca", key: "ca.crt" } },
      auth: {
        cert: {
          clientCert: { name: "remote-cert", key: "tls.crt" },
          clientKey: { name: "remote-cert", key: "tls.key" },
        },
      },
    });
    await waitForCondition(ctl.kube, ns, "cert", "Ready", "True");
    assert.equal((await getSecret(ctl.kube, ns, "cert"))?.data.password, REMOTE);
  });

  void test("authRef: a kubeconfig in a Secret reads the remote cluster", async () => {
    const kubeconfig = (user: object) =>
      stringify({
        apiVersion: "v1",
        kind: "Config",
        "current-context": "remote",
        clusters: [
          { name: "r", cluster: { server: remote.server, "certificate-authority-data": remote.caData } },
        ],
        contexts: [{ name: "remote", context: { cluster: "r", user: "u" } }],
        users: [{ name: "u", user }],
      });
    await putSecret(ctl.kube, ns, "remote-kubeconfig", {
      good: kubeconfig({ token: remote.tokens.alice }),
      exec: kubeconfig({ exec: { apiVersion: "client.authentication.k8s.io/v1beta1", command: "sh" } }),
    });
    await storeAndSecret("kubeconfig", { authRef: { name: "remote-kubeconfig", key: "good" } });
    await waitForCondition(ctl.kube, ns, "kubeconfig", "Ready", "True");
    assert.equal((await getSecret(ctl.kube, ns, "kubeconfig"))?.data.password, REMOTE);

    // A kubeconfig that would run a command (or read the controller's files) is refused, naming why.
    await storeAndSecret("exec", { authRef: { name: "remote-kubeconfig", key: "exec" } });
    const refused = await storeCondition("exec", "InvalidSpec");
    assert.match(refused.message, /authRef: .*kubeconfig\.users\[0\]\.user\.exec: unknown field/);
  });

  void test("server.url + auth.serviceAccount: a TokenRequest token of this cluster, presented to that server", async () => {
    // The store's server is this cluster's own API server (ESO's usual case); the account may read ns.
    await local.kc.makeApiClient(CoreV1Api).createNamespacedServiceAccount({
      namespace: ns,
      body: { metadata: { name: "reader" } },
    });
    const rbac = local.kc.makeApiClient(RbacAuthorizationV1Api);
    await rbac.createNamespacedRole({
      namespace: ns,
      body: {
        metadata: { name: "reader-secrets" },
        rules: [{ apiGroups: [""], resources: ["secrets"], verbs: ["get", "list"] }],
      },
    });
    await rbac.createNamespacedRoleBinding({
      namespace: ns,
      body: {
        metadata: { name: "reader-secrets" },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "reader-secrets" },
        subjects: [{ kind: "ServiceAccount", name: "reader", namespace: ns }],
      },
    });
    const serviceAccount = { serviceAccount: { name: "reader" } };
    await storeAndSecret("sa-local", {
      server: { url: local.server, caBundle: local.caData },
      auth: serviceAccount,
    });
    await waitForCondition(ctl.kube, ns, "sa-local", "Ready", "True");
    assert.equal((await getSecret(ctl.kube, ns, "sa-local"))?.data.password, LOCAL);
    // The other cluster does not trust this cluster's service-account tokens: refused, not read as someone else.
    await storeAndSecret("sa-remote", {
      server: { url: remote.server, caBundle: remote.caData },
      auth: serviceAccount,
    });
    const failed = await storeCondition("sa-remote", "ValidationFailed");
    assert.equal(failed.status, "False");
    assert.equal(await getSecret(ctl.kube, ns, "sa-remote"), undefined);
  });

  void test("without the remote cluster's CA the TLS handshake fails: system roots are not trusted blindly", async () => {
    await storeAndSecret("no-ca", { server: { url: remote.server }, auth: token });
    const failed = await storeCondition("no-ca", "ValidationFailed");
    assert.equal(failed.status, "False");
    assert.equal(await getSecret(ctl.kube, ns, "no-ca"), undefined);
  });

  void test("server without auth is InvalidSpec: the controller's own identity stays on its own cluster", async () => {
    await storeAndSecret("no-auth", { server: { url: remote.server, caBundle: remote.caData } });
    const refused = await storeCondition("no-auth", "InvalidSpec");
    assert.match(refused.message, /spec\.provider\.kubernetes\.auth: required with server/);
  });
});
