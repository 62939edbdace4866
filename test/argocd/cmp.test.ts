/**
 * plugin/plugin.yaml run as argocd-cmp-server runs it (./cmp.ts), on real Git checkouts,
 * with real Kustomize and Helm: what Argo CD would apply, and what its UI would show.
 */
import assert from "node:assert/strict";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { stringify } from "yaml";
import { ANNOTATION_REFS } from "../../src/api/v1alpha1.ts";
import { parseRefsAnnotation } from "../../src/render/annotation.ts";
import { CmpHarness, gitRepo, repoRoot, type GenerateResult } from "./cmp.ts";

const PASSWORD = "correct-horse-battery-staple";

const secretWithRefs = (name: string, ref = "ref+vault://team-a/db#password") => `apiVersion: v1
kind: Secret
metadata:
  name: ${name}
stringData:
  password: ${ref}
  url: postgres://app:${ref}+@db:5432/app
`;
const deployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec:
      containers:
        - name: web
          image: nginx:1.27
          envFrom: [{ secretRef: { name: db } }]
`;

function kinds(result: GenerateResult): string[] {
  return result.manifests
    .map((m) => `${String(m.kind)}/${String((m.metadata as { name: string }).name)}`)
    .sort();
}

void describe("Argo CD config-management plugin (plugin.yaml under an argocd-cmp-server stand-in)", () => {
  let cmp: CmpHarness;
  let configDir: string;
  before(async () => {
    cmp = await CmpHarness.start();
    configDir = await mkdtemp(path.join(tmpdir(), "refsync-plugin-config-"));
    // What the operator mounts into the sidecar: inline mode for project team-a, paths under team-a/ only.
    await writeFile(
      path.join(configDir, "config.yaml"),
      stringify({
        stores: {
          fake: {
            provider: {
              fake: {
                data: [
                  { key: "team-a/db", version: "7", valueMap: { password: PASSWORD } },
                  { key: "team-b/db", valueMap: { password: PASSWORD } },
                ],
              },
            },
          },
        },
        defaultStores: { fake: "fake" },
        modes: ["deferred", "inline"],
        policy: [{ projects: ["team-a"], stores: ["fake"], paths: ["team-a/"] }],
      }),
    );
  });
  after(async () => {
    await cmp.stop();
    await rm(configDir, { recursive: true, force: true });
  });
  const sidecarEnv = () => ({ REFSYNC_CONFIG: path.join(configDir, "config.yaml") });

  void it("is named refsync", () => assert.equal(cmp.name, "refsync"));

  void it("plain directory: discovered by its references; Secrets become ExternalSecrets, the rest passes through", async () => {
    const repo = await gitRepo({
      "apps/web/secret.yaml": secretWithRefs("db"),
      "apps/web/deploy.yaml": deployment,
      "apps/other/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: { name: plain }\n",
    });
    assert.equal(await cmp.discover({ repo, path: "apps/web" }), true);
    assert.equal(
      await cmp.discover({ repo, path: "apps/other" }),
      false,
      "a directory without references is not ours",
    );
    const result = await cmp.generate({ repo, path: "apps/web" });
    assert.equal(result.exitCode, 0, result.error);
    assert.deepEqual(kinds(result), ["Deployment/web", "ExternalSecret/db"]);
    const es = result.manifests.find((m) => m.kind === "ExternalSecret") as {
      metadata: { annotations?: Record<string, string> };
      spec: unknown;
    };
    assert.doesNotMatch(result.stdout, /kind: Secret\b/, "no Secret (and no value) reaches Argo CD");
    assert.ok(es.metadata.annotations?.["refsync.dev/source-revision"], "stamped with ARGOCD_APP_REVISION");
    assert.equal(result.stderr, "");
  });

  void it("a .refsync.yaml marker is discovered too", async () => {
    const repo = await gitRepo({
      "app/.refsync.yaml": "# rendered by refsync\n",
      "app/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: { name: plain }\n",
    });
    assert.equal(await cmp.discover({ repo, path: "app" }), true);
    const result = await cmp.generate({ repo, path: "app" });
    assert.deepEqual(kinds(result), ["ConfigMap/plain"]);
  });

  void it("argocd-vault-plugin placeholders are discovered", async () => {
    const repo = await gitRepo({
      "app/secret.yaml":
        "apiVersion: v1\nkind: Secret\nmetadata: { name: db }\nstringData:\n  password: <path:secret/data/team-a/db#password>\n",
    });
    assert.equal(await cmp.discover({ repo, path: "app" }), true);
  });

  void it("Kustomize: built with real Kustomize, then rendered (name prefix and labels applied to the ExternalSecret)", async () => {
    const repo = await gitRepo({
      "base/secret.yaml": secretWithRefs("db"),
      "base/deploy.yaml": deployment,
      "base/kustomization.yaml": "resources: [secret.yaml, deploy.yaml]\n",
      "overlays/prod/kustomization.yaml":
        "resources: [../../base]\nnamePrefix: prod-\nlabels:\n  - pairs: { env: prod }\n",
    });
    assert.equal(
      await cmp.discover({ repo, path: "overlays/prod" }),
      false,
      "the overlay itself holds no reference",
    );
    assert.equal(await cmp.discover({ repo, path: "base" }), true);
    const result = await cmp.generate({ repo, path: "overlays/prod" });
    assert.equal(result.exitCode, 0, result.error);
    assert.deepEqual(kinds(result), ["Deployment/prod-web", "ExternalSecret/prod-db"]);
    const es = result.manifests.find((m) => m.kind === "ExternalSecret") as {
      metadata: { labels: Record<string, string> };
    };
    assert.equal(es.metadata.labels.env, "prod");
  });

  void it("Helm: init builds a file:// dependency; values files and release name come from the parameters", async () => {
    const repo = await gitRepo({
      "charts/common/Chart.yaml": "apiVersion: v2\nname: common\nversion: 0.1.0\n",
      "charts/common/templates/cm.yaml":
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-common\n",
      "charts/web/Chart.yaml":
        "apiVersion: v2\nname: web\nversion: 1.0.0\ndependencies:\n  - name: common\n    version: 0.1.0\n    repository: file://../common\n",
      "charts/web/values.yaml": "dbRef: ref+vault://team-a/db#password\nreplicas: 1\n",
      "charts/web/values-prod.yaml": "replicas: 3\n",
      "charts/web/templates/secret.yaml":
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: {{ .Release.Name }}-db\nstringData:\n  password: {{ .Values.dbRef }}\n",
      "charts/web/templates/deploy.yaml":
        'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Release.Name }}\n  namespace: {{ .Release.Namespace }}\n  annotations:\n    kube-version: {{ .Capabilities.KubeVersion.Version | quote }}\n    refsync-api: {{ .Capabilities.APIVersions.Has "refsync.dev/v1alpha1" | quote }}\nspec:\n  replicas: {{ .Values.replicas }}\n  selector: { matchLabels: { app: web } }\n  template:\n    metadata: { labels: { app: web } }\n    spec: { containers: [{ name: web, image: nginx }] }\n',
    });
    assert.equal(await cmp.discover({ repo, path: "charts/web" }), true);
    const result = await cmp.generate({
      repo,
      path: "charts/web",
      name: "shop",
      namespace: "shop-prod",
      parameters: [
        { name: "helm-values-files", array: ["values-prod.yaml"] },
        { name: "helm-release-name", string: "web" },
      ],
    });
    assert.equal(result.exitCode, 0, result.error);
    assert.deepEqual(kinds(result), ["ConfigMap/web-common", "Deployment/web", "ExternalSecret/web-db"]);
    const deploy = result.manifests.find((m) => m.kind === "Deployment") as {
      metadata: { namespace: string; annotations: Record<string, string> };
      spec: { replicas: number };
    };
    assert.equal(deploy.spec.replicas, 3, "values-prod.yaml applied");
    assert.equal(deploy.metadata.namespace, "shop-prod");
    assert.equal(deploy.metadata.annotations["kube-version"], "v1.31.0", "KUBE_VERSION reaches helm");
    assert.equal(deploy.metadata.annotations["refsync-api"], "true", "KUBE_API_VERSIONS reaches helm");
    assert.deepEqual(cmp.leftInTmp, [], "the rendered file is removed");
  });

  void it("Helm: a values file outside the source path is refused; a failing helm template is an error, not an empty render", async () => {
    const repo = await gitRepo({
      "chart/Chart.yaml": "apiVersion: v2\nname: c\nversion: 1.0.0\n",
      "chart/values.yaml": "ref: ref+vault://team-a/db#password\n",
      "chart/templates/bad.yaml": "{{ .Values.nope.missing }}\n",
    });
    const escape = await cmp.generate({
      repo,
      path: "chart",
      parameters: [{ name: "helm-values-files", array: ["../../etc/passwd"] }],
    });
    assert.notEqual(escape.exitCode, 0);
    assert.match(escape.error ?? "", /helm-values-files\[0\]: "..\/..\/etc\/passwd" must be a path inside/);
    const broken = await cmp.generate({ repo, path: "chart" });
    assert.notEqual(broken.exitCode, 0);
    assert.equal(broken.stdout, "", "nothing for Argo CD to apply (or prune by)");
    assert.match(broken.error ?? "", /nil pointer|nope/);
  });

  void it("inline mode, allowed by the policy for this project: values substituted, refs annotated, nothing on stderr", async () => {
    const repo = await gitRepo({ "app/secret.yaml": secretWithRefs("db", "ref+fake://team-a/db#password") });
    const result = await cmp.generate({
      repo,
      path: "app",
      project: "team-a",
      parameters: [{ name: "mode", string: "inline" }],
      sidecarEnv: sidecarEnv(),
    });
    assert.equal(result.exitCode, 0, result.error);
    const secret = result.manifests[0] as {
      kind: string;
      stringData: Record<string, string>;
      metadata: { annotations: Record<string, string> };
    };
    assert.equal(secret.kind, "Secret");
    assert.equal(secret.stringData.password, PASSWORD);
    assert.equal(secret.stringData.url, `postgres://app:${PASSWORD}@db:5432/app`);
    const refs = parseRefsAnnotation(secret.metadata.annotations[ANNOTATION_REFS] ?? "");
    assert.equal(refs.refs[0]?.store, "fake");
    assert.doesNotMatch(secret.metadata.annotations[ANNOTATION_REFS] ?? "", new RegExp(PASSWORD));
    assert.equal(result.stderr, "");
  });

  void it("inline mode is denied for another project, and for paths outside the policy; stderr names the file and never a value", async () => {
    const repo = await gitRepo({
      "app/secret.yaml": secretWithRefs("db", "ref+fake://team-a/db#password"),
      "other/secret.yaml": secretWithRefs("db", "ref+fake://team-b/db#password"),
    });
    const otherProject = await cmp.generate({
      repo,
      path: "app",
      project: "team-b",
      parameters: [{ name: "mode", string: "inline" }],
      sidecarEnv: sidecarEnv(),
    });
    assert.notEqual(otherProject.exitCode, 0);
    assert.equal(otherProject.stdout, "");
    assert.match(otherProject.error ?? "", /secret\.yaml.*policy denies project "team-b"/s);
    const otherPath = await cmp.generate({
      repo,
      path: "other",
      project: "team-a",
      parameters: [{ name: "mode", string: "inline" }],
      sidecarEnv: sidecarEnv(),
    });
    assert.notEqual(otherPath.exitCode, 0);
    assert.match(otherPath.error ?? "", /path "team-b\/db"/);
    for (const r of [otherProject, otherPath]) assert.doesNotMatch(r.stderr + r.stdout, new RegExp(PASSWORD));
  });

  void it("an application's ARGOCD_ENV_ variables cannot widen what the operator's configuration allows", async () => {
    const repo = await gitRepo({ "app/secret.yaml": secretWithRefs("db", "ref+fake://team-a/db#password") });
    // No configuration mounted: deferred only, whatever the application asks for.
    const asked = await cmp.generate({
      repo,
      path: "app",
      project: "team-a",
      env: { REFSYNC_MODE: "inline", REFSYNC_CONFIG: path.join(configDir, "config.yaml") },
    });
    assert.notEqual(asked.exitCode, 0);
    assert.match(asked.error ?? "", /inline mode is not allowed/);
    const viaParameter = await cmp.generate({
      repo,
      path: "app",
      project: "team-a",
      parameters: [{ name: "mode", string: "inline" }],
    });
    assert.match(viaParameter.error ?? "", /inline mode is not allowed/);
  });

  void it("parameter values reach refsync as one argument each: no word splitting, no globbing, no extra flags", async () => {
    const repo = await gitRepo({ "app/secret.yaml": secretWithRefs("db") });
    const sneaky = "inline --config /etc/passwd *";
    const result = await cmp.generate({ repo, path: "app", parameters: [{ name: "mode", string: sneaky }] });
    assert.notEqual(result.exitCode, 0);
    assert.match(
      result.error ?? "",
      /mode must be deferred or inline, not "inline --config \/etc\/passwd \*"/,
    );
  });

  void it("a failing reference: non-zero exit, every error on stderr as Argo CD's UI shows it, no partial output", async () => {
    const repo = await gitRepo({
      "app/a.yaml": secretWithRefs("a", "ref+vault://team-a/db?stor=x#password"),
      "app/b.yaml": secretWithRefs("b"),
      "app/c.yaml":
        "apiVersion: v1\nkind: ConfigMap\nmetadata: { name: c }\ndata:\n  token: ref+vault://team-a/token#value\n",
    });
    const result = await cmp.generate({ repo, path: "app" });
    assert.equal(result.exitCode, 1);
    assert.equal(result.stdout, "");
    assert.deepEqual(result.manifests, []);
    assert.match(result.error ?? "", /^`sh -c .*` failed exit status 1: /s);
    assert.match(result.stderr, /a\.yaml/);
    assert.match(result.stderr, /stor/);
    assert.match(result.stderr, /c\.yaml/);
    assert.doesNotMatch(result.stderr, /usage:/);
  });

  void it("examples/demo-app: sync waves order the store, then the ExternalSecret, then the Deployment", async () => {
    const dir = path.join(repoRoot, "examples", "demo-app");
    const files: Record<string, string> = {};
    for (const f of await readdir(dir)) files[`demo-app/${f}`] = await readFile(path.join(dir, f), "utf8");
    const result = await cmp.generate({ repo: await gitRepo(files), path: "demo-app" });
    assert.equal(result.exitCode, 0, result.error);
    const wave = (kind: string) => {
      const m = result.manifests.find((o) => o.kind === kind) as {
        metadata: { annotations?: Record<string, string> };
      };
      return Number(m.metadata.annotations?.["argocd.argoproj.io/sync-wave"] ?? 0);
    };
    assert.ok(wave("SecretStore") < wave("ExternalSecret"), "stores before ExternalSecrets");
    assert.ok(
      wave("ExternalSecret") < wave("Deployment"),
      "ExternalSecrets before the workloads that read their Secrets",
    );
  });

  void it("an empty source path is an error, not an empty render that would prune the application", async () => {
    const repo = await gitRepo({ "app/.refsync.yaml": "", "app/README.md": "nothing here\n" });
    const result = await cmp.generate({ repo, path: "app" });
    assert.notEqual(result.exitCode, 0);
    assert.match(result.error ?? "", /no manifests found/);
  });
});
