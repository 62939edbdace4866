// Proves the harness gives a real API server: server-side apply, TokenRequest/TokenReview, the
// project's CRDs, watches, RBAC for unprivileged users, TLS against the cluster's CA, and that
// stopping a cluster leaves no process behind.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import {
  ApiException,
  AuthenticationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  KubernetesObjectApi,
  PatchStrategy,
  RbacAuthorizationV1Api,
  Watch,
  type V1Secret,
} from "@kubernetes/client-node";
import { PROJECT_CRD_DIR, startCluster, type Cluster } from "./index.ts";
import { readCrds } from "./crds.ts";
import { isRunning } from "./processes.ts";

/** The HTTP status of a failed API call (fails the test if the call succeeded). */
async function statusOf(call: Promise<unknown>): Promise<number> {
  try {
    await call;
  } catch (err) {
    if (err instanceof ApiException) return err.code;
    throw err;
  }
  assert.fail("expected the API call to fail");
}

void describe("test cluster", () => {
  let cluster: Cluster;
  let core: CoreV1Api;

  before(async () => {
    cluster = await startCluster({ crds: true });
    core = cluster.kc.makeApiClient(CoreV1Api);
  });
  after(() => cluster?.stop());

  void test("creates namespaces with a unique, valid name per test", async () => {
    const [a, b] = await Promise.all([
      cluster.createNamespace("My_Test"),
      cluster.createNamespace("My_Test"),
    ]);
    assert.match(a, /^my-test-[0-9a-f]{6}$/);
    assert.notEqual(a, b);
    assert.equal((await core.readNamespace({ name: a })).status?.phase, "Active");
  });

  void test("the kubeconfig file verifies TLS against the cluster's CA and authenticates as admin", async () => {
    const kc = new KubeConfig();
    kc.loadFromFile(cluster.kubeconfigPath);
    assert.equal(kc.getCurrentCluster()?.skipTLSVerify, false);
    const names = (await kc.makeApiClient(CoreV1Api).listNamespace()).items.map((n) => n.metadata?.name);
    assert.ok(names.includes("kube-system"));

    const untrusted = new KubeConfig();
    untrusted.loadFromOptions({
      clusters: [{ name: "c", server: cluster.server, skipTLSVerify: false }],
      users: [{ name: "admin", token: cluster.tokens.admin }],
      contexts: [{ name: "c", cluster: "c", user: "admin" }],
      currentContext: "c",
    });
    await assert.rejects(untrusted.makeApiClient(CoreV1Api).listNamespace(), /certificate/i);
  });

  void test("server-side apply creates a Secret, records its field manager and detects conflicts", async () => {
    const namespace = await cluster.createNamespace("ssa");
    const objects = KubernetesObjectApi.makeApiClient(cluster.kc);
    const secret: V1Secret = {
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "db", namespace },
      stringData: { password: "s3cr3t" },
    };
    await objects.patch(secret, undefined, undefined, "refsync-test", false, PatchStrategy.ServerSideApply);

    const stored = await core.readNamespacedSecret({ name: "db", namespace });
    assert.equal(Buffer.from(stored.data?.password ?? "", "base64").toString(), "s3cr3t");
    const managers = stored.metadata?.managedFields?.map((f) => `${f.manager}/${f.operation}`);
    assert.deepEqual(managers, ["refsync-test/Apply"]);

    const rival = { ...secret, stringData: { password: "other" } };
    const conflict = objects.patch(
      rival,
      undefined,
      undefined,
      "someone-else",
      false,
      PatchStrategy.ServerSideApply,
    );
    assert.equal(await statusOf(conflict), 409);
  });

  void test("a ServiceAccount token from TokenRequest passes TokenReview; a forged one does not", async () => {
    const namespace = await cluster.createNamespace("tokens");
    await core.createNamespacedServiceAccount({ namespace, body: { metadata: { name: "app" } } });
    const request = await core.createNamespacedServiceAccountToken({
      name: "app",
      namespace,
      body: { spec: { audiences: [], expirationSeconds: 600 } },
    });
    const token = request.status?.token;
    assert.ok(token, "TokenRequest returned a token");

    const auth = cluster.kc.makeApiClient(AuthenticationV1Api);
    const review = await auth.createTokenReview({ body: { spec: { token } } });
    assert.equal(review.status?.authenticated, true);
    assert.equal(review.status?.user?.username, `system:serviceaccount:${namespace}:app`);

    const forged = await auth.createTokenReview({ body: { spec: { token: token.slice(0, -4) + "AAAA" } } });
    assert.notEqual(forged.status?.authenticated, true);
  });

  void test("the project's CRDs from manifests/crds are served and validate their objects", async (t) => {
    const crds = await readCrds(PROJECT_CRD_DIR);
    if (crds.length === 0) return t.skip("manifests/crds has no CRDs yet");
    const custom = cluster.kc.makeApiClient(CustomObjectsApi);
    const namespace = await cluster.createNamespace("crds");
    for (const crd of crds) {
      const spec = (
        crd as { spec: { group: string; names: { plural: string }; versions: { name: string }[] } }
      ).spec;
      const version = spec.versions[0]?.name ?? "";
      const list = await custom.listClusterCustomObject({
        group: spec.group,
        version,
        plural: spec.names.plural,
      });
      // Other suites on the shared cluster may have created objects: only the list itself matters.
      assert.ok(Array.isArray((list as { items?: unknown }).items), `${crd.metadata?.name} is served`);
    }

    const store = { apiVersion: "refsync.dev/v1alpha1", kind: "SecretStore", metadata: { name: "fake" } };
    const target = { group: "refsync.dev", version: "v1alpha1", namespace, plural: "secretstores" };
    const spec = { provider: { fake: { data: [{ key: "db", value: "not-a-secret" }] } } };
    await custom.createNamespacedCustomObject({ ...target, body: { ...store, spec } });
    const stored = (await custom.getNamespacedCustomObject({ ...target, name: "fake" })) as { spec: unknown };
    assert.deepEqual(stored.spec, spec, "fields under x-kubernetes-preserve-unknown-fields are kept");
    const invalid = custom.createNamespacedCustomObject({
      ...target,
      body: { ...store, metadata: { name: "invalid" }, spec: {} },
    });
    assert.equal(await statusOf(invalid), 422, "the CRD's schema rejects a SecretStore without a provider");
  });

  void test("a watch sees a change", async () => {
    const namespace = await cluster.createNamespace("watch");
    const seen: string[] = [];
    let resolveSeen: () => void = () => undefined;
    const modified = new Promise<void>((resolve) => (resolveSeen = resolve));
    const watch = await new Watch(cluster.kc).watch(
      `/api/v1/namespaces/${namespace}/configmaps`,
      {},
      (phase, obj: { metadata?: { name?: string }; data?: Record<string, string> }) => {
        seen.push(`${phase} ${obj.metadata?.name} ${obj.data?.color}`);
        if (phase === "MODIFIED") resolveSeen();
      },
      () => undefined,
    );
    try {
      await core.createNamespacedConfigMap({
        namespace,
        body: { metadata: { name: "cm" }, data: { color: "red" } },
      });
      await core.patchNamespacedConfigMap({
        name: "cm",
        namespace,
        body: [{ op: "replace", path: "/data/color", value: "blue" }],
      });
      await modified;
    } finally {
      watch.abort();
    }
    assert.deepEqual(seen, ["ADDED cm red", "MODIFIED cm blue"]);
  });

  void test("an unprivileged user is denied by RBAC until a RoleBinding grants access", async () => {
    const namespace = await cluster.createNamespace("rbac");
    const alice = cluster.userKubeConfig("alice").makeApiClient(CoreV1Api);
    const bob = cluster.userKubeConfig("bob").makeApiClient(CoreV1Api);
    assert.equal(await statusOf(alice.listNamespacedSecret({ namespace })), 403);

    const rbac = cluster.kc.makeApiClient(RbacAuthorizationV1Api);
    await rbac.createNamespacedRole({
      namespace,
      body: {
        metadata: { name: "secret-reader" },
        rules: [{ apiGroups: [""], resources: ["secrets"], verbs: ["get", "list"] }],
      },
    });
    await rbac.createNamespacedRoleBinding({
      namespace,
      body: {
        metadata: { name: "alice-reads-secrets" },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "secret-reader" },
        subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "User", name: "alice" }],
      },
    });
    // RBAC is served from the apiserver's informer cache: allow it a moment to see the binding.
    await eventually(async () =>
      assert.deepEqual((await alice.listNamespacedSecret({ namespace })).items, []),
    );
    assert.equal(await statusOf(bob.listNamespacedSecret({ namespace })), 403);
    assert.equal(await statusOf(alice.listNamespacedSecret({ namespace: "kube-system" })), 403);
  });
});

