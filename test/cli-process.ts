/**
 * The refsync CLI in a child process, run from source (as bin/refsync.js runs
 * it from dist/), for suites and benchmarks that need a real process: exit
 * codes, stdout/stderr separation, signals.
 */
import { spawn, type ChildProcess, type SpawnOptions } from "node:child_process";
import { join } from "node:path";

const MAIN = join(import.meta.dirname, "..", "src", "cli", "main.ts");

export function spawnRefsync(args: string[], options: SpawnOptions = {}): ChildProcess {
  return spawn(
    process.execPath,
    [
      "--input-type=module",
      "-e",
      `const m = await import(${JSON.stringify(MAIN)}); process.exitCode = await m.main(process.argv.slice(1));`,
      // "--": node would take refsync's own --version or --help for its own.
      "--",
      ...args,
    ],
    options,
  );
}

export interface RefsyncRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `refsync <args>` to completion with `stdin` and only PATH plus `env` in its environment. */
export function runRefsync(
  args: string[],
  options: { cwd?: string; env?: Record<string, string | undefined>; stdin?: string } = {},
): Promise<RefsyncRun> {
  return new Promise((resolve, reject) => {
    const child = spawnRefsync(args, {
      cwd: options.cwd,
      env: { PATH: process.env.PATH, ...options.env },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout?.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
    child.stdin?.end(options.stdin ?? "");
  });
}
