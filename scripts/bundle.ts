// The plugin's entry, bundled: `npm run build` runs this after tsc. Argo CD starts
// `refsync generate` once per application render, so its start-up is paid on every
// refresh of every app; loading 50 compiled modules one by one (plus zod's and yaml's
// own files) was most of it. bin/refsync.js runs `generate` from dist/plugin/, one
// minified ES module per chunk: the command's code and yaml and zod in a few files,
// each command and each provider client in a chunk of its own that loads only when
// used. The providers' SDKs and the other dependencies stay in node_modules, loaded
// on first use as before. Every other command runs the tsc output in dist/cli/.
// dist/plugin/ is two levels below the package root, as dist/cli/ is, so the
// modules that read ../../package.json find it from either.
//   node scripts/bundle.ts [DIST]      (DIST defaults to dist/ of this package)
import { rm } from "node:fs/promises";
import { join, resolve } from "node:path";
import { build } from "esbuild";

const root = join(import.meta.dirname, "..");
/** Bundled for their load time: the generate path imports both at start-up. */
const BUNDLED = new Set(["yaml", "zod"]);

const pkg = (await import(join(root, "package.json"), { with: { type: "json" } })) as {
  default: { dependencies: Record<string, string> };
};
const external = Object.keys(pkg.default.dependencies)
  .filter((name) => !BUNDLED.has(name))
  .flatMap((name) => [name, `${name}/*`]);

const outdir = join(resolve(process.argv[2] ?? join(root, "dist")), "plugin");
await rm(outdir, { recursive: true, force: true }); // chunk names carry hashes: no stale ones
await build({
  entryPoints: [join(root, "src", "cli", "main.ts")],
  outdir,
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node22",
  minify: true,
  external,
  // yaml's Node build is CommonJS and requires node: built-ins, which an ES module bundle must provide.
  banner: {
    js: 'import{createRequire as __refsyncRequire}from"node:module";const require=__refsyncRequire(import.meta.url);',
  },
  logLevel: "warning",
});
