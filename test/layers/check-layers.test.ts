// The layering checker (scripts/check-layers.ts) must catch what it exists
// to catch: an upward import, a cycle (also one made only of type imports),
// a source file outside every layer; and must let a clean tree through.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import path from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import { checkLayers, LAYERS, layerOf } from "../../scripts/check-layers.ts";

const root = path.resolve(import.meta.dirname, "../..");
const fixtures = path.join(root, "test/fixtures/layers");

void test("a tree whose imports flow down, siblings included, passes", async () => {
  assert.deepEqual(await checkLayers(path.join(fixtures, "clean")), []);
});

void test("upward imports, cycles (type-only too) and unlayered files are each one line", async () => {
  const lines = await checkLayers(path.join(fixtures, "bad"));
  assert.deepEqual([...lines].sort(), [
    "cycle (2 files): src/controller/manager.ts → src/store/cache.ts → src/controller/manager.ts",
    "cycle (2 files): src/refs/a.ts → src/refs/b.ts → src/refs/a.ts",
    "unlayered: src/misc/extra.ts is in no layer; add it to LAYERS in scripts/check-layers.ts",
    "upward import (type-only): src/api/types.ts [api, errors, log] imports src/providers/types.ts [providers]",
    "upward import (type-only): src/store/cache.ts [store] imports src/controller/manager.ts [render, git, controller]",
  ]);
});

void test("the layers are design.md's order, and a file is in one layer at most", () => {
  assert.deepEqual(
    LAYERS.map((l) => l.name),
    [
      "api, errors, log",
      "refs, kube, template",
      "providers",
      "store",
      "render, git, controller",
      "server",
      "cli",
    ],
  );
  assert.equal(layerOf("src/errors.ts"), 0);
  assert.equal(layerOf("src/errors.test.ts"), -1, "a file entry matches that file only");
  assert.equal(layerOf("src/kube/informer.ts"), 1);
  assert.equal(layerOf("src/controller/kube/client.ts"), 4);
  assert.equal(layerOf("src/cli/main.ts"), 6);
  assert.equal(layerOf("src/clix/main.ts"), -1, "a folder entry matches inside that folder only");
});

void test("the script prints the violations and exits non-zero; exits 0 on a clean tree", async () => {
  const script = path.join(root, "scripts/check-layers.ts");
  const bad = await promisify(execFile)(process.execPath, [script, path.join(fixtures, "bad")]).then(
    () => assert.fail("exited 0 on a tree with violations"),
    (e: { code: number; stderr: string }) => e,
  );
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /^upward import \(type-only\): src\/api\/types\.ts /m);
  assert.match(bad.stderr, /^layers: 5 violation\(s\)/m);
  const clean = await promisify(execFile)(process.execPath, [script, path.join(fixtures, "clean")]);
  assert.match(clean.stdout, /^layers: ok/);
});
