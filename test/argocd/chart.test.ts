/**
 * The Helm chart (charts/refsync) with the real helm binary: lint, template for each values
 * combination, the same objects as `kubectl apply -k manifests`, install and upgrade into a
 * private bare API server, and the shipped RBAC checked with SubjectAccessReviews.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { AppsV1Api, type V1Deployment, type V1PolicyRule } from "@kubernetes/client-node";
import { parseAllDocuments } from "yaml";
import { repoRoot } from "../../scripts/health-files.ts";
import { startCluster, type Cluster } from "../cluster/index.ts";
import { find, kustomizeBuild, type Manifest } from "./kube.ts";
import { assertControllerAccess } from "./rbac.ts";
import { docBlock } from "../docs/markdown.ts";
import { ensureTools, type Tools } from "./tools.ts";

const run = promisify(execFile);
const CHART = path.join(repoRoot, "charts", "refsync");
const NAMESPACE = "refsync-system";

/** Values combinations, each linted and templated. */
const COMBINATIONS: Record<string, string[]> = {
  defaults: [],
  namespaced: ["--set", "rbac.scope=namespace"],
  dashboard: ["--set", "dashboard.enabled=true"],
  audit: ["--set", "audit.enabled=true", "--set", "audit.required=true", "--set", "audit.maxSize=10Mi"],
  auditStdout: ["--set", "audit.enabled=true", "--set", "audit.sink=stdout"],
  genericTargets: [
    "--set",
    "genericTargets.enabled=true",
    "--set-json",
    'genericTargets.resources=[{"apiGroup":"example.com","resources":["widgets"]}]',
  ],
  genericTargetsNamespaced: ["--set", "genericTargets.enabled=true", "--set", "rbac.scope=namespace"],
  monitoring: ["--set", "serviceMonitor.enabled=true", "--set", "prometheusRule.enabled=true"],
  scheduling: [
    "--set",
    "priorityClassName=system-cluster-critical",
    "--set-json",
    'tolerations=[{"key":"dedicated","operator":"Equal","value":"infra","effect":"NoSchedule"}]',
    "--set-json",
    'affinity={"nodeAffinity":{"requiredDuringSchedulingIgnoredDuringExecution":{"nodeSelectorTerms":[{"matchExpressions":[{"key":"infra","operator":"Exists"}]}]}}}',
    "--set-json",
    'resources={"requests":{"cpu":"100m","memory":"256Mi"},"limits":{"memory":"1Gi"}}',
  ],
  single: [
    "--set",
    "replicaCount=1",
    "--set",
    "leaderElection.enabled=false",
    "--set",
    "logLevel=debug",
    "--set",
    "controllerClass=blue",
    "--set-json",
    'extraArgs=["--workers=8"]',
  ],
};

