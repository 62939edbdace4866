#!/usr/bin/env node
// The published entry point runs the compiled CLI (`npm run build` makes dist/).
// `generate`, which Argo CD starts once per application render, runs from the
// bundled entry (dist/plugin/, scripts/bundle.ts); every other command from
// tsc's output. V8's compile cache (in NODE_COMPILE_CACHE, or the temporary
// directory, which the plugin sidecar mounts writable) spares later starts
// compiling the same code again.
import module from "node:module";

module.enableCompileCache();
const argv = process.argv.slice(2);
const { main } = await import(argv[0] === "generate" ? "../dist/plugin/main.js" : "../dist/cli/main.js");
process.exitCode = await main(argv);
