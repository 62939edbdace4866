/**
 * node-forge, for the Go templates' PKCS #12 functions (go/pki.ts, go/dn.ts), required on the
 * first call that needs it: synchronously, as templates render. A plugin or controller whose
 * templates never read or write a PKCS #12 archive does not load it (about 1 MiB of V8 heap and
 * 2 MiB of RSS at the controller's start, bench/memory.ts; a few ms of every `refsync generate`).
 */
import { createRequire } from "node:module";
import type Forge from "node-forge";

let loaded: typeof Forge | undefined;

export function forge(): typeof Forge {
  return (loaded ??= createRequire(import.meta.url)("node-forge") as typeof Forge);
}
