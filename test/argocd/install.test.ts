/**
 * The install steps of docs/install.md, run literally (its shell and YAML blocks marked
 * `<!-- tested: test/argocd/install.test.ts (NAME) -->`) with the real kubectl
 * against a private, bare API server: no refsync CRDs and no prometheus-operator
 * beforehand, as on a new operator's cluster.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { copyFile, mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { AppsV1Api, CoreV1Api, CustomObjectsApi } from "@kubernetes/client-node";
import { repoRoot } from "../../scripts/health-files.ts";
import { startCluster, type Cluster } from "../cluster/index.ts";
import { getSecret, startTestController, waitFor, waitForCondition } from "../controller/harness.ts";
import { docBlock } from "../docs/markdown.ts";
import { ensureTools, type Tools } from "./tools.ts";

const run = promisify(execFile);

void describe("docs/install.md's install steps, run as written on a bare API server", () => {
  let cluster: Cluster;
  let tools: Tools;
  let work: string;
  /** Runs a shell script as an operator would: kubectl on PATH, KUBECONFIG set. */
  const sh = async (script: string, cwd = repoRoot): Promise<string> => {
    try {
      const { stdout } = await run("bash", ["-euo", "pipefail", "-c", script], {
        cwd,
        env: {
          ...process.env,
          PATH: `${tools.binDir}:${process.env.PATH}`,
          KUBECONFIG: cluster.kubeconfigPath,
        },
        maxBuffer: 16 << 20,
        timeout: 120_000,
      });
      return stdout;
    } catch (err) {
      const e = err as { code?: number; stdout?: string; stderr?: string };
      assert.fail(`${script}\nexit ${e.code}\n${e.stdout ?? ""}${e.stderr ?? ""}`);
    }
  };

  before(async () => {
    [cluster, tools] = await Promise.all([startCluster({ private: true }), ensureTools()]);
    work = await mkdtemp(path.join(tmpdir(), "refsync-install-"));
    // docs/install.md's relative paths name this repository as a sibling directory `refsync`.
    await symlink(repoRoot, path.join(work, "refsync"));
  });
  after(async () => {
    await cluster?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  void it("kubectl apply -k manifests exits 0 on a cluster without prometheus-operator", async () => {
    const out = await sh(docBlock("test/argocd/install.test.ts", "install"));
    assert.match(out, /customresourcedefinition.apiextensions.k8s.io\/externalsecrets.refsync.dev created/);
    assert.match(out, /deployment.apps\/refsync-controller created/);
    assert.doesNotMatch(out, /ServiceMonitor/i);
    const deployment = await cluster.kc
      .makeApiClient(AppsV1Api)
      .readNamespacedDeployment({ name: "refsync-controller", namespace: "refsync-system" });
    assert.equal(
      deployment.spec?.template.spec?.containers[0]?.image,
      "registry.example.com/refsync:0.1.0",
      "docs/install.md's image step sets the controller's image",
    );
    // The CRDs are served: the install is usable as it is.
    await waitFor(
      async () =>
        (
          await cluster.kc.makeApiClient(CustomObjectsApi).listClusterCustomObject({
            group: "refsync.dev",
            version: "v1alpha1",
            plural: "clustersecretstores",
          })
        ).items
          ? true
          : undefined,
      "ClusterSecretStores served",
    );
  });

  void it("the opt-in ServiceMonitor applies once prometheus-operator's CRD is there", async () => {
    await sh(
      `kubectl apply -f ${path.join(import.meta.dirname, "crds", "monitoring.coreos.com_servicemonitors.yaml")}`,
    );
    await sh(
      "kubectl wait --for condition=established --timeout=60s crd/servicemonitors.monitoring.coreos.com",
    );
    const out = await sh("kubectl apply -k manifests/servicemonitor");
    assert.match(out, /servicemonitor.monitoring.coreos.com\/refsync-controller created/);
  });

  void it("the Argo CD component applies to a minimal argocd-cm / argocd-repo-server installation", async () => {
    const dir = path.join(work, "argocd");
    await mkdir(dir);
    // install.yaml: Argo CD's own manifests, trimmed to the two objects the component patches.
    await copyFile(
      path.join(import.meta.dirname, "fixtures", "argocd-install", "argocd.yaml"),
      path.join(dir, "install.yaml"),
    );
    await writeFile(path.join(dir, "kustomization.yaml"), docBlock("test/argocd/install.test.ts", "argocd"));
    await sh("kubectl create namespace argocd");
    const out = await sh("kubectl apply -k .", dir);
    assert.match(out, /deployment.apps\/argocd-repo-server created/);
    const repoServer = await cluster.kc
      .makeApiClient(AppsV1Api)
      .readNamespacedDeployment({ name: "argocd-repo-server", namespace: "argocd" });
    const containers = repoServer.spec?.template.spec?.containers ?? [];
    assert.deepEqual(
      containers.map((c) => [c.name, c.image]),
      [
        ["refsync", "registry.example.com/refsync:0.1.0"],
        ["argocd-repo-server", "quay.io/argoproj/argocd:v3.1.0"],
      ],
    );
    const cm = await cluster.kc
      .makeApiClient(CoreV1Api)
      .readNamespacedConfigMap({ name: "argocd-cm", namespace: "argocd" });
    assert.equal(cm.data?.url, "https://argocd.example.com", "existing settings are kept");
    assert.ok(cm.data?.["resource.customizations.health.refsync.dev_ExternalSecret"]);
    await cluster.kc
      .makeApiClient(CoreV1Api)
      .readNamespacedConfigMap({ name: "refsync-plugin", namespace: "argocd" });
  });

  void it("an overlay with namePrefix and nameSuffix keeps the ExternalSecret on its store, and it syncs", async () => {
    const app = path.join(work, "apps", "web");
    await mkdir(path.join(app, "base"), { recursive: true });
    await mkdir(path.join(app, "overlays", "prod"), { recursive: true });
    await writeFile(
      path.join(app, "base", "kustomization.yaml"),
      "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: web\nresources: [app.yaml]\n",
    );
    await writeFile(
      path.join(app, "base", "app.yaml"),
      `apiVersion: refsync.dev/v1alpha1
kind: SecretStore
metadata: { name: fake }
spec: { provider: { fake: { data: [{ key: db, valueMap: { password: overlay-secret-value } }] } } }
---
apiVersion: refsync.dev/v1alpha1
kind: ExternalSecret
metadata: { name: db }
spec:
  secretStoreRef: { name: fake }
  data: [{ secretKey: password, remoteRef: { key: db, property: password } }]
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: web }
spec:
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec:
      containers:
        - name: web
          image: nginx
          env: [{ name: PASSWORD, valueFrom: { secretKeyRef: { name: db, key: password } } }]
`,
    );
    await writeFile(
      path.join(app, "overlays", "prod", "kustomization.yaml"),
      docBlock("test/argocd/install.test.ts", "overlay"),
    );
    await sh("kubectl create namespace web");
    const out = await sh("kubectl apply -k apps/web/overlays/prod", work);
    assert.match(out, /externalsecret.refsync.dev\/prod-db-eu created/);
    assert.match(out, /secretstore.refsync.dev\/prod-fake-eu created/);

    const controller = await startTestController(cluster, { namespace: "web", logLevel: "info" });
    try {
      const es = await waitForCondition(
        controller.kube,
        "web",
        "prod-db-eu",
        "Ready",
        "True",
        "SecretSynced",
        60_000,
      );
      assert.equal(es.spec.secretStoreRef?.name, "prod-fake-eu");
      assert.equal(
        (await getSecret(controller.kube, "web", "prod-db-eu"))?.data.password,
        "overlay-secret-value",
      );
      const web = await cluster.kc
        .makeApiClient(AppsV1Api)
        .readNamespacedDeployment({ name: "prod-web-eu", namespace: "web" });
      assert.equal(
        web.spec?.template.spec?.containers[0]?.env?.[0]?.valueFrom?.secretKeyRef?.name,
        "prod-db-eu",
        "the pod reads the Secret the ExternalSecret writes",
      );
    } finally {
      await controller.stop();
    }
  });
});
