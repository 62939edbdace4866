/**
 * ESO's generators through the CLI, in real processes: the plugin renders
 * ESO's generator objects (shapes of ESO's docs/snippets/generator-fake.yaml,
 * generator-fake-example.yaml, generator-password.yaml and
 * generator-cluster.yaml) as generators.refsync.dev ones with each
 * generatorRef pointed at them; `refsync validate` checks refsync generator
 * objects field by field; `refsync convert --from eso` rewrites them in
 * place; a generator kind refsync lacks fails, naming it.
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { parseAllDocuments } from "yaml";
import { runRefsync } from "../cli-process.ts";

const root = mkdtempSync(join(tmpdir(), "refsync-eso-generators-"));
after(() => rmSync(root, { recursive: true, force: true }));
const config = join(root, "refsync.yaml");
writeFileSync(config, "modes: [deferred, inline]\n");

const ESO_GENERATORS = `apiVersion: generators.external-secrets.io/v1alpha1
kind: Fake
metadata:
  name: fake-key
spec:
  data:
    foo: bar
    baz: bang
---
apiVersion: generators.external-secrets.io/v1alpha1
kind: Password
metadata:
  name: my-password
spec:
  length: 42
  digits: 5
  symbols: 5
  symbolCharacters: "-_$@"
  noUpper: false
  allowRepeat: true
---
apiVersion: generators.external-secrets.io/v1alpha1
kind: ClusterGenerator
metadata:
  name: cluster-gen
spec:
  kind: UUID
  generator:
    uuidSpec: {}
---
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata:
  name: "fake"
spec:
  refreshInterval: "30m0s"
  target:
    name: fake
  dataFrom:
  - sourceRef:
      generatorRef:
        apiVersion: generators.external-secrets.io/v1alpha1
        kind: Fake
        name: "fake-key"
  - sourceRef:
      generatorRef:
        kind: ClusterGenerator
        name: cluster-gen
`;

function tree(name: string, files: Record<string, string>): string {
  const dir = join(root, name);
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(join(dir, file, ".."), { recursive: true });
    writeFileSync(join(dir, file), text);
  }
  return dir;
}

type Doc = { apiVersion: string; kind: string; metadata: { name: string }; spec: Record<string, unknown> };

void describe("ESO generators through the CLI", () => {
  void it("the plugin converts ESO's generators and generatorRefs", async () => {
    const dir = tree("render", { "app/gen.yaml": ESO_GENERATORS });
    const run = await runRefsync(["render", join(dir, "app"), "--config", config], { env: { HOME: root } });
    assert.equal(run.code, 0, run.stderr);
    const out = parseAllDocuments(run.stdout).map((d) => d.toJS() as Doc);
    assert.deepEqual(
      out.map((d) => `${d.apiVersion} ${d.kind}/${d.metadata.name}`),
      [
        "generators.refsync.dev/v1alpha1 Fake/fake-key",
        "generators.refsync.dev/v1alpha1 Password/my-password",
        "generators.refsync.dev/v1alpha1 ClusterGenerator/cluster-gen",
        "refsync.dev/v1alpha1 ExternalSecret/fake",
      ],
    );
    assert.deepEqual(out[3]?.spec.dataFrom, [
      {
        sourceRef: {
          generatorRef: { apiVersion: "generators.refsync.dev/v1alpha1", kind: "Fake", name: "fake-key" },
        },
      },
      {
        sourceRef: {
          generatorRef: {
            apiVersion: "generators.refsync.dev/v1alpha1",
            kind: "ClusterGenerator",
            name: "cluster-gen",
          },
        },
      },
    ]);
  });

  void it("a generator kind refsync lacks fails the render, naming it", async () => {
    const dir = tree("refused", {
      "app/ssh.yaml": `apiVersion: generators.external-secrets.io/v1alpha1
kind: SSHKey
metadata: {name: deploy}
spec: {keyType: ed25519}
---
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: cert}
spec:
  dataFrom:
    - sourceRef: {generatorRef: {kind: ECRAuthorizationToken, name: ecr}}
`,
    });
    const run = await runRefsync(["render", join(dir, "app"), "--config", config], { env: { HOME: root } });
    assert.equal(run.code, 1);
    assert.equal(run.stdout, "");
    assert.match(run.stderr, /SSHKey\/deploy: kind: refsync has no SSHKey generator yet/);
    assert.match(
      run.stderr,
      /ExternalSecret\/cert: spec\.dataFrom\[0\]\.sourceRef\.generatorRef\.kind: refsync has no ECRAuthorizationToken generator yet/,
    );
  });

  void it("refsync validate checks refsync generators field by field", async () => {
    const dir = tree("validate", {
      "gen.yaml": `apiVersion: generators.refsync.dev/v1alpha1
kind: Password
metadata: {name: ok}
spec: {length: 20}
---
apiVersion: generators.refsync.dev/v1alpha1
kind: Password
metadata: {name: typo}
spec: {lenght: 20}
---
apiVersion: generators.refsync.dev/v1alpha1
kind: Password
metadata: {name: short}
spec: {length: 4, digits: 3, symbols: 3}
---
apiVersion: generators.refsync.dev/v1alpha1
kind: ClusterGenerator
metadata: {name: mismatch}
spec: {kind: Password, generator: {uuidSpec: {}}}
`,
    });
    const run = await runRefsync(["validate", "gen.yaml"], { cwd: dir });
    assert.equal(run.code, 1);
    assert.equal(run.stdout, "");
    assert.equal(
      run.stderr,
      [
        "gen.yaml: document 1: Password/typo: spec.lenght: unknown field",
        "gen.yaml: document 2: Password/short: spec.digits: digits and symbols (6) exceed length (4)",
        "gen.yaml: document 3: ClusterGenerator/mismatch: spec.generator.passwordSpec: kind Password needs passwordSpec; spec.generator.uuidSpec: does not match kind Password",
        "",
      ].join("\n"),
    );
  });

  void it("refsync convert --from eso rewrites generators and references in place", async () => {
    const dir = tree("convert", { "gen.yaml": ESO_GENERATORS });
    const check = await runRefsync(["convert", "--from", "eso", "--check", "gen.yaml"], { cwd: dir });
    assert.equal(check.code, 1);
    const run = await runRefsync(["convert", "--from", "eso", "gen.yaml"], { cwd: dir });
    assert.equal(run.code, 0, run.stderr);
    const text = readFileSync(join(dir, "gen.yaml"), "utf8");
    assert.doesNotMatch(text, /apiVersion: [\w.]*external-secrets\.io/);
    assert.match(text, /apiVersion: generators\.refsync\.dev\/v1alpha1\n {8}kind: Fake/);
    assert.match(run.stdout + run.stderr, /generatorRef\.apiVersion/);
    const again = await runRefsync(["convert", "--from", "eso", "--check", "gen.yaml"], { cwd: dir });
    assert.equal(again.code, 0, again.stdout + again.stderr);
  });
});
