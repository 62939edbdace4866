/** refsync's version, from package.json (src/cli/ and dist/cli/ are both two levels below it). */
import { readFileSync } from "node:fs";

// Read with fs, not createRequire: the plugin's start-up snapshot (./snapshot.ts) loads this
// module at its build, and Node does not vouch for node:module loaded there.
export const VERSION = (
  JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string }
).version;
