import type { CommandIO } from "../../src/cli/command-line.ts";

/** A CommandIO that keeps what a command wrote. */
export function collector(): CommandIO & { out: () => string; err: () => string } {
  let out = "";
  let err = "";
  return {
    stdout: { write: (s: string) => (out += s) },
    stderr: { write: (s: string) => (err += s) },
    out: () => out,
    err: () => err,
  };
}
