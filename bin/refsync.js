#!/usr/bin/env node
// The published entry point runs the bundled CLI (`npm run build` makes dist/bundle/, see
// scripts/bundle.ts). Short-lived commands use V8's compile cache (in NODE_COMPILE_CACHE, or
// the temporary directory, which the plugin sidecar mounts writable), so later starts skip
// compiling the same code: Argo CD starts `refsync generate` once per render. The
// controller starts once and would only keep the cache's buffers (~5 MiB of RSS).
import module from "node:module";

const argv = process.argv.slice(2);
if (argv[0] !== "controller") module.enableCompileCache();
const { main } = await import("../dist/bundle/main.js");
process.exitCode = await main(argv);
