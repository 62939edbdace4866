/**
 * Golden tests of the plugin: each test/fixtures/render/<case>/ holds
 * input/ (or stdin.yaml), optional refsync.yaml and case.yaml (args, env,
 * stdin), and either expected.yaml (the exact stdout) or expected-error.txt
 * (the exact stderr, with nothing on stdout). UPDATE_GOLDEN=1 rewrites the
 * expectations; review the diff before committing it.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { parse as parseYaml, parseAllDocuments } from "yaml";
import { runRender } from "../../src/cli/render.ts";
import { runRefsync, type RefsyncRun } from "../cli-process.ts";

const root = join(import.meta.dirname, "..", "fixtures", "render");
const repo = join(import.meta.dirname, "..", "..");
const update = process.env.UPDATE_GOLDEN === "1";

interface CaseSpec {
  args?: string[];
  env?: Record<string, string>;
  stdin?: string;
}

async function runCase(
  dir: string,
  stdinText?: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const spec: CaseSpec = existsSync(join(dir, "case.yaml"))
    ? (parseYaml(readFileSync(join(dir, "case.yaml"), "utf8")) as CaseSpec)
    : {};
  const args = [...(spec.args ?? [])];
  if (existsSync(join(dir, "refsync.yaml"))) args.push("--config", join(dir, "refsync.yaml"));
  const stdin =
    stdinText ?? (spec.stdin === undefined ? undefined : readFileSync(join(dir, spec.stdin), "utf8"));
  args.push(stdin === undefined ? join(dir, "input") : "-");
  let stdout = "";
  let stderr = "";
  const code = await runRender(args, undefined, {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
    // Only the case's environment: the developer's ARGOCD_* must not leak in.
    env: { PATH: process.env.PATH, ...spec.env },
    stdin: () => Promise.resolve(stdin ?? ""),
  });
  // Messages name the input path; make them independent of where the repository lives.
  return { code, stdout, stderr: stderr.replaceAll(dir, "<case>") };
}

/** Every string a case's fake stores hold: none may ever appear on stderr. */
function storedValues(dir: string): string[] {
  if (!existsSync(join(dir, "refsync.yaml"))) return [];
  const values: string[] = [];
  const collect = (v: unknown): void => {
    if (typeof v === "string" || typeof v === "number") values.push(String(v));
    else if (v && typeof v === "object") Object.values(v).forEach(collect);
  };
  const config = parseYaml(readFileSync(join(dir, "refsync.yaml"), "utf8")) as {
    stores: Record<string, { provider: { fake?: { data: { value?: string; valueMap?: unknown }[] } } }>;
  };
  for (const store of Object.values(config.stores)) {
    for (const entry of store.provider.fake?.data ?? []) collect(entry.valueMap ?? entry.value);
  }
  return values.filter((v) => v.length >= 6);
}

const cases = readdirSync(root, { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name)
  .sort();

for (const name of cases) {
  void test(`render ${name}`, async () => {
    const dir = join(root, name);
    const first = await runCase(dir);
    const expectedOut = join(dir, "expected.yaml");
    const expectedErr = join(dir, "expected-error.txt");
    if (update) {
      rmSync(expectedOut, { force: true });
      rmSync(expectedErr, { force: true });
      if (first.code === 0) writeFileSync(expectedOut, first.stdout);
      else writeFileSync(expectedErr, first.stderr);
    }
    if (existsSync(expectedOut)) {
      assert.equal(first.stderr, "");
      assert.equal(first.code, 0);
      assert.equal(first.stdout, readFileSync(expectedOut, "utf8"));
    } else {
      assert.equal(first.stdout, "", "nothing on stdout when rendering fails");
      assert.equal(first.code, 1);
      assert.equal(first.stderr, readFileSync(expectedErr, "utf8"));
      assert.doesNotMatch(first.stderr, /usage:/);
    }
    const second = await runCase(dir);
    assert.deepEqual(second, first, "the same input renders byte-identical output");
    for (const value of storedValues(dir)) {
      assert.ok(!first.stderr.includes(value), `a stored value appeared on stderr in ${name}`);
    }
  });
}

/** kubectl's built-in kustomize (Debian: kubernetes-client; this machine kind ships one). */
function kustomize(dir: string): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile("kubectl", ["kustomize", dir], (err, stdout) =>
      err
        ? reject(new Error(`kubectl kustomize failed (is kubectl installed?): ${err.message}`))
        : resolve(stdout),
    ),
  );
}

