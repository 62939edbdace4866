/**
 * The container image, without a Docker engine: the Dockerfile's build context and COPY
 * sources, its runtime stage, and the entrypoint run the way the image runs it (the
 * compiled CLI under /app, `refsync` on PATH, user 999, production dependencies only).
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { builtinModules } from "node:module";
import { existsSync } from "node:fs";
import { chmod, cp, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { after, before, describe, it } from "node:test";
import { repoRoot } from "../../scripts/health-files.ts";

const run = promisify(execFile);

interface Instruction {
  op: string;
  args: string;
}

async function dockerfile(): Promise<Instruction[]> {
  const text = (await readFile(path.join(repoRoot, "Dockerfile"), "utf8")).replace(/\\\n/g, " ");
  return text
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith("#"))
    .map((l) => {
      const [op = "", ...rest] = l.split(/\s+/);
      return { op: op.toUpperCase(), args: rest.join(" ") };
    });
}

/**
 * A .dockerignore pattern as Docker reads it: `**` any number of path segments (dot files
 * included), `*` and `?` within one segment; a match on a directory covers what is below it.
 */
function dockerPattern(glob: string): RegExp {
  const segment = (part: string) =>
    part
      .replace(/[.+^${}()|[\]\\]/g, "\\$&")
      .replace(/\*/g, "[^/]*")
      .replace(/\?/g, "[^/]");
  const source = glob
    .replace(/^\/+|\/+$/g, "")
    .split("/")
    .map((part, i, parts) =>
      part === "**"
        ? i === parts.length - 1
          ? ".*"
          : "(?:.*/)?"
        : segment(part) + (i === parts.length - 1 ? "" : "/"),
    )
    .join("");
  return new RegExp(`^${source}(/.*)?$`);
}

/** .dockerignore semantics: patterns in order, the last match wins, `!` re-includes. */
async function contextFiles(): Promise<string[]> {
  const rules = (await readFile(path.join(repoRoot, ".dockerignore"), "utf8"))
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith("#"))
    .map((l) =>
      l.startsWith("!")
        ? { include: true, re: dockerPattern(l.slice(1)) }
        : { include: false, re: dockerPattern(l) },
    );
  const { stdout } = await run("git", ["ls-files", "--cached", "--others", "--exclude-standard"], {
    cwd: repoRoot,
    maxBuffer: 64 << 20,
  });
  return stdout
    .split("\n")
    .filter(Boolean)
    .filter((file) => {
      let included = true;
      for (const rule of rules) if (rule.re.test(file)) included = rule.include;
      return included;
    });
}

/**
 * Lays a file or tree at `to` as real files, hard-linked where the file system allows (no
 * copying of the 116 MB Node binary), copied elsewhere. Never a symlink into the checkout:
 * a checkout under a 0700 directory (mktemp -d, /root) is out of reach of user 999.
 */
async function layFiles(from: string, to: string): Promise<void> {
  try {
    await run("cp", ["-al", from, to]);
  } catch {
    await cp(from, to, { recursive: true });
  }
}

/** `npm prune --omit=dev`: the packages package-lock.json does not mark dev-only. */
async function layProductionDependencies(into: string): Promise<void> {
  const lock = JSON.parse(await readFile(path.join(repoRoot, "package-lock.json"), "utf8")) as {
    packages: Record<string, { dev?: boolean }>;
  };
  await mkdir(into);
  for (const [where, entry] of Object.entries(lock.packages)) {
    const name = /^node_modules\/((?:@[^/]+\/)?[^/]+)$/.exec(where)?.[1];
    if (name === undefined || entry.dev) continue;
    await mkdir(path.dirname(path.join(into, name)), { recursive: true });
    await layFiles(path.join(repoRoot, where), path.join(into, name));
  }
}

