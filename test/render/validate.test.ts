/**
 * `refsync validate` and the plugin's own check of the refsync.dev objects it
 * emits, in a real process: exit codes, stdout/stderr separation, one line
 * per problem naming file, document, Kind/name and field path. The API
 * server prunes unknown fields silently, so these are the places a typo such
 * as `remoteRef.proprety` is caught.
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, test } from "node:test";
import { runRender } from "../../src/cli/render.ts";
import { runRefsync } from "../cli-process.ts";

const root = mkdtempSync(join(tmpdir(), "refsync-validate-"));
after(() => rmSync(root, { recursive: true, force: true }));

const SECRET_STORE = `apiVersion: refsync.dev/v1alpha1
kind: SecretStore
metadata:
  name: demo
  namespace: shop
spec:
  rateLimit:
    qps: 5
  provider:
    fake:
      data:
        - key: shop/db
          valueMap:
            password: hunter2-hunter2
`;
const CLUSTER_STORE = `apiVersion: refsync.dev/v1alpha1
kind: ClusterSecretStore
metadata:
  name: vault
spec:
  provider:
    vault:
      server: https://vault.example:8200
      path: secret
      auth:
        kubernetes:
          role: refsync
          serviceAccountRef:
            name: refsync
  conditions:
    - namespaces: [shop]
`;
const EXTERNAL_SECRET = `apiVersion: refsync.dev/v1alpha1
kind: ExternalSecret
metadata:
  name: db
  namespace: shop
spec:
  secretStoreRef:
    name: demo
  refreshInterval: 1h
  target:
    name: db
  data:
    - secretKey: password
      remoteRef:
        key: shop/db
        property: password
`;
const DEPLOYMENT_AND_SECRET = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  template:
    spec:
      containers:
        - name: web
          image: nginx
---
apiVersion: v1
kind: Secret
metadata:
  name: api
  namespace: shop
stringData:
  token: ref+vault://shop/api#token
  url: https://user:<path:secret/data/shop/api#password>@api.example
`;

/** A fresh directory holding `files` (path → text) under `name`. */
function tree(name: string, files: Record<string, string>): string {
  const dir = join(root, name);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

const VALID = {
  "manifests/stores/secretstore.yaml": SECRET_STORE,
  "manifests/stores/clustersecretstore.yaml": CLUSTER_STORE,
  "manifests/apps/externalsecret.yaml": EXTERNAL_SECRET,
  "manifests/apps/app.yaml": DEPLOYMENT_AND_SECRET,
  // Not a Kubernetes object (a Helm values file, a patch): not refsync's to check.
  "manifests/apps/values.yaml": "replicas: 2\n",
};

void test("refsync validate: a valid tree exits 0 with a one-line summary", async () => {
  const dir = tree("valid", VALID);
  const run = await runRefsync(["validate", "manifests/"], { cwd: dir });
  assert.deepEqual(run, {
    code: 0,
    stdout: "3 objects valid (5 documents, 2 references)\n",
    stderr: "",
  });
  // Several paths, files among them.
  const two = await runRefsync(["validate", "manifests/apps/externalsecret.yaml", "manifests/stores"], {
    cwd: dir,
  });
  assert.deepEqual(two, { code: 0, stdout: "3 objects valid (3 documents, 0 references)\n", stderr: "" });
  // A pre-commit hook passes whatever YAML changed: a values file alone is nothing to check, not an error.
  assert.deepEqual(await runRefsync(["validate", "manifests/apps/values.yaml"], { cwd: dir }), {
    code: 0,
    stdout: "0 objects valid (0 documents, 0 references)\n",
    stderr: "",
  });
});

void test("refsync validate: a typo at any level is one line naming file, document, object and path", async () => {
  const dir = tree("typos", {
    ...VALID,
    "manifests/apps/externalsecret.yaml": EXTERNAL_SECRET.replace("property:", "proprety:"),
    "manifests/stores/secretstore.yaml": `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n---\n${SECRET_STORE.replace(
      "rateLimit:",
      "rateLimt:",
    ).replace("      data:", "      dat:")}`,
  });
  const run = await runRefsync(["validate", "manifests"], { cwd: dir });
  assert.equal(run.stdout, "");
  assert.equal(
    run.stderr,
    [
      "manifests/apps/externalsecret.yaml: document 0: ExternalSecret/shop/db: spec.data[0].remoteRef.proprety: unknown field",
      "manifests/stores/secretstore.yaml: document 1: SecretStore/shop/demo: spec.rateLimt: unknown field",
      "manifests/stores/secretstore.yaml: document 1: SecretStore/shop/demo: spec.provider.fake.dat: unknown field",
      "",
    ].join("\n"),
  );
  assert.equal(run.code, 1);
  assert.ok(!run.stderr.includes("hunter2"), "a value on stderr");
});

void test("refsync validate: external-secrets.io objects are converted and checked, each problem naming file, object and field", async () => {
  const eso = (text: string) =>
    text.replace("apiVersion: refsync.dev/v1alpha1", "apiVersion: external-secrets.io/v1");
  const valid = tree("eso-valid", {
    "eso/store.yaml": eso(SECRET_STORE.replace(/ {2}rateLimit:\n {4}qps: 5\n/, "")),
    "eso/es.yaml": eso(EXTERNAL_SECRET),
  });
  assert.deepEqual(await runRefsync(["validate", "eso"], { cwd: valid }), {
    code: 0,
    stdout: "2 objects valid (2 documents, 0 references)\n",
    stderr: "",
  });
  const invalid = tree("eso-invalid", {
    "eso/es.yaml": `${eso(EXTERNAL_SECRET).replace(
      "      remoteRef:",
      "      sourceRef: {generatorRef: {apiVersion: generators.external-secrets.io/v1alpha1, kind: Password, name: p}}\n      remoteRef:",
    )}---\n${eso(EXTERNAL_SECRET)
      .replace("name: db", "name: web")
      .replace("property:", "proprety:")}---\n${eso(EXTERNAL_SECRET)
      .replace("name: db", "name: windows")
      .replace(
        "  target:\n",
        "  syncWindows:\n    kind: allow\n    windows: [{schedule: '0 25 * * *', duration: 1h}]\n  target:\n",
      )}`,
  });
  const run = await runRefsync(["validate", "eso"], { cwd: invalid });
  assert.equal(run.stdout, "");
  assert.equal(
    run.stderr,
    [
      "eso/es.yaml: document 0: ExternalSecret/shop/db: spec.data[0].sourceRef.generatorRef: refsync does not implement this ESO field (ESO does not implement generators in data[] either)",
      "eso/es.yaml: document 1: ExternalSecret/shop/web: spec.data[0].remoteRef.proprety: refsync does not implement this ESO field",
      "eso/es.yaml: document 2: ExternalSecret/shop/windows: spec.syncWindows.windows[0].schedule: not a valid schedule: CronPattern: Invalid value for hour: 25",
      "",
    ].join("\n"),
  );
  assert.equal(run.code, 1);
});

void test("refsync validate: a malformed reference fails with its location", async () => {
  const dir = tree("bad-ref", {
    "manifests/app.yaml": DEPLOYMENT_AND_SECRET.replace("#token", "?verison=2#token"),
  });
  const run = await runRefsync(["validate", "manifests"], { cwd: dir });
  assert.deepEqual(run, {
    code: 1,
    stdout: "",
    stderr:
      'manifests/app.yaml: document 1: Secret/shop/api: stringData.token: offset 21: unknown parameter "verison" (expected store, version, decode)\n',
  });
});

void test("refsync validate -: reads stdin (kustomize build | refsync validate -)", async () => {
  const stream = `${EXTERNAL_SECRET}---\n${SECRET_STORE}`;
  assert.deepEqual(await runRefsync(["validate", "-"], { stdin: stream }), {
    code: 0,
    stdout: "2 objects valid (2 documents, 0 references)\n",
    stderr: "",
  });
  const typo = await runRefsync(["validate", "-"], {
    stdin: stream.replace("refreshInterval:", "refreshIntervl:"),
  });
  assert.deepEqual(typo, {
    code: 1,
    stdout: "",
    stderr: "stdin: document 0: ExternalSecret/shop/db: spec.refreshIntervl: unknown field\n",
  });
  // An empty stream is an upstream command that failed in a pipe, not a pass.
  assert.deepEqual(await runRefsync(["validate", "-"], { stdin: "" }), {
    code: 1,
    stdout: "",
    stderr: "stdin: no manifests found (empty input is an error)\n",
  });
});

void test("refsync validate: --help, and usage mistakes are one line with exit 2", async () => {
  const help = await runRefsync(["validate", "--help"]);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^usage: refsync validate \[path…\]/);
  const bad = await runRefsync(["validate", "--strict"]);
  assert.equal(bad.code, 2);
  assert.equal(bad.stdout, "");
  assert.match(bad.stderr, /^refsync validate: unknown flag --strict \(see refsync validate --help\)\n$/);
  const twice = await runRefsync(["validate", "-", "-"]);
  assert.deepEqual(twice, {
    code: 2,
    stdout: "",
    stderr: 'refsync validate: stdin ("-") can be read only once\n',
  });
  const missing = await runRefsync(["validate", join(root, "missing")]);
  assert.deepEqual(missing, {
    code: 1,
    stdout: "",
    stderr: `${join(root, "missing")}: no such file or directory\n`,
  });
  assert.match((await runRefsync(["help"])).stdout, /\n {2}validate +check refsync\.dev objects/);
});

