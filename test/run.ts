// The project's test runner: the last step of `npm test`.
//
//   node test/run.ts [--soak] [--test-* options for node --test] [file, directory or glob ...]
//
// 1. installs the Debian packages of test/system-packages.txt that are missing;
// 2. makes sure kube-apiserver is built (test/cluster/ensure-apiserver.sh; once per machine);
// 3. starts ONE cluster for the whole run and hands it to the test files (REFSYNC_TEST_CLUSTER);
// 4. runs `node --test` over src/**/*.test.ts and test/**/*.test.ts (*.soak.test.ts only with --soak);
// 5. stops the cluster and fails the run if any process started during it is still alive.
import { spawn, execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { globSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { dirname, join, relative } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import {
  SHARED_CLUSTER_ENV,
  ensureApiserverBinary,
  startCluster,
  type ClusterConnection,
} from "./cluster/index.ts";
import { RUN_ID_ENV, describeProcesses, findMarkedProcesses } from "./cluster/processes.ts";

const root = join(import.meta.dirname, "..");
const say = (message: string): void => console.log(`[test] ${message}`);
const seconds = (since: number): string => `${((performance.now() - since) / 1000).toFixed(1)}s`;

const args = process.argv.slice(2);
const soak = args.includes("--soak");
const nodeTestOptions = args.filter((a) => a.startsWith("--test-"));
const filters = args.filter((a) => !a.startsWith("--"));
const concurrency = Number(process.env.REFSYNC_TEST_CONCURRENCY ?? Math.max(2, availableParallelism() * 2));
const timeoutMs = Number(process.env.REFSYNC_TEST_TIMEOUT_MS ?? (soak ? 30 * 60_000 : 120_000));

/** Test files matching the filters (default: every suite), soak suites only with --soak or by name. */
function testFiles(): string[] {
  const patterns = filters.length
    ? filters.map((f) => (isDirectory(f) ? `${relative(root, f) || "."}/**/*.test.ts` : relative(root, f)))
    : ["src/**/*.test.ts", "test/**/*.test.ts"];
  const files = globSync(patterns, {
    cwd: root,
    exclude: (f) => f === "node_modules" || f.endsWith("/node_modules"),
  });
  const named = new Set(filters.map((f) => relative(root, f)));
  return [...new Set(files)]
    .filter((f) => f.endsWith(".ts") && (soak || named.has(f) || !f.endsWith(".soak.test.ts")))
    .sort();
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** Installs the missing Debian packages (test/cluster/apt-install.sh; its progress goes to stderr). */
function installSystemPackages(packages: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const script = join(root, "test/cluster/apt-install.sh");
    execFile("bash", [script, ...packages], (err) =>
      err ? reject(new Error(`${script} failed: ${err.message}`)) : resolve(),
    ).stderr?.pipe(process.stderr);
  });
}

function systemPackages(): string[] {
  return readFileSync(join(root, "test/system-packages.txt"), "utf8")
    .split("\n")
    .map((line) => line.replace(/#.*/, "").trim())
    .filter(Boolean);
}

function runNodeTest(files: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const child = spawn(
    process.execPath,
    [
      "--test",
      "--test-reporter=spec",
      `--test-concurrency=${concurrency}`,
      `--test-timeout=${timeoutMs}`,
      // Not --test-force-exit: with concurrency it silently drops verdicts of a file's last tests
      // (nodejs/node#64833; one run here reported 25 fewer tests, exit 0), so a failure could pass.
      ...nodeTestOptions,
      ...files,
    ],
    { cwd: root, stdio: "inherit", env },
  );
  // Ctrl-C reaches the child through the terminal's process group; a plain SIGTERM is forwarded.
  const forward = (): void => void child.kill("SIGTERM");
  process.on("SIGTERM", forward);
  process.on("SIGINT", () => undefined); // let the child finish its report; we clean up after it
  return new Promise((resolve) =>
    child.on("exit", (code, signal) => {
      process.removeListener("SIGTERM", forward);
      resolve(code ?? (signal ? 1 : 0));
    }),
  );
}

/** Processes of this run still alive after a grace period (servers may take a moment to exit). */
async function leftovers(runId: string): Promise<number[]> {
  for (let i = 0; i < 30; i++) {
    const pids = findMarkedProcesses(runId);
    if (pids.length === 0) return [];
    await sleep(100);
  }
  return findMarkedProcesses(runId);
}

async function main(): Promise<number> {
  const files = testFiles();
  if (files.length === 0) {
    say(filters.length ? `no test files match ${filters.join(" ")}` : "no test files");
    return filters.length ? 1 : 0;
  }

  let t = performance.now();
  await installSystemPackages(systemPackages());
  say("kube-apiserver: using the cached build, or building it from Debian's source now (once per machine)");
  process.env.REFSYNC_KUBE_APISERVER = await ensureApiserverBinary(); // test files skip the check
  say(`system packages and kube-apiserver ready in ${seconds(t)}`);

  const runId = randomBytes(8).toString("hex");
  process.env[RUN_ID_ENV] = runId; // every process started from here on carries it
  t = performance.now();
  const cluster = await startCluster({ crds: true, private: true });
  let code = 1;
  try {
    const connectionPath = join(dirname(cluster.kubeconfigPath), "connection.json");
    const connection: ClusterConnection = {
      server: cluster.server,
      caData: cluster.caData,
      tokens: cluster.tokens,
      clientCertificate: cluster.clientCertificate,
      kubeconfigPath: cluster.kubeconfigPath,
    };
    writeFileSync(connectionPath, JSON.stringify(connection), { mode: 0o600 });
    say(`shared cluster ${cluster.server} ready in ${seconds(t)} (kubeconfig ${cluster.kubeconfigPath})`);
    say(
      `running ${files.length} test files, concurrency ${concurrency}, per-test timeout ${timeoutMs / 1000}s`,
    );
    t = performance.now();
    code = await runNodeTest(files, { ...process.env, [SHARED_CLUSTER_ENV]: connectionPath });
    say(`tests finished in ${seconds(t)} (exit code ${code})`);
  } finally {
    await cluster.stop();
  }

  const left = await leftovers(runId);
  if (left.length > 0) {
    console.error(
      `[test] FAIL: ${left.length} process(es) of this test run still running:\n${describeProcesses(left)}`,
    );
    for (const pid of left) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
    return 1;
  }
  say("no process of the test run is left");
  return code;
}

process.exitCode = await main().catch((err: unknown) => {
  console.error(`[test] ${err instanceof Error ? err.message : String(err)}`);
  return 1;
});