const documents = (text: string) => parseAllDocuments(text).map((d) => d.toJS() as unknown);

void test("`kubectl kustomize | refsync generate -` and a kustomization directory render the same objects", async () => {
  const dir = join(root, "kustomize-stdin");
  const expected = documents(readFileSync(join(dir, "expected.yaml"), "utf8"));
  const piped = await runCase(dir, await kustomize(join(dir, "source")));
  assert.equal(piped.code, 0, piped.stderr);
  assert.deepEqual(documents(piped.stdout), expected);
  let stdout = "";
  const code = await runRender([join(dir, "source")], undefined, {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => assert.fail(s) },
    env: { PATH: process.env.PATH },
  });
  assert.equal(code, 0);
  assert.deepEqual(documents(stdout), expected);
});

function cli(args: string[], stdin: string, env: Record<string, string> = {}): Promise<RefsyncRun> {
  return runRefsync(args, { cwd: repo, env, stdin });
}

void test("`echo $MANIFESTS | refsync generate -` in a real process: output on success, errors only on failure", async () => {
  const good = readFileSync(join(root, "stringdata-deferred", "input", "secret.yaml"), "utf8");
  const ok = await cli(["generate", "-"], good);
  assert.equal(ok.stderr, "");
  assert.equal(ok.code, 0);
  assert.equal(ok.stdout, readFileSync(join(root, "stringdata-deferred", "expected.yaml"), "utf8"));

  const bad = await cli(
    ["generate", "-"],
    "apiVersion: v1\nkind: Secret\nmetadata: {name: x}\nstringData: {a: ref+vault://}\n",
  );
  assert.equal(bad.code, 1);
  assert.equal(bad.stdout, "");
  assert.equal(bad.stderr, "stdin: document 0: Secret/x: stringData.a: offset 12: empty path\n");

  const empty = await cli(["generate", "-"], "");
  assert.equal(empty.code, 1);
  assert.equal(empty.stdout, "");
  assert.equal(empty.stderr, "stdin: no manifests found (empty input is an error)\n");
});

void test("ARGOCD_ENV_REFSYNC_MODE cannot enable a mode the configuration does not allow", async () => {
  const inline = await cli(["generate", "-"], "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n", {
    ARGOCD_ENV_REFSYNC_MODE: "inline",
    // A tenant's attempt to point the plugin at its own configuration is ignored.
    ARGOCD_ENV_REFSYNC_CONFIG: join(root, "inline-values", "refsync.yaml"),
  });
  assert.equal(inline.code, 1);
  assert.equal(inline.stdout, "");
  assert.equal(
    inline.stderr,
    "refsync: inline mode is not allowed by the plugin configuration (modes: deferred)\n",
  );
});

void test("inline through stdin in a real process, configured the way the sidecar is", async () => {
  const dir = join(root, "inline-values");
  const manifests =
    "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {url: 'db://ref+fake://team-a/db#username+@h'}\n";
  const env = {
    REFSYNC_CONFIG: join(dir, "refsync.yaml"),
    ARGOCD_ENV_REFSYNC_MODE: "inline",
    ARGOCD_APP_NAMESPACE: "team-a",
  };
  const ok = await cli(["generate", "-"], manifests, { ...env, ARGOCD_APP_PROJECT_NAME: "team-a" });
  assert.equal(ok.stderr, "");
  assert.equal(ok.code, 0);
  assert.match(ok.stdout, /\n {2}url: db:\/\/app@h\n/);
  const denied = await cli(["generate", "-"], manifests, { ...env, ARGOCD_APP_PROJECT_NAME: "team-b" });
  assert.equal(denied.code, 1);
  assert.equal(denied.stdout, "");
  assert.equal(
    denied.stderr,
    'stdin: document 0: ConfigMap/c: data.url: policy denies project "team-b" (namespace "team-a") reading store "demo" path "team-a/db"\n',
  );
});
