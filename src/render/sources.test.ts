import assert from "node:assert/strict";
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { parseStream, readSources } from "./sources.ts";

void test("parseStream skips empty documents and names bad ones", () => {
  const result = parseStream(
    "---\n# nothing\n---\napiVersion: v1\nkind: ConfigMap\n---\n- a list\n---\nkind: [\n",
    "f.yaml",
  );
  assert.deepEqual(
    result.documents.map((d) => d.index),
    [1],
  );
  assert.equal(result.errors[0], "f.yaml: document 2: not a Kubernetes object (needs apiVersion and kind)");
  assert.match(result.errors[1] ?? "", /^f\.yaml: document 3: invalid YAML: /);
});

void test("quoted references are recorded for inline typing", () => {
  const [doc] = parseStream(
    "apiVersion: v1\nkind: X\na:\n  - b: 'ref+fake://x'\n    c: ref+fake://y\n",
    "f",
    { trackQuotes: true },
  ).documents;
  assert.deepEqual([...(doc?.quoted ?? [])], ["a[0].b"]);
});

void test("a chart or kustomization without its tool on PATH is a clear error", async () => {
  const path = process.env.PATH;
  const dir = await mkdtemp(join(tmpdir(), "refsync-sources-"));
  try {
    process.env.PATH = "";
    await writeFile(join(dir, "Chart.yaml"), "name: x\n");
    assert.deepEqual(await readSources(dir), {
      documents: [],
      errors: [
        `${dir}: Chart.yaml found, but helm is not on PATH (pipe \`helm template\` into \`refsync generate -\`)`,
      ],
    });
    await writeFile(join(dir, "kustomization.yaml"), "resources: []\n");
    assert.deepEqual((await readSources(dir)).errors, [
      `${dir}: kustomization.yaml found, but neither kustomize nor kubectl is on PATH`,
    ]);
    assert.deepEqual((await readSources(join(dir, "missing"))).errors, [
      `${join(dir, "missing")}: no such file or directory`,
    ]);
  } finally {
    process.env.PATH = path;
  }
});

void test("a chart is rendered by `helm template <release> . --namespace <ns>` run in the chart", async () => {
  // A stand-in helm on PATH that records its arguments and prints one object.
  const bin = await mkdtemp(join(tmpdir(), "refsync-helm-"));
  const chart = await mkdtemp(join(tmpdir(), "refsync-chart-"));
  await writeFile(join(chart, "Chart.yaml"), "name: x\n");
  await writeFile(
    join(bin, "helm"),
    `#!/bin/sh\necho "$PWD $*" > "${bin}/args"\nprintf 'apiVersion: v1\\nkind: ConfigMap\\nmetadata: {name: c}\\n'\n`,
    { mode: 0o755 },
  );
  const path = process.env.PATH;
  try {
    process.env.PATH = `${bin}:${path ?? ""}`;
    const result = await readSources(chart, { release: { name: "shop", namespace: "prod" } });
    assert.deepEqual(result.errors, []);
    assert.deepEqual(
      result.documents.map((d) => [d.file, (d.value as { kind: string }).kind]),
      [["helm template", "ConfigMap"]],
    );
    assert.equal(
      (await readFile(join(bin, "args"), "utf8")).trim(),
      `${chart} template shop . --namespace prod`,
    );
  } finally {
    process.env.PATH = path;
  }
});
