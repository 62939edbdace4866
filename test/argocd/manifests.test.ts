/**
 * The install manifests, built with real Kustomize and applied to the real test API server:
 * manifests/ (the controller, nothing that needs another operator), manifests/servicemonitor (opt-in)
 * and manifests/argocd (the Argo CD component).
 */
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { AppsV1Api, CoreV1Api, type V1Container } from "@kubernetes/client-node";
import { parse } from "yaml";
import { parseControllerFlags } from "../../src/cli/controller.ts";
import { installCrds, startCluster, type Cluster } from "../cluster/index.ts";
import { healthKinds, healthRoot, repoRoot } from "../../scripts/health-files.ts";
import { find, kustomizeBuild, serverSideApply, type Manifest } from "./kube.ts";
import { assertControllerAccess } from "./rbac.ts";

const NAMESPACE = "refsync-system";

const withoutCrds = (objects: Manifest[]) => objects.filter((o) => o.kind !== "CustomResourceDefinition");

function podSpec(deployment: Manifest): { containers: V1Container[]; volumes?: { name: string }[] } {
  return (
    deployment.spec as { template: { spec: { containers: V1Container[]; volumes?: { name: string }[] } } }
  ).template.spec;
}

void describe("install manifests on a real API server", () => {
  let cluster: Cluster;
  before(async () => {
    cluster = await startCluster({ crds: true });
    await installCrds(cluster.kc, path.join(import.meta.dirname, "crds"));
  });
  after(() => cluster.stop());

  void it("manifests/ applies: namespace, RBAC, 2-replica Deployment with probes and a locked-down pod, Service; the ServiceMonitor is opt-in", async () => {
    const objects = [
      ...(await kustomizeBuild(path.join(repoRoot, "manifests"))),
      ...(await kustomizeBuild(path.join(repoRoot, "manifests", "servicemonitor"))),
    ];
    assert.ok(
      !(await kustomizeBuild(path.join(repoRoot, "manifests"))).some((o) => o.kind === "ServiceMonitor"),
      "manifests/ needs no prometheus-operator",
    );
    const kinds = objects.map((o) => o.kind).sort();
    for (const kind of [
      "ClusterRole",
      "Deployment",
      "Namespace",
      "Role",
      "Service",
      "ServiceAccount",
      "ServiceMonitor",
    ]) {
      assert.ok(kinds.includes(kind), `the install has a ${kind}`);
    }
    assert.equal(
      kinds.filter((k) => k === "CustomResourceDefinition").length,
      8,
      "the refsync CRDs (four kinds and four generators) are included",
    );
    // The CRDs are the cluster's already (manifests/crds, installed verbatim by the harness). Applying
    // them again through @kubernetes/client-node would drop x-kubernetes-preserve-unknown-fields
    // under every other suite sharing this cluster.
    await serverSideApply(cluster.kc, withoutCrds(objects), "refsync-install-test");

    const deployment = await cluster.kc
      .makeApiClient(AppsV1Api)
      .readNamespacedDeployment({ name: "refsync-controller", namespace: NAMESPACE });
    assert.equal(deployment.spec?.replicas, 2);
    const pod = deployment.spec?.template.spec;
    assert.equal(pod?.serviceAccountName, "refsync-controller");
    assert.equal(pod?.securityContext?.runAsNonRoot, true);
    const container = pod?.containers[0];
    assert.deepEqual(container?.args, ["controller", "--leader-elect"]);
    assert.equal(container?.livenessProbe?.httpGet?.path, "/healthz");
    assert.equal(container?.readinessProbe?.httpGet?.path, "/readyz");
    assert.equal(container?.securityContext?.readOnlyRootFilesystem, true);
    assert.equal(container?.securityContext?.allowPrivilegeEscalation, false);
    assert.deepEqual(container?.securityContext?.capabilities?.drop, ["ALL"]);
    assert.ok(container?.resources?.requests?.memory && container.resources.limits?.memory);

    const service = await cluster.kc
      .makeApiClient(CoreV1Api)
      .readNamespacedService({ name: "refsync-controller", namespace: NAMESPACE });
    assert.deepEqual(
      service.spec?.selector,
      deployment.spec?.selector.matchLabels,
      "the Service selects the controller pods",
    );
  });

  void it("the controller's service account has only the access it needs", async () => {
    await serverSideApply(
      cluster.kc,
      withoutCrds(await kustomizeBuild(path.join(repoRoot, "manifests", "base"))),
      "refsync-install-test",
    );
    await assertControllerAccess(cluster, NAMESPACE);
  });

  void it("manifests/argocd adds the CMP sidecar to argocd-repo-server and the health checks to argocd-cm", async () => {
    const objects = await kustomizeBuild(path.join(import.meta.dirname, "fixtures", "argocd-install"));
    const repoServer = find(objects, "Deployment", "argocd-repo-server");
    const { containers, volumes = [] } = podSpec(repoServer);
    assert.deepEqual(
      containers.map((c) => c.name),
      ["refsync", "argocd-repo-server"],
    );
    const sidecar = containers[0] as V1Container;
    assert.deepEqual(sidecar.command, ["/var/run/argocd/argocd-cmp-server"]);
    assert.equal(
      sidecar.image,
      "registry.example.com/refsync:9.9.9",
      "the installation's images setting wins",
    );
    assert.equal(sidecar.securityContext?.runAsUser, 999);
    assert.equal(sidecar.securityContext?.runAsNonRoot, true);
    assert.ok(sidecar.resources?.limits?.memory, "the sidecar has a memory limit");
    const mounts = new Map((sidecar.volumeMounts ?? []).map((m) => [m.mountPath, m]));
    assert.equal(
      mounts.get("/var/run/argocd")?.name,
      "var-files",
      "shares argocd-cmp-server and its socket directory",
    );
    assert.equal(mounts.get("/home/argocd/cmp-server/plugins")?.name, "plugins");
    assert.equal(mounts.get("/home/argocd/cmp-server/config/plugin.yaml")?.subPath, "plugin.yaml");
    assert.equal(mounts.get("/tmp")?.name, "refsync-tmp", "its own /tmp, not the repo-server's");
    assert.equal(mounts.get("/home/argocd/refsync")?.readOnly, true);
    const volumeNames = volumes.map((v) => v.name);
    for (const m of mounts.values()) assert.ok(volumeNames.includes(m.name), `volume ${m.name} exists`);

    const pluginCm = find(objects, "ConfigMap", "refsync-plugin");
    assert.equal(
      pluginCm.data?.["plugin.yaml"],
      await readFile(path.join(repoRoot, "plugin", "plugin.yaml"), "utf8"),
    );
    const plugin = parse(pluginCm.data?.["plugin.yaml"] ?? "") as {
      kind: string;
      metadata: { name: string };
    };
    assert.equal(plugin.kind, "ConfigManagementPlugin");
    assert.equal(plugin.metadata.name, "refsync");

    const argocdCm = find(objects, "ConfigMap", "argocd-cm");
    assert.equal(argocdCm.data?.url, "https://argocd.example.com", "existing settings are kept");
    assert.ok(
      argocdCm.data?.["resource.customizations.health.apps_Deployment"],
      "existing customizations are kept",
    );
    for (const { kind } of healthKinds) {
      const script = await readFile(path.join(healthRoot, kind, "health.lua"), "utf8");
      assert.equal(
        argocdCm.data?.[`resource.customizations.health.refsync.dev_${kind}`],
        script,
        `${kind} health is the tested script`,
      );
    }
    assert.ok(
      argocdCm.data?.["resource.customizations.actions.refsync.dev_ExternalSecret"]?.includes(
        "refsync.dev/force-sync",
      ),
    );

    const namespace = await cluster.createNamespace("argocd");
    await serverSideApply(
      cluster.kc,
      objects.map((o) => ({ ...o, metadata: { ...o.metadata, namespace } })),
      "refsync-install-test",
    );
    const applied = await cluster.kc
      .makeApiClient(AppsV1Api)
      .readNamespacedDeployment({ name: "argocd-repo-server", namespace });
    assert.equal(
      applied.spec?.template.spec?.containers.length,
      2,
      "the API server accepts the patched repo-server",
    );
  });

  void it("manifests/freshness turns on inline-mode freshness in the controller, with the plugin configuration mounted", async () => {
    const objects = withoutCrds(
      await kustomizeBuild(path.join(import.meta.dirname, "fixtures", "freshness-install")),
    );
    const { containers, volumes = [] } = podSpec(find(objects, "Deployment", "refsync-controller"));
    const controller = containers[0] as V1Container;
    assert.deepEqual(controller.args, ["controller", "--leader-elect", "--freshness-interval=5m"]);
    const env = Object.fromEntries((controller.env ?? []).map((e) => [e.name, e.value ?? ""]));
    assert.equal(env.REFSYNC_CONFIG, "/etc/refsync/config.yaml");
    assert.equal(controller.volumeMounts?.find((m) => m.mountPath === "/etc/refsync")?.readOnly, true);
    assert.ok(volumes.some((v) => v.name === "plugin-config"));
    // The controller's own flag parser accepts them and starts the freshness loop.
    const controllerEnv = { ...env, POD_NAMESPACE: NAMESPACE };
    const args = (controller.args ?? []).slice(1);
    const flags = parseControllerFlags(args, controllerEnv);
    const withoutFreshness = parseControllerFlags(
      args.filter((a) => !a.startsWith("--freshness-interval")),
      controllerEnv,
    );
    // Other leader loops (rotation) run either way; the flag adds exactly the freshness loop.
    assert.equal(flags.options.leaderLoops?.length, (withoutFreshness.options.leaderLoops?.length ?? 0) + 1);
    await serverSideApply(cluster.kc, objects, "refsync-install-test");
  });

  void it("manifests/audit writes one audit file per replica on its own volume", async () => {
    const objects = withoutCrds(
      await kustomizeBuild(path.join(import.meta.dirname, "fixtures", "audit-install")),
    );
    const { containers, volumes = [] } = podSpec(find(objects, "Deployment", "refsync-controller"));
    const controller = containers[0] as V1Container;
    assert.deepEqual(controller.args, [
      "controller",
      "--leader-elect",
      "--audit-log=file:/var/log/refsync/$(POD_NAME).jsonl",
    ]);
    assert.ok(
      controller.env?.some((e) => e.name === "POD_NAME"),
      "$(POD_NAME) is defined",
    );
    assert.equal(controller.volumeMounts?.find((m) => m.mountPath === "/var/log/refsync")?.name, "audit");
    assert.ok(volumes.some((v) => v.name === "audit" && "emptyDir" in v));
    // The controller's own flag parser accepts it (Kubernetes expands $(POD_NAME) first).
    const args = (controller.args ?? []).slice(1).map((a) => a.replace("$(POD_NAME)", "refsync-0"));
    assert.deepEqual(parseControllerFlags(args, { POD_NAMESPACE: NAMESPACE }).audit?.target, {
      kind: "file",
      path: "/var/log/refsync/refsync-0.jsonl",
    });
    await serverSideApply(cluster.kc, objects, "refsync-install-test");
  });

  void it("manifests/generic-targets adds ESO's opt-in flag and only the ConfigMap rules", async () => {
    const objects = withoutCrds(
      await kustomizeBuild(path.join(import.meta.dirname, "fixtures", "generic-targets-install")),
    );
    const controller = podSpec(find(objects, "Deployment", "refsync-controller"))
      .containers[0] as V1Container;
    assert.deepEqual(controller.args, ["controller", "--leader-elect", "--unsafe-allow-generic-targets"]);
    const args = (controller.args ?? []).slice(1);
    assert.equal(parseControllerFlags(args, { POD_NAMESPACE: NAMESPACE }).options.allowGenericTargets, true);
    const role = find(objects, "ClusterRole", "refsync-generic-targets") as { rules: unknown[] };
    assert.deepEqual(role.rules, [
      { apiGroups: [""], resources: ["configmaps"], verbs: ["get", "create", "patch", "delete"] },
    ]);
    assert.ok(find(objects, "ClusterRoleBinding", "refsync-generic-targets"));
    await serverSideApply(cluster.kc, objects, "refsync-install-test");
  });
});
