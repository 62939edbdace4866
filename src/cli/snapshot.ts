/**
 * `refsync generate` as a V8 start-up snapshot: scripts/bundle.ts bundles this module into one
 * CommonJS file and runs it with `node --build-snapshot`, which loads every module of the
 * generate path once and keeps the resulting heap in dist/bundle/generate.blob;
 * bin/refsync-generate starts `node --snapshot-blob` from it, so a render skips loading and
 * initialising the code (Argo CD starts one per application render, bench/plugin-start.ts).
 * Nothing may depend on the build's process: the streams, the environment and the working
 * directory are read by the render at run time, and no module draws random numbers as it loads
 * (crypto.randomUUID's pool, filled at build, would repeat in every process).
 * In a snapshot, `require` resolves only Node's built-in modules and `import()` is missing, so
 * the main function first points `require` and import.meta.url (defined by the bundle) at the
 * blob's dist/bundle/, where the providers' SDKs and node-forge load from node_modules.
 */
import "./jitless.ts";
import { startupSnapshot } from "node:v8";
import { exitCodeOf } from "./command-line.ts";
import { generateCommand } from "./generate.ts";

// The bundle's own: its require calls read it once rebound.
// eslint-disable-next-line @typescript-eslint/no-unused-vars
declare let require: NodeJS.Require;
declare let __refsyncModuleUrl: string;

startupSnapshot.setDeserializeMainFunction(() => {
  const { createRequire } = process.getBuiltinModule("node:module");
  const { pathToFileURL } = process.getBuiltinModule("node:url");
  const { dirname, resolve } = process.getBuiltinModule("node:path");
  const flag = process.execArgv.findIndex((a) => a === "--snapshot-blob");
  const blob = resolve(process.execArgv[flag + 1] ?? "");
  __refsyncModuleUrl = pathToFileURL(resolve(dirname(blob), "generate.cjs")).href;
  require = createRequire(__refsyncModuleUrl);
  // process.argv: node, "generate" (bin/refsync-generate), then the command's own arguments.
  void exitCodeOf("generate", process.argv.slice(2), generateCommand).then((code) => {
    process.exitCode = code;
  });
});