void describe("the Helm chart", () => {
  let cluster: Cluster;
  let tools: Tools;
  const helmEnv = () => ({
    ...process.env,
    KUBECONFIG: cluster?.kubeconfigPath ?? "/nonexistent",
    HELM_CACHE_HOME: "/tmp/refsync-helm-cache",
    HELM_CONFIG_HOME: "/tmp/refsync-helm-config",
    HELM_DATA_HOME: "/tmp/refsync-helm-data",
  });
  const helm = async (args: string[]): Promise<string> => {
    try {
      const { stdout } = await run(tools.helm, args, {
        env: helmEnv(),
        maxBuffer: 16 << 20,
        timeout: 120_000,
      });
      return stdout;
    } catch (err) {
      const e = err as { stdout?: string; stderr?: string };
      throw new Error(`helm ${args.join(" ")}: ${e.stderr ?? ""}${e.stdout ?? ""}`);
    }
  };
  const template = async (values: string[], extra: string[] = []): Promise<Manifest[]> =>
    parseAllDocuments(await helm(["template", "refsync", CHART, "-n", NAMESPACE, ...extra, ...values]))
      .map((d) => d.toJS() as Manifest | null)
      .filter((m): m is Manifest => m !== null);
  const deployment = (objects: Manifest[]) =>
    find(objects, "Deployment", "refsync-controller") as V1Deployment;

  before(async () => {
    [cluster, tools] = await Promise.all([startCluster({ private: true }), ensureTools()]);
  });
  after(() => cluster?.stop());

  void it("helm lint --strict passes for every values combination", async () => {
    for (const [name, values] of Object.entries(COMBINATIONS)) {
      const out = await helm(["lint", "--strict", CHART, ...values]);
      assert.match(out, /1 chart\(s\) linted, 0 chart\(s\) failed/, name);
    }
  });

  void it("helm template renders each combination as asked", async () => {
    const byName = Object.fromEntries(
      await Promise.all(Object.entries(COMBINATIONS).map(async ([n, v]) => [n, await template(v)] as const)),
    );
    const kinds = (objects: Manifest[]) => objects.map((o) => `${o.kind}/${o.metadata?.name}`).sort();
    const defaults = byName.defaults as Manifest[];
    assert.ok(!kinds(defaults).some((k) => /ServiceMonitor|PrometheusRule/.test(k)), "monitoring is opt-in");
    assert.deepEqual(deployment(defaults).spec?.template.spec?.containers[0]?.args, [
      "controller",
      "--leader-elect",
    ]);

    const namespaced = byName.namespaced as Manifest[];
    assert.ok(kinds(namespaced).includes("Role/refsync-controller"));
    const clusterRules = (find(namespaced, "ClusterRole", "refsync-controller") as { rules: V1PolicyRule[] })
      .rules;
    assert.ok(
      clusterRules.every((r) => (r.verbs ?? []).every((v) => ["get", "list", "watch"].includes(v))),
      "namespaced mode: cluster-wide access is read-only",
    );
    assert.ok(!clusterRules.some((r) => r.resources?.includes("secrets")), "no Secrets cluster-wide");
    assert.ok(
      deployment(namespaced).spec?.template.spec?.containers[0]?.args?.includes(`--namespace=${NAMESPACE}`),
    );

    // ESO's generic targets: off unless asked, and then the flag and exactly their kinds' rules.
    assert.ok(!kinds(defaults).some((k) => k.includes("generic-targets")), "generic targets are opt-in");
    const generic = byName.genericTargets as Manifest[];
    assert.ok(
      deployment(generic).spec?.template.spec?.containers[0]?.args?.includes(
        "--unsafe-allow-generic-targets",
      ),
    );
    assert.deepEqual(
      (find(generic, "ClusterRole", "refsync-generic-targets") as { rules: V1PolicyRule[] }).rules,
      [
        { apiGroups: [""], resources: ["configmaps"], verbs: ["get", "create", "patch", "delete"] },
        { apiGroups: ["example.com"], resources: ["widgets"], verbs: ["get", "create", "patch", "delete"] },
      ],
    );
    assert.ok(kinds(generic).includes("ClusterRoleBinding/refsync-generic-targets"));
    const genericNamespaced = kinds(byName.genericTargetsNamespaced as Manifest[]);
    assert.ok(genericNamespaced.includes("Role/refsync-generic-targets"), "namespaced mode: a Role");
    assert.ok(!genericNamespaced.includes("ClusterRole/refsync-generic-targets"));

    const dashboard = byName.dashboard as Manifest[];
    assert.deepEqual(deployment(dashboard).spec?.template.spec?.containers[0]?.args?.slice(2), [
      "--dashboard-addr=:8081",
      "--dashboard-token-review",
    ]);
    assert.ok(
      (find(dashboard, "Service", "refsync-controller").spec as { ports: { name: string }[] }).ports.some(
        (p) => p.name === "dashboard",
      ),
    );

    const audit = deployment(byName.audit as Manifest[]).spec?.template.spec;
    assert.deepEqual(audit?.containers[0]?.args?.slice(2), [
      "--audit-log=file:/var/log/refsync/$(POD_NAME).jsonl",
      "--audit-log-max-size=10Mi",
      "--audit-log-max-files=5",
      "--audit-required",
    ]);
    assert.equal(
      audit?.containers[0]?.volumeMounts?.find((m) => m.name === "audit")?.mountPath,
      "/var/log/refsync",
    );
    assert.equal(audit?.volumes?.find((v) => v.name === "audit")?.emptyDir?.sizeLimit, "1Gi");
    const auditStdout = deployment(byName.auditStdout as Manifest[]).spec?.template.spec;
    assert.deepEqual(auditStdout?.containers[0]?.args?.slice(2), ["--audit-log=stdout"]);
    assert.ok(!auditStdout?.volumes?.some((v) => v.name === "audit"), "no volume for stdout");
    await assert.rejects(
      template(["--set", "audit.enabled=true", "--set", "audit.sink=syslog"]),
      /values don't meet the specifications of the schema/,
    );

    const monitoring = byName.monitoring as Manifest[];
    assert.ok(kinds(monitoring).includes("ServiceMonitor/refsync-controller"));
    const rule = find(monitoring, "PrometheusRule", "refsync");
    assert.ok(
      JSON.stringify(rule.spec).includes("RefsyncStoreNotReady"),
      "the rules of manifests/monitoring",
    );

    const pod = deployment(byName.scheduling as Manifest[]).spec?.template.spec;
    assert.equal(pod?.priorityClassName, "system-cluster-critical");
    assert.equal(pod?.tolerations?.[0]?.key, "dedicated");
    assert.ok(pod?.affinity?.nodeAffinity);
    assert.equal(pod?.containers[0]?.resources?.limits?.memory, "1Gi");

    const single = deployment(byName.single as Manifest[]);
    assert.equal(single.spec?.replicas, 1);
    assert.deepEqual(single.spec?.template.spec?.containers[0]?.args, [
      "controller",
      "--controller-class=blue",
      "--log-level=debug",
      "--workers=8",
    ]);

    await assert.rejects(
      template(["--set", "replicaCount=2", "--set", "leaderElection.enabled=false"]),
      /replicaCount > 1 needs leaderElection.enabled/,
    );
    await assert.rejects(
      template(["--set", "rbac.scope=everywhere"]),
      /values don't meet the specifications of the schema/,
    );
  });

  void it("installs the same objects as kubectl apply -k manifests", async () => {
    const strip = (o: Manifest): unknown => {
      const copy = structuredClone(o) as Manifest & Record<string, unknown>;
      delete copy.metadata?.labels;
      delete copy.metadata?.annotations;
      if (copy.kind === "Namespace") return undefined;
      return copy;
    };
    const key = (o: Manifest) => `${o.kind}/${o.metadata?.namespace ?? ""}/${o.metadata?.name}`;
    const index = (objects: Manifest[]) =>
      new Map(objects.filter((o) => o.kind !== "Namespace").map((o) => [key(o), strip(o)]));
    const kustomize = index(await kustomizeBuild(path.join(repoRoot, "manifests")));
    const chart = index(await template([], ["--include-crds"]));
    assert.deepEqual([...chart.keys()].sort(), [...kustomize.keys()].sort(), "the same objects");
    for (const [k, object] of kustomize) assert.deepEqual(chart.get(k), object, `${k} is the same`);
  });

  void it("helm install into a bare API server, and its RBAC gives the controller exactly what it needs", async () => {
    // docs/install.md's command, run as written from the repository's root.
    const { stdout: out } = await run(
      "bash",
      ["-euo", "pipefail", "-c", docBlock("test/argocd/chart.test.ts", "helm")],
      {
        cwd: repoRoot,
        env: { ...helmEnv(), PATH: `${tools.binDir}:${process.env.PATH}` },
        timeout: 120_000,
      },
    );
    assert.match(out, /STATUS: deployed/);
    const installed = await cluster.kc
      .makeApiClient(AppsV1Api)
      .readNamespacedDeployment({ name: "refsync-controller", namespace: NAMESPACE });
    assert.equal(installed.spec?.template.spec?.containers[0]?.image, "registry.example.com/refsync:0.1.0");
    assert.match(
      out,
      /kubectl -n refsync-system wait externalsecret\/demo-db --for condition=Ready/,
      "NOTES.txt",
    );
    await assertControllerAccess(cluster, NAMESPACE);
  });

  void it("helm upgrade changes the Deployment in place", async () => {
    const out = await helm([
      "upgrade",
      "refsync",
      CHART,
      "-n",
      NAMESPACE,
      "--set",
      "replicaCount=3",
      "--set-json",
      'extraArgs=["--workers=8"]',
    ]);
    assert.match(out, /REVISION: 2/);
    const applied = await cluster.kc
      .makeApiClient(AppsV1Api)
      .readNamespacedDeployment({ name: "refsync-controller", namespace: NAMESPACE });
    assert.equal(applied.spec?.replicas, 3);
    assert.deepEqual(applied.spec?.template.spec?.containers[0]?.args, [
      "controller",
      "--leader-elect",
      "--workers=8",
    ]);
    await assertControllerAccess(cluster, NAMESPACE);
  });
});
