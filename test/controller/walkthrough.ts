/**
 * A documented migration walk-through run as written: a fresh namespace as
 * the current context's, a refsync controller watching it, a work directory,
 * and `sh(block)` running a doc block with bash -euo pipefail in that
 * directory, with the real kubectl and `refsync` (from source) on PATH;
 * the Secret as the tool migrated from left it; and the check that a
 * migration changed no byte and restarted nothing.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { chmod, copyFile, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import type { KubeClient } from "../../src/kube/client.ts";
import { resourceTypes, type ResourceType } from "../../src/kube/resources.ts";
import { repoRoot } from "../../scripts/health-files.ts";
import { ensureTools } from "../argocd/tools.ts";
import type { Cluster } from "../cluster/index.ts";
import { getExternalSecret, startTestController, type TestController } from "./harness.ts";

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

/** Writes `refsync` into `bin`, as the published bin runs it but from source (dist/ may be stale). */
export async function installRefsync(bin: string): Promise<void> {
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
}

const deployments: ResourceType = {
  group: "apps",
  version: "v1",
  plural: "deployments",
  kind: "Deployment",
  namespaced: true,
};

interface WorkloadState {
  generation: number | undefined;
  template: unknown;
}

/**
 * Secret `name` of the walk-through's namespace as the tool migrated from wrote it (with its field
 * manager): `data` (base64), and `metadata` beyond name and namespace.
 */
export async function applySecretAs(
  w: Walkthrough,
  fieldManager: string,
  name: string,
  secret: { metadata?: Record<string, unknown>; type?: string; data: Record<string, string> },
): Promise<void> {
  await w.ctl.kube.apply(
    resourceTypes.secret,
    { apiVersion: "v1", kind: "Secret", ...secret, metadata: { name, namespace: w.ns, ...secret.metadata } },
    { fieldManager, force: true },
  );
}

/** A Deployment's generation and pod template: what a restart changes. */
export async function deploymentState(kube: KubeClient, ns: string, name: string): Promise<WorkloadState> {
  const d = await kube.get<{ metadata: { generation?: number }; spec: { template: unknown } }>(
    deployments,
    ns,
    name,
  );
  assert.ok(d, `Deployment ${name}`);
  return { generation: d.metadata.generation, template: d.spec.template };
}

/**
 * A migration's outcome: ExternalSecret `name` synced, its Secret holding
 * exactly `data` (base64, as the API server holds it) and owned by it, and,
 * given every chance to restart, Deployment `workload` as it was.
 */
export async function assertAdoptedWithoutRestart(
  w: Walkthrough,
  name: string,
  data: Record<string, string>,
  workload: string,
  before: WorkloadState,
): Promise<void> {
  const es = await getExternalSecret(w.ctl.kube, w.ns, name);
  assert.equal(es?.apiVersion, "refsync.dev/v1alpha1");
  assert.equal(es?.status?.conditions?.find((c) => c.type === "Ready")?.reason, "SecretSynced");
  const secret = await w.ctl.kube.get<{
    metadata: { ownerReferences?: { apiVersion: string; uid: string }[] };
    data?: Record<string, string>;
  }>(resourceTypes.secret, w.ns, name);
  assert.deepEqual(secret?.data, data, "the Secret's data changed");
  assert.deepEqual(
    secret?.metadata.ownerReferences?.map((o) => [o.apiVersion, o.uid]),
    [["refsync.dev/v1alpha1", es?.metadata.uid]],
  );
  // A restart is a pod-template annotation: give it every chance to come, then compare.
  await sleep(2_000);
  const after = await deploymentState(w.ctl.kube, w.ns, workload);
  assert.equal(after.generation, before.generation, "the Deployment's generation changed");
  assert.deepEqual(after.template, before.template, "the pod template changed");
}

export async function startWalkthrough(cluster: Cluster, prefix: string): Promise<Walkthrough> {
  const tools = await ensureTools();
  const ns = await cluster.createNamespace(prefix);
  const dir = await mkdtemp(path.join(tmpdir(), `refsync-${prefix}-`));
  const bin = path.join(dir, ".bin");
  await mkdir(bin);
  await installRefsync(bin);
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
