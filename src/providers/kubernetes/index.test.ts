// The Kubernetes provider and its client-node reader, against a real kube-apiserver.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { CoreV1Api } from "@kubernetes/client-node";
import { startCluster, type Cluster } from "../../../test/cluster/index.ts";
import { AccessDeniedError, InvalidSpecError, SecretNotFoundError } from "../../errors.ts";
import { extractValue } from "../extract.ts";
import type { ProviderContext } from "../types.ts";
import { kubernetesSecretReader } from "./client.ts";
import { kubernetesProvider } from "./index.ts";

let cluster: Cluster;
let namespace: string;
const secretValue = "kube-secret-value-42";

function context(reader = kubernetesSecretReader(cluster.kc)): ProviderContext {
  return {
    storeName: "SecretStore/app/shared",
    namespace: "app",
    readCredential: () => Promise.reject(new Error("unused")),
    kubernetes: () => reader,
  };
}

before(async () => {
  cluster = await startCluster();
  namespace = await cluster.createNamespace("k8s-provider");
  await cluster.kc.makeApiClient(CoreV1Api).createNamespacedSecret({
    namespace,
    body: {
      metadata: { name: "db", labels: { team: "a" } },
      stringData: { password: secretValue, "tls.crt": "CRT" },
    },
  });
});

after(async () => {
  await cluster?.stop();
});

void test("reads a Secret of the remote namespace, with its resourceVersion as version", async () => {
  const client = kubernetesProvider.create({ remoteNamespace: namespace }, context());
  const value = await client.read({ key: "db" });
  assert.equal(
    Buffer.from(extractValue(value, { store: "s", key: "db", property: "password" })).toString(),
    secretValue,
  );
  assert.match(value.version ?? "", /^[0-9]+$/);
  assert.equal(await client.currentVersion?.({ key: "db" }), value.version);
  assert.deepEqual(await client.list({ tags: { team: "a" } }), ["db"]);
  assert.deepEqual(await client.list({ name: { regexp: "^nope" } }), []);
  assert.deepEqual(await client.validate(), { status: "Ready" });
});

void test("a missing Secret is SecretNotFoundError naming namespace and name", async () => {
  const client = kubernetesProvider.create({ remoteNamespace: namespace }, context());
  await assert.rejects(client.read({ key: "missing" }), (e: Error) => {
    assert.ok(e instanceof SecretNotFoundError);
    assert.equal(e.message, `Secret ${namespace}/missing not found`);
    return true;
  });
});

void test("an unprivileged identity gets AccessDeniedError and an Error validation, no value", async () => {
  const client = kubernetesProvider.create(
    { remoteNamespace: namespace },
    context(kubernetesSecretReader(cluster.userKubeConfig("bob"))),
  );
  await assert.rejects(
    client.read({ key: "db" }),
    (e: Error) => e instanceof AccessDeniedError && !e.message.includes(secretValue),
  );
  const validation = await client.validate();
  assert.equal(validation.status, "Error");
  assert.match(validation.message ?? "", /access denied \(HTTP 403\)/);
});

void test("versions are rejected; the namespace defaults to the store's; the spec is validated", async () => {
  const client = kubernetesProvider.create({}, context());
  await assert.rejects(client.read({ key: "db", version: "3" }), InvalidSpecError);
  assert.throws(
    () => kubernetesProvider.create({ remoteNamespace: 3 }, context()),
    /^InvalidSpecError: spec\.provider\.kubernetes\.remoteNamespace: /,
  );
  assert.throws(
    () => kubernetesProvider.create({}, { ...context(), namespace: undefined }),
    /remoteNamespace: required for a store without a namespace/,
  );
  assert.throws(
    () => kubernetesProvider.create({ remoteNamespace: namespace, server: { url: "https://x" } }, context()),
    /^InvalidSpecError: spec\.provider\.kubernetes\.auth: required with server/,
  );
  assert.throws(
    () =>
      kubernetesProvider.create(
        { auth: { token: { bearerToken: { name: "t", key: "k" } } }, authRef: { name: "k", key: "c" } },
        context(),
      ),
    /^InvalidSpecError: spec\.provider\.kubernetes\.authRef: set authRef or server\/auth, not both/,
  );
});

void test("the reader is built for the store's whole connection: server and auth are never dropped", () => {
  const connection = {
    server: { url: "https://other:6443", caBundle: Buffer.from("PEM").toString("base64") },
    auth: { token: { bearerToken: { name: "remote", key: "token" } } },
  };
  let seen: unknown;
  kubernetesProvider.create(
    { remoteNamespace: "there", ...connection },
    {
      ...context(),
      kubernetes: (c) => {
        seen = c;
        return kubernetesSecretReader(cluster.kc);
      },
    },
  );
  assert.deepEqual(seen, connection);
});
