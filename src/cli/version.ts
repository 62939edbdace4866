/** refsync's version, from package.json (src/cli/ and dist/cli/ are both two levels below it). */
import { createRequire } from "node:module";

export const VERSION = (createRequire(import.meta.url)("../../package.json") as { version: string }).version;