void describe("container image (Dockerfile)", () => {
  let instructions: Instruction[];
  let context: string[];
  before(async () => {
    instructions = await dockerfile();
    context = await contextFiles();
  });

  void it("the build context holds the sources the Dockerfile copies, and no tests, .git, node_modules or build output", () => {
    const copies = instructions.filter((i) => i.op === "COPY" && !i.args.startsWith("--from"));
    assert.ok(copies.length >= 5);
    for (const copy of copies) {
      const sources = copy.args.split(/\s+/).slice(0, -1);
      for (const source of sources) {
        const prefix = source.replace(/\/$/, "");
        assert.ok(
          context.some((f) => f === prefix || f.startsWith(`${prefix}/`)),
          `COPY ${source}: in the build context`,
        );
      }
    }
    for (const file of context) {
      assert.doesNotMatch(
        file,
        /^(\.git|node_modules|dist|test)\/|\.test\.ts$|^\.env/,
        `${file} stays out of the image`,
      );
    }
    for (const needed of ["package-lock.json", "src/cli/main.ts", "bin/refsync.js", "plugin/plugin.yaml"]) {
      assert.ok(context.includes(needed), `${needed} is in the build context`);
    }
  });

  void it("multi-stage on Node 24; the runtime runs as user 999 with refsync as its entrypoint, with helm and kubectl", () => {
    const froms = instructions.filter((i) => i.op === "FROM");
    assert.ok(froms.length >= 3, "build, tools and runtime stages");
    const arg = instructions.find((i) => i.op === "ARG" && i.args.startsWith("NODE_IMAGE="));
    assert.match(arg?.args ?? "", /^NODE_IMAGE=node:24[-.]/);
    const runtime = instructions.slice(instructions.lastIndexOf(froms.at(-1) as Instruction));
    assert.equal(runtime.find((i) => i.op === "USER")?.args, "999:999");
    assert.equal(runtime.find((i) => i.op === "ENTRYPOINT")?.args, '["/usr/local/bin/refsync"]');
    assert.ok(runtime.some((i) => i.op === "COPY" && /--from=tools .*helm .*kubectl/.test(i.args)));
    assert.ok(
      !runtime.some((i) => i.op === "RUN" && /npm (ci|install)/.test(i.args)),
      "no dependency install in the runtime stage",
    );
  });

  void it("the compiled CLI imports only production dependencies (npm prune --omit=dev leaves what it needs)", async () => {
    const pkg = JSON.parse(await readFile(path.join(repoRoot, "package.json"), "utf8")) as {
      dependencies: Record<string, string>;
    };
    const allowed = new Set([...Object.keys(pkg.dependencies), ...builtinModules]);
    let checked = 0;
    const files = (await readdir(path.join(repoRoot, "src"), { recursive: true })).filter(
      (f) => f.endsWith(".ts") && !f.endsWith(".test.ts"),
    );
    for (const file of files) {
      const code = await readFile(path.join(repoRoot, "src", file), "utf8");
      for (const m of code.matchAll(
        /(?:^|\n)\s*import\s+(?!type\b)[^"']*?from\s+["']([^"'.][^"']*)["']|import\(\s*["']([^"'.][^"']*)["']\s*\)/g,
      )) {
        const spec = (m[1] ?? m[2] ?? "").replace(/^node:/, "");
        const name = spec.startsWith("@")
          ? spec.split("/").slice(0, 2).join("/")
          : (spec.split("/")[0] ?? "");
        assert.ok(allowed.has(name), `src/${file} imports ${spec}, which is not a production dependency`);
        checked++;
      }
    }
    assert.ok(checked > 20, `found the package imports (${checked})`);
  });

  void describe("the entrypoint, run as the image runs it", () => {
    let root: string;
    let refsync: string;
    let refsyncGenerate: string;
    const asImage = { uid: 999, gid: 999 };
    const runAsImage = (args: string[], cwd: string, program = refsync) =>
      run(program, args, {
        cwd,
        env: {
          PATH: [path.join(root, "usr/local/bin"), "/usr/bin", "/bin"].join(":"),
          NODE_ENV: "production",
        },
        ...(process.getuid?.() === 0 ? asImage : {}),
      });

    // The build stage compiles the whole CLI: about 15 s on an idle 2-core machine, over two
    // minutes (the default per-test bound) with both cores kept busy by other work.
    before(
      async () => {
        root = await mkdtemp(path.join(tmpdir(), "refsync-image-"));
        const app = path.join(root, "app");
        await mkdir(app);
        // The runtime stage's COPY instructions, from the build context.
        for (const source of ["package.json", "bin", "plugin"])
          await cp(path.join(repoRoot, source), path.join(app, source), { recursive: true });
        // The build stage: `npm run build` (tsc -p tsconfig.build.json, then the bundle) into /app/dist.
        await run(
          process.execPath,
          [
            path.join(repoRoot, "node_modules", "typescript", "bin", "tsc"),
            "-p",
            path.join(repoRoot, "tsconfig.build.json"),
            "--outDir",
            path.join(app, "dist"),
          ],
          { cwd: repoRoot },
        );
        // … and the bundled CLI (scripts/bundle.ts), which bin/refsync.js runs.
        await run(process.execPath, [path.join(repoRoot, "scripts", "bundle.ts"), path.join(app, "dist")], {
          cwd: repoRoot,
        });
        await layProductionDependencies(path.join(app, "node_modules"));
        await mkdir(path.join(root, "usr/local/bin"), { recursive: true });
        // The image's Node 24 at /usr/local/bin/node, found by the entrypoint's `#!/usr/bin/env node`.
        await layFiles(process.execPath, path.join(root, "usr/local/bin/node"));
        refsync = path.join(root, "usr/local/bin/refsync");
        await symlink(path.join(app, "bin", "refsync.js"), refsync);
        await chmod(path.join(app, "bin", "refsync.js"), 0o755);
        refsyncGenerate = path.join(root, "usr/local/bin/refsync-generate");
        await symlink(path.join(app, "bin", "refsync-generate"), refsyncGenerate);
        await chmod(path.join(app, "bin", "refsync-generate"), 0o755);
        await chmod(root, 0o755);
        const work = path.join(root, "work");
        await mkdir(work);
        await writeFile(
          path.join(work, "secret.yaml"),
          "apiVersion: v1\nkind: Secret\nmetadata: { name: db }\nstringData:\n  password: ref+vault://team-a/db#password\n",
        );
        await chmod(work, 0o755);
      },
      { timeout: 600_000 },
    );
    after(() => rm(root, { recursive: true, force: true }));

    void it("`refsync --help` lists the commands", async () => {
      const { stdout } = await runAsImage(["--help"], root);
      assert.match(stdout, /generate/);
      assert.match(stdout, /controller/);
    });

    void it("`refsync generate` renders as the plugin sidecar does (user 999, read-only sources)", async () => {
      const { stdout } = await runAsImage(["generate"], path.join(root, "work"));
      assert.match(stdout, /kind: ExternalSecret/);
    });

    void it("plugin.yaml's `refsync-generate` starts from the snapshot and prints what `refsync generate` does", async () => {
      const work = path.join(root, "work");
      const bundled = await runAsImage(["generate"], work);
      const { stdout, stderr } = await runAsImage([], work, refsyncGenerate);
      assert.ok(existsSync(path.join(root, "app", "dist", "bundle", "generate.blob")));
      assert.equal(stderr, "", "no fallback: node started from the snapshot");
      assert.match(stdout, /kind: ExternalSecret/);
      assert.equal(stdout, bundled.stdout);
    });

    void it("a snapshot another Node built: node refuses it (exit 14) and the render runs as `refsync generate`", async () => {
      const work = path.join(root, "work");
      const blob = path.join(root, "app", "dist", "bundle", "generate.blob");
      const built = await readFile(blob);
      const version = built.indexOf(process.versions.node);
      assert.ok(version > 0 && version < 64, "the blob's header names the Node that built it");
      const other = Buffer.from(built);
      other.write("9", version);
      await writeFile(blob, other);
      try {
        const { stdout, stderr } = await runAsImage([], work, refsyncGenerate);
        assert.match(stderr, /startup snapshot because it was built with\s*Node\.js version 9/);
        assert.equal(stdout, (await runAsImage(["generate"], work)).stdout);
      } finally {
        await writeFile(blob, built);
      }
    });

    void it("`refsync controller --help` starts the controller's command", async () => {
      const { stdout } = await runAsImage(["controller", "--help"], root);
      assert.match(stdout, /--leader-elect/);
      assert.ok(existsSync(path.join(root, "app", "dist", "cli", "controller.js")));
    });
  });
});