void describe("test cluster lifecycle", () => {
  void test("stop() leaves no process and no data behind", async () => {
    const cluster = await startCluster({ private: true });
    try {
      assert.equal(cluster.pids.length, 2);
      for (const pid of cluster.pids)
        assert.ok(isRunning(pid), `process ${pid} runs while the cluster is up`);
      assert.ok(existsSync(cluster.kubeconfigPath));
    } finally {
      await cluster.stop();
    }
    for (const pid of cluster.pids) assert.ok(!isRunning(pid), `process ${pid} is gone after stop()`);
    assert.ok(!existsSync(dirname(cluster.kubeconfigPath)), "the data directory is removed");
  });

  void test("a cluster whose owner was killed is reaped when the next cluster starts", async () => {
    // The owner dies by SIGKILL, so none of its exit hooks run and its servers stay up.
    const script = `
      import { dirname } from "node:path";
      const { startCluster } = await import(${JSON.stringify(join(import.meta.dirname, "index.ts"))});
      const cluster = await startCluster({ private: true });
      console.log(JSON.stringify({ pids: cluster.pids, dir: dirname(cluster.kubeconfigPath) }));
      setInterval(() => {}, 1000);`;
    const owner = spawn(process.execPath, ["--input-type=module", "-e", script], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    const [line] = (await once(createInterface({ input: owner.stdout }), "line")) as [string];
    const abandoned = JSON.parse(line) as { pids: number[]; dir: string };
    owner.kill("SIGKILL");
    await once(owner, "exit");
    for (const pid of abandoned.pids) assert.ok(isRunning(pid), `server ${pid} outlives its killed owner`);

    const next = await startCluster({ private: true });
    await next.stop();
    for (const pid of abandoned.pids) assert.ok(!isRunning(pid), `abandoned server ${pid} was killed`);
    assert.ok(!existsSync(abandoned.dir), "the abandoned data directory is removed");
  });
});

async function eventually(check: () => Promise<void>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}
