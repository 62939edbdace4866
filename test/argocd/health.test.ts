/**
 * The Argo CD health checks and the refresh action, run in a real Lua 5.1
 * interpreter under Argo CD's sandbox, against the test data in Argo CD's own
 * layout (plugin/health/<group>/<Kind>/health_test.yaml + testdata/).
 */
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { describe, it } from "node:test";
import fc from "fast-check";
import { parse } from "yaml";
import { generatedFiles, healthKinds, healthRoot } from "../../scripts/health-files.ts";
import { runArgoLua } from "./lua.ts";

interface HealthTest {
  healthStatus: { status: string; message: string };
  inputPath: string;
}

async function readYaml(file: string): Promise<unknown> {
  return parse(await readFile(file, "utf8")) as unknown;
}

void describe("Argo CD health checks (Lua 5.1)", () => {
  void it("generated scripts and the argocd-cm patch are up to date", async () => {
    for (const { file, content } of await generatedFiles()) {
      const actual = await readFile(file, "utf8");
      assert.equal(actual, content, `${file} is stale: run node scripts/health-files.ts --write`);
    }
  });

  for (const { kind } of healthKinds) {
    const dir = path.join(healthRoot, kind);
    void it(`${kind}: every case of health_test.yaml`, async () => {
      const { tests } = (await readYaml(path.join(dir, "health_test.yaml"))) as { tests: HealthTest[] };
      assert.ok(tests.length >= 5, "each kind covers healthy, first sync, spec changed, degraded, transient");
      for (const test of tests) {
        const object = await readYaml(path.join(dir, test.inputPath));
        const result = await runArgoLua(path.join(dir, "health.lua"), object);
        assert.deepEqual(result, test.healthStatus, `${kind} ${test.inputPath}`);
      }
    });

    void it(`${kind}: uses only what Argo CD's Lua sandbox offers`, async () => {
      const script = await readFile(path.join(dir, "health.lua"), "utf8");
      const code = script.replace(/--[^\n]*/g, "");
      assert.doesNotMatch(code, /\b(string|io|math|debug|coroutine|package|load|loadstring|dofile)\b/);
      assert.doesNotMatch(code, /:\s*[a-z]+\(/, "no string methods: gopher-lua has no string library here");
    });
  }

  void it("Healthy only when Ready=True and observedGeneration == generation (any conditions)", async () => {
    const script = path.join(healthRoot, "ExternalSecret", "health.lua");
    const condition = fc.record({
      type: fc.constantFrom("Ready", "Stalled", "Reconciling"),
      status: fc.constantFrom("True", "False", "Unknown"),
      reason: fc.constantFrom(
        "SecretSynced",
        "SecretSyncError",
        "NotFound",
        "AccessDenied",
        "InvalidSpec",
        "",
      ),
      message: fc.string({ maxLength: 20 }),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 5 }),
        fc.option(fc.integer({ min: 1, max: 5 }), { nil: undefined }),
        fc.array(condition, { maxLength: 3 }),
        async (generation, observedGeneration, conditions) => {
          const object = {
            metadata: { name: "db", namespace: "a", generation },
            status: { observedGeneration, conditions },
          };
          const result = (await runArgoLua(script, object)) as { status: string; message: string };
          assert.ok(["Healthy", "Progressing", "Degraded"].includes(result.status));
          const ready = conditions.find((c) => c.type === "Ready");
          const stalled = conditions.find((c) => c.type === "Stalled")?.status === "True";
          const current = observedGeneration === generation;
          assert.equal(result.status === "Healthy", ready?.status === "True" && current && !stalled);
          if (!current) assert.equal(result.status, "Progressing");
        },
      ),
      { numRuns: 60 },
    );
  });

  void it("the sandbox is as strict as Argo CD's: string methods and io fail", async () => {
    const probe = path.join(import.meta.dirname, "lua", "probes");
    await assert.rejects(
      runArgoLua(path.join(probe, "string-method.lua"), {}),
      /attempt to call method 'upper'/,
    );
    await assert.rejects(runArgoLua(path.join(probe, "io.lua"), {}), /attempt to index global 'io'/);
    await assert.rejects(runArgoLua(path.join(probe, "endless.lua"), {}), /time budget/);
  });
});

void describe("Argo CD resource action: refresh", () => {
  const dir = path.join(healthRoot, "ExternalSecret", "actions");

  void it("discovery offers refresh", async () => {
    const actions = await runArgoLua(
      path.join(dir, "discovery.lua"),
      await readYaml(path.join(dir, "testdata", "external-secret.yaml")),
    );
    assert.deepEqual(actions, { refresh: { disabled: false, iconClass: "fa fa-fw fa-sync" } });
  });

  void it("every case of action_test.yaml: sets refsync.dev/force-sync to the current UTC time", async () => {
    const { actionTests } = (await readYaml(path.join(dir, "action_test.yaml"))) as {
      actionTests: { action: string; inputPath: string; expectedOutputPath: string }[];
    };
    for (const test of actionTests) {
      const before = Date.now();
      const output = (await runArgoLua(
        path.join(dir, test.action, "action.lua"),
        await readYaml(path.join(dir, test.inputPath)),
      )) as { metadata: { annotations: Record<string, string> } };
      const stamp = output.metadata.annotations["refsync.dev/force-sync"] ?? "";
      assert.match(stamp, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
      // Between the start of the run (to the second: the stamp has no fraction) and its end, however
      // long a loaded machine takes.
      const ended = Date.now();
      assert.ok(
        Date.parse(stamp) >= Math.floor(before / 1000) * 1000 && Date.parse(stamp) <= ended,
        `${stamp} is the current time (${new Date(before).toISOString()} to ${new Date(ended).toISOString()})`,
      );
      const expected = (await readYaml(path.join(dir, test.expectedOutputPath))) as typeof output;
      expected.metadata.annotations["refsync.dev/force-sync"] = stamp;
      assert.deepEqual(output, expected);
    }
  });
});
