/**
 * Every tested block of the docs is run, and runs.
 *
 * - Each `<!-- tested: FILE (NAME) -->` marker in README.md and docs/ names a
 *   test file that exists and reads that block (`docBlock("FILE", "NAME")`),
 *   and each marker is used once: a marked block no test runs fails here.
 * - The `sh` blocks marked `<!-- tested: test/docs/runnable.test.ts (NAME) -->`
 *   are run here, each once, as written: bash -euo pipefail from the
 *   repository's root, with the real kubectl and helm (test/argocd/tools.ts)
 *   and `refsync` (from source) on PATH, KUBECONFIG pointing at the test
 *   cluster with a fresh namespace as the current context's, and a refsync
 *   controller watching that namespace, as an installed one would.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { copyFile, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import { repoRoot } from "../../scripts/health-files.ts";
import { ensureTools, type Tools } from "../argocd/tools.ts";
import { startCluster, type Cluster } from "../cluster/index.ts";
import { startTestController } from "../controller/harness.ts";
import { installRefsync } from "../controller/walkthrough.ts";
import { allTestedBlocks } from "./markdown.ts";

const run = promisify(execFile);
const SELF = "test/docs/runnable.test.ts";
const blocks = allTestedBlocks();

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

void describe("tested blocks of README.md and docs/", () => {
  void test("every marker is unique and names a test that runs its block", () => {
    assert.ok(blocks.length > 0, "no tested block at all");
    const seen = new Map<string, string>();
    for (const b of blocks) {
      const where = `${b.page}:${b.line}`;
      const key = `${b.test} (${b.name})`;
      assert.ok(!seen.has(key), `${where}: marker ${key} also at ${seen.get(key)}`);
      seen.set(key, where);
      assert.ok(existsSync(path.join(repoRoot, b.test)), `${where}: ${b.test} does not exist`);
      if (b.test === SELF) {
        assert.equal(b.lang, "sh", `${where}: runnable blocks are sh blocks`);
        continue;
      }
      const source = readFileSync(path.join(repoRoot, b.test), "utf8");
      const call = new RegExp(`docBlock\\(\\s*"${escape(b.test)}",\\s*"${escape(b.name)}"\\s*\\)`);
      assert.match(source, call, `${where}: ${b.test} never reads the block (${b.name})`);
    }
  });
});

void describe("runnable blocks, run as written against the test cluster", () => {
  let cluster: Cluster;
  let tools: Tools;
  let bin: string;

  before(async () => {
    [cluster, tools] = await Promise.all([startCluster({ crds: true }), ensureTools()]);
    bin = await mkdtemp(path.join(tmpdir(), "refsync-docs-"));
    await installRefsync(bin);
  });
  after(async () => {
    if (bin) await rm(bin, { recursive: true, force: true });
    await cluster?.stop();
  });

  for (const block of blocks.filter((b) => b.test === SELF)) {
    void test(`${block.page}: ${block.name}`, async () => {
      const ns = await cluster.createNamespace(`docs-${block.name}`);
      const kubeconfig = path.join(bin, `kubeconfig-${ns}`);
      await copyFile(cluster.kubeconfigPath, kubeconfig);
      await run(tools.kubectl, ["config", "set-context", "--current", `--namespace=${ns}`], {
        env: { ...process.env, KUBECONFIG: kubeconfig },
      });
      const controller = await startTestController(cluster, { namespace: ns });
      try {
        await run("bash", ["-euo", "pipefail", "-c", block.text], {
          cwd: repoRoot,
          env: { ...process.env, PATH: `${bin}:${tools.binDir}:${process.env.PATH}`, KUBECONFIG: kubeconfig },
          maxBuffer: 16 << 20,
          timeout: 120_000,
        });
      } catch (err) {
        const e = err as { code?: number; stdout?: string; stderr?: string };
        assert.fail(
          `${block.page}:${block.line} (${block.name}) exited ${e.code}\n${block.text}\n--- stdout\n${e.stdout ?? ""}\n--- stderr\n${e.stderr ?? ""}`,
        );
      } finally {
        await controller.stop();
      }
    });
  }
});
