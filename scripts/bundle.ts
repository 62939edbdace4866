// The CLI, bundled: `npm run build` runs this after tsc, and bin/refsync.js runs every
// command from dist/bundle/. Two costs it cuts, both measured by bench/plugin-start.ts and
// bench/memory.ts:
// - start-up: Argo CD starts `refsync generate` once per application render; loading some
//   50 compiled modules one by one, plus zod's and yaml's own files, was a large share of
//   it. Each command and each provider client is a minified chunk loaded only when used.
// - memory: @kubernetes/client-node's KubeConfig imports the package's whole generated
//   API (some 70 MiB of RSS); bundled, only what KubeConfig uses is kept.
// - zod's `.describe()`: it clones its schema (a second full instance, each with some 50
//   methods of its own) to record a description that only `npm run crds` and the docs read,
//   from the sources. In the bundle it returns its schema as is: the same parsing, the same
//   errors, a quarter fewer schema objects to build at each start (see zodDescribe below).
// - `refsync generate`'s start-up snapshot, dist/bundle/generate.blob (see below): the
//   plugin's command (bin/refsync-generate) starts from it with its code loaded already.
// The providers' SDKs and the other dependencies stay in node_modules, loaded on first use
// as before. dist/bundle/ is two levels below the package root, as dist/cli/ is, so the
// modules that read ../../package.json find it from either.
//   node scripts/bundle.ts [DIST]      (DIST defaults to dist/ of this package)
import { spawnSync } from "node:child_process";
import { readFile, rename, rm } from "node:fs/promises";
import { join, resolve } from "node:path";
import { build, type Plugin } from "esbuild";

const root = join(import.meta.dirname, "..");
/** Bundled: yaml and zod for the plugin's start-up, the Kubernetes client for its tree-shaking. */
const BUNDLED = new Set(["yaml", "zod", "@kubernetes/client-node"]);

/** Also bundled into the snapshot: the render imports them statically, and a snapshot cannot load node_modules. */
const SNAPSHOT_BUNDLED = new Set(["re2js", "croner"]);

const pkg = (await import(join(root, "package.json"), { with: { type: "json" } })) as {
  default: { dependencies: Record<string, string> };
};
const external = Object.keys(pkg.default.dependencies)
  .filter((name) => !BUNDLED.has(name))
  .flatMap((name) => [name, `${name}/*`]);

/** zod 4's classic describe(): clone, then add the clone to the global registry with its description. */
const DESCRIBE =
  /inst\.describe = \(description\) => \{\s*const cl = inst\.clone\(\);\s*core\.globalRegistry\.add\(cl, \{ description \}\);\s*return cl;\s*\};/;

/** The bundle's zod: describe() returns its schema; fails the build if zod's code no longer matches. */
let describePatched = false;
const zodDescribe: Plugin = {
  name: "zod-describe",
  setup(b) {
    b.onEnd(() => {
      if (!describePatched)
        throw new Error("zod's classic schemas.js was not bundled; update scripts/bundle.ts");
    });
    b.onLoad({ filter: /[\\/]zod[\\/]v4[\\/]classic[\\/]schemas\.js$/ }, async (args) => {
      const source = await readFile(args.path, "utf8");
      const contents = source.replace(DESCRIBE, "inst.describe = () => inst;");
      if (contents === source)
        throw new Error(`${args.path}: zod's describe() changed; update scripts/bundle.ts`);
      describePatched = true;
      return { contents, loader: "js" };
    });
  },
};

/** `node --build-snapshot`; its output is shown only when it fails. */
function buildSnapshot(entry: string, blob: string): void {
  const { status, stderr } = spawnSync(
    process.execPath,
    ["--snapshot-blob", blob, "--build-snapshot", entry],
    {
      encoding: "utf8",
    },
  );
  if (status !== 0) throw new Error(`node --build-snapshot ${entry} failed (${status}): ${stderr}`);
}

const outdir = join(resolve(process.argv[2] ?? join(root, "dist")), "bundle");
// Built aside and swapped in: chunk names carry hashes, so no stale ones stay, and a process
// starting while another build runs finds a whole bundle, never an empty directory.
const next = `${outdir}.next-${process.pid}`;
await build({
  entryPoints: [join(root, "src", "cli", "main.ts")],
  outdir: next,
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node22",
  minify: true,
  external,
  // tr46 (under the Kubernetes client's node-fetch) requires Node's deprecated punycode, which
  // warns once bundled outside node_modules; the npm package is the same code.
  alias: { punycode: "punycode/" },
  // yaml's Node build is CommonJS and requires node: built-ins, which an ES module bundle must provide.
  banner: {
    js: 'import{createRequire as __refsyncRequire}from"node:module";const require=__refsyncRequire(import.meta.url);',
  },
  plugins: [zodDescribe],
  logLevel: "warning",
});

// The generate command's start-up snapshot (src/cli/snapshot.ts, bin/refsync-generate): one
// CommonJS file, since a snapshot holds a single script that may require only Node's
// built-ins; re2js and croner, which the render imports statically, are bundled too. Node
// offers no library for this, only `node --build-snapshot`, run here with the Node that runs
// the build: a blob starts only on the Node binary that made it (the image builds its own).
await build({
  entryPoints: [join(root, "src", "cli", "snapshot.ts")],
  outfile: join(next, "generate.cjs"),
  bundle: true,
  format: "cjs",
  platform: "node",
  target: "node22",
  minify: true,
  external: external.filter((name) => !SNAPSHOT_BUNDLED.has(name.replace(/\/\*$/, ""))),
  alias: { punycode: "punycode/" },
  // Rebound to the blob's place at run time (src/cli/snapshot.ts); at build time, this file's.
  define: { "import.meta.url": "__refsyncModuleUrl" },
  banner: { js: 'var __refsyncModuleUrl=require("node:url").pathToFileURL(__filename).href;' },
  plugins: [zodDescribe],
  logLevel: "warning",
});
buildSnapshot(join(next, "generate.cjs"), join(next, "generate.blob"));

const old = `${outdir}.old-${process.pid}`;
await rename(outdir, old).catch(() => undefined);
await rename(next, outdir);
await rm(old, { recursive: true, force: true });
