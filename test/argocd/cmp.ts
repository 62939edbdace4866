/**
 * Runs plugin/plugin.yaml the way argocd-cmp-server does, so the tests see what Argo CD
 * would: the repository is copied (as the repo-server's tarball: no .git, no file modes),
 * every command runs in the Application's source path with the sidecar's environment plus
 * Argo CD's build environment, the Application's plugin env prefixed ARGOCD_ENV_, and its
 * parameters as ARGOCD_APP_PARAMETERS (JSON) and PARAM_<NAME>[_<i>|_<KEY>]. `discover`
 * matches when the find command exits 0 with output; `init` then `generate` run for
 * manifests; generate's stdout is split into the manifests Argo CD applies, and a failure
 * becomes the comparison error Argo CD shows ("`<command>` failed exit status N: <stderr>").
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { chmod, cp, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { parseAllDocuments } from "yaml";
import { ensureTools } from "./tools.ts";

const run = promisify(execFile);
export const repoRoot = path.resolve(import.meta.dirname, "..", "..");

interface Command {
  command: string[];
  args?: string[];
}
interface PluginConfig {
  metadata: { name: string };
  spec: { init?: Command; generate: Command; discover: { find: Command } };
}

/** An Application's plugin parameter, as in spec.source.plugin.parameters. */
export type Parameter = { name: string } & (
  | { string: string }
  | { array: string[] }
  | { map: Record<string, string> }
);

export interface AppSource {
  /** A Git work tree (the test makes a real repository). */
  repo: string;
  /** spec.source.path, relative to the repository root. */
  path: string;
  name?: string;
  namespace?: string;
  project?: string;
  targetRevision?: string;
  /** spec.source.plugin.env (names without the ARGOCD_ENV_ prefix). */
  env?: Record<string, string>;
  parameters?: Parameter[];
  /** The sidecar's own environment additions (REFSYNC_CONFIG, as the operator mounts it). */
  sidecarEnv?: Record<string, string>;
}

export interface CommandResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  /** What Argo CD shows as the comparison error, when the command failed. */
  error?: string;
}

export interface GenerateResult extends CommandResult {
  manifests: Record<string, unknown>[];
}

async function loadPlugin(): Promise<PluginConfig> {
  const docs = parseAllDocuments(await readFile(path.join(repoRoot, "plugin", "plugin.yaml"), "utf8"));
  return docs[0]?.toJS() as PluginConfig;
}

/** PARAM_ names as Argo CD escapes them: upper case, anything but A-Z0-9_ becomes _. */
const escaped = (name: string) => name.toUpperCase().replace(/[^A-Z0-9_]/g, "_");

export function parameterEnv(parameters: Parameter[]): Record<string, string> {
  const env: Record<string, string> = { ARGOCD_APP_PARAMETERS: JSON.stringify(parameters) };
  for (const p of parameters) {
    const base = `PARAM_${escaped(p.name)}`;
    if ("string" in p) env[base] = p.string;
    if ("array" in p) p.array.forEach((v, i) => (env[`${base}_${i}`] = v));
    if ("map" in p) for (const [k, v] of Object.entries(p.map)) env[`${base}_${escaped(k)}`] = v;
  }
  return env;
}

export class CmpHarness {
  readonly #plugin: PluginConfig;
  readonly #bin: string;
  readonly #home: string;
  readonly #toolsDir: string;

  private constructor(plugin: PluginConfig, bin: string, home: string, toolsDir: string) {
    this.#plugin = plugin;
    this.#bin = bin;
    this.#home = home;
    this.#toolsDir = toolsDir;
  }

  /** Needs the built CLI (`npm run build`, which `npm test` runs first). */
  static async start(): Promise<CmpHarness> {
    if (!existsSync(path.join(repoRoot, "dist", "cli", "main.js"))) {
      throw new Error("the CMP harness runs the built CLI: run `npm run build` first (npm test does)");
    }
    const [plugin, tools] = await Promise.all([loadPlugin(), ensureTools()]);
    const home = await mkdtemp(path.join(tmpdir(), "refsync-cmp-"));
    const bin = path.join(home, "bin");
    await mkdir(bin);
    // The image's /usr/local/bin/refsync → bin/refsync.js, and refsync-generate (plugin.yaml's).
    await symlink(path.join(repoRoot, "bin", "refsync.js"), path.join(bin, "refsync"));
    await symlink(path.join(repoRoot, "bin", "refsync-generate"), path.join(bin, "refsync-generate"));
    return new CmpHarness(plugin, bin, home, tools.binDir);
  }