void test("refsync generate: a pass-through ExternalSecret with a typo fails the render, nothing on stdout", async () => {
  const dir = tree("plugin", {
    "externalsecret.yaml": EXTERNAL_SECRET.replace("property:", "proprety:"),
    "secretstore.yaml": SECRET_STORE.replace("      data:", "      dat:"),
    "app.yaml": DEPLOYMENT_AND_SECRET.replace(/\n {2}url: .*\n/, "\n"),
  });
  const run = await runRefsync(["generate"], { cwd: dir });
  assert.deepEqual(run, {
    code: 1,
    stdout: "",
    stderr: [
      "externalsecret.yaml: document 0: ExternalSecret/shop/db: spec.data[0].remoteRef.proprety: unknown field",
      "secretstore.yaml: document 0: SecretStore/shop/demo: spec.provider.fake.dat: unknown field",
      "",
    ].join("\n"),
  });
  // Fixed, the same tree renders: the store and the ExternalSecret pass through.
  writeFileSync(join(dir, "externalsecret.yaml"), EXTERNAL_SECRET);
  writeFileSync(join(dir, "secretstore.yaml"), SECRET_STORE);
  const fixed = await runRefsync(["generate"], { cwd: dir });
  assert.equal(fixed.stderr, "");
  assert.equal(fixed.code, 0);
  assert.equal(fixed.stdout.match(/^kind: (ExternalSecret|SecretStore)$/gm)?.length, 3);
});

void test("the plugin checks the ExternalSecrets it generates too", async () => {
  let stdout = "";
  let stderr = "";
  const secret =
    "apiVersion: v1\nkind: Secret\nmetadata:\n  name: Api_Token\nstringData:\n  token: ref+vault://a#b\n";
  const code = await runRender(["-"], undefined, {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
    env: {},
    stdin: () => Promise.resolve(secret),
  });
  assert.equal(stdout, "");
  assert.match(
    stderr,
    /^stdin: document 0: ExternalSecret\/Api_Token: spec\.target\.name: must be a lowercase RFC 1123 subdomain/,
  );
  assert.equal(code, 1);
});
