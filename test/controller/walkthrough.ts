/**
 * A documented migration walk-through run as written: a fresh namespace as
 * the current context's, a refsync controller watching it, a work directory,
 * and `sh(block)` running a doc block with bash -euo pipefail in that
 * directory, with the real kubectl and `refsync` (from source) on PATH.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { chmod, copyFile, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { repoRoot } from "../../scripts/health-files.ts";
import { ensureTools } from "../argocd/tools.ts";
import type { Cluster } from "../cluster/index.ts";
import { startTestController, type TestController } from "./harness.ts";

const run = promisify(execFile);

export interface Walkthrough {
  ns: string;
  ctl: TestController;
  /** The work directory the blocks run in. */
  dir: string;
  /** Runs `args` with the real kubectl, in the namespace. */
  kubectl(args: string[]): Promise<string>;
  /** Runs a shell block as written; a failure shows its output. */
  sh(block: string): Promise<void>;
  stop(): Promise<void>;
}

export async function startWalkthrough(cluster: Cluster, prefix: string): Promise<Walkthrough> {
  const tools = await ensureTools();
  const ns = await cluster.createNamespace(prefix);
  const dir = await mkdtemp(path.join(tmpdir(), `refsync-${prefix}-`));
  const bin = path.join(dir, ".bin");
  await run("mkdir", [bin]);
  // `refsync` as the published bin runs it, but from source (dist/ may be stale).
  const main = path.join(repoRoot, "src", "cli", "main.ts");
  await writeFile(
    path.join(bin, "refsync.mjs"),
    `import { main } from ${JSON.stringify(main)};\nprocess.exitCode = await main(process.argv.slice(2));\n`,
  );
  await writeFile(
    path.join(bin, "refsync"),
    `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(path.join(bin, "refsync.mjs"))} "$@"\n`,
  );
  await chmod(path.join(bin, "refsync"), 0o755);
  const kubeconfig = path.join(bin, "kubeconfig");
  await copyFile(cluster.kubeconfigPath, kubeconfig);
  const env = { ...process.env, PATH: `${bin}:${tools.binDir}:${process.env.PATH}`, KUBECONFIG: kubeconfig };
  await run(tools.kubectl, ["config", "set-context", "--current", `--namespace=${ns}`], { env });
  const ctl = await startTestController(cluster, { namespace: ns });
  return {
    ns,
    ctl,
    dir,
    kubectl: async (args) => (await run(tools.kubectl, args, { env, cwd: dir })).stdout,
    async sh(block) {
      try {
        await run("bash", ["-euo", "pipefail", "-c", block], { cwd: dir, env, timeout: 120_000 });
      } catch (err) {
        const e = err as { code?: number; stdout?: string; stderr?: string };
        assert.fail(
          `${block}\nexited ${e.code}\n--- stdout\n${e.stdout ?? ""}\n--- stderr\n${e.stderr ?? ""}`,
        );
      }
    },
    async stop() {
      await ctl.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