  async stop(): Promise<void> {
    await rm(this.#home, { recursive: true, force: true });
  }

  /**
   * Files the last run left in its TMPDIR (the sidecar's /tmp outlives every run), but for
   * node-compile-cache: V8's compile cache, kept there on purpose so later runs start faster.
   */
  leftInTmp: string[] = [];

  get name(): string {
    return this.#plugin.metadata.name;
  }

  /** MatchRepository: the find command, in the source path, with the full environment. */
  async discover(app: AppSource): Promise<boolean> {
    return this.#withCheckout(app, async (appDir, env) => {
      const result = await this.#run(this.#plugin.spec.discover.find, appDir, env);
      return result.exitCode === 0 && result.stdout.trim() !== "";
    });
  }

  /** GenerateManifest: init, then generate; stdout split into manifests. */
  async generate(app: AppSource): Promise<GenerateResult> {
    return this.#withCheckout(app, async (appDir, env) => {
      if (this.#plugin.spec.init) {
        const init = await this.#run(this.#plugin.spec.init, appDir, env);
        if (init.exitCode !== 0) return { ...init, manifests: [] };
      }
      const result = await this.#run(this.#plugin.spec.generate, appDir, env);
      if (result.exitCode !== 0) return { ...result, manifests: [] };
      const manifests = parseAllDocuments(result.stdout)
        .map((d) => d.toJS() as Record<string, unknown> | null)
        .filter((m): m is Record<string, unknown> => m !== null);
      return { ...result, manifests };
    });
  }

  async #withCheckout<T>(
    app: AppSource,
    body: (appDir: string, env: NodeJS.ProcessEnv) => Promise<T>,
  ): Promise<T> {
    const { stdout: revision } = await run("git", ["rev-parse", "HEAD"], { cwd: app.repo });
    const workDir = await mkdtemp(path.join(this.#home, "work-"));
    try {
      await copyCheckout(app.repo, workDir);
      const appDir = path.join(workDir, app.path);
      const tmp = await mkdtemp(path.join(this.#home, "tmp-"));
      const env: NodeJS.ProcessEnv = {
        // The sidecar's own environment (manifests/argocd/repo-server.yaml).
        PATH: [
          this.#bin,
          this.#toolsDir,
          path.dirname(process.execPath),
          "/usr/local/bin",
          "/usr/bin",
          "/bin",
        ].join(":"),
        HOME: this.#home,
        TMPDIR: tmp,
        HELM_CACHE_HOME: path.join(this.#home, "helm", "cache"),
        HELM_CONFIG_HOME: path.join(this.#home, "helm", "config"),
        HELM_DATA_HOME: path.join(this.#home, "helm", "data"),
        ...app.sidecarEnv,
        // Argo CD's build environment.
        ARGOCD_APP_NAME: app.name ?? "guestbook",
        ARGOCD_APP_NAMESPACE: app.namespace ?? "guestbook",
        ARGOCD_APP_PROJECT_NAME: app.project ?? "default",
        ARGOCD_APP_REVISION: revision.trim(),
        ARGOCD_APP_REVISION_SHORT: revision.trim().slice(0, 7),
        ARGOCD_APP_SOURCE_REPO_URL: "https://git.example.com/platform/apps.git",
        ARGOCD_APP_SOURCE_PATH: app.path,
        ARGOCD_APP_SOURCE_TARGET_REVISION: app.targetRevision ?? "HEAD",
        KUBE_VERSION: "1.31.0",
        KUBE_API_VERSIONS: "v1,apps/v1,batch/v1,refsync.dev/v1alpha1",
        ...Object.fromEntries(Object.entries(app.env ?? {}).map(([k, v]) => [`ARGOCD_ENV_${k}`, v])),
        ...parameterEnv(app.parameters ?? []),
      };
      const result = await body(appDir, env);
      this.leftInTmp = (await readdir(tmp)).filter((f) => f !== "node-compile-cache");
      return result;
    } finally {
      await rm(workDir, { recursive: true, force: true });
    }
  }

  #run(command: Command, cwd: string, env: NodeJS.ProcessEnv): Promise<CommandResult> {
    const [file, ...rest] = command.command;
    const args = [...rest, ...(command.args ?? [])];
    return new Promise((resolve) => {
      execFile(
        file ?? "",
        args,
        { cwd, env, timeout: 90_000, maxBuffer: 64 << 20 },
        (err, stdout, stderr) => {
          const exitCode = err ? (typeof err.code === "number" ? err.code : 1) : 0;
          const shown = [file, ...args].join(" ");
          const error = err ? `\`${shown}\` failed exit status ${exitCode}: ${stderr.trim()}` : undefined;
          resolve({ exitCode, stdout, stderr, ...(error ? { error } : {}) });
        },
      );
    });
  }
}

/** The repo-server's tarball of the checkout: every file but .git, without file modes (preserveFileMode: false). */
async function copyCheckout(repo: string, dest: string): Promise<void> {
  await cp(repo, dest, { recursive: true, filter: (src) => path.basename(src) !== ".git" });
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) await walk(full);
      else await chmod(full, 0o644);
    }
  };
  await walk(dest);
}

/** Makes a real Git repository from a map of files; returns its path. */
export async function gitRepo(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), "refsync-repo-"));
  for (const [file, content] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(dir, file)), { recursive: true });
    await writeFile(path.join(dir, file), content);
  }
  const git = (...args: string[]) => run("git", args, { cwd: dir });
  await git("init", "-q", "-b", "main");
  await git("add", "-A");
  await git("-c", "user.name=test", "-c", "user.email=test@example.com", "commit", "-q", "-m", "apps");
  return dir;
}
