// Third-party clients from Debian that check the protocol test servers from
// outside: `awscli` (with botocore's service models) and `python3-hvac`.
// test/system-packages.txt lists them, so `npm test` (test/run.ts) installs
// them; a test that needs one fails when it is missing instead of skipping.
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";

/** Debian's aws, not a pyenv or pip shim earlier on PATH. */
export const AWS_CLI = "/usr/bin/aws";
/** Debian's python3, which sees python3-hvac. */
export const PYTHON3 = "/usr/bin/python3";

/** The path of a Debian-installed tool; throws (failing the test) when the package is missing. */
export function requireTool(path: string, debianPackage: string): string {
  if (!existsSync(path)) {
    throw new Error(
      `${path} is missing: install the Debian package ${debianPackage} (node test/run.ts installs test/system-packages.txt)`,
    );
  }
  return path;
}

export interface ToolResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a tool with exactly the given environment (nothing inherited but PATH). */
export function runTool(
  path: string,
  args: string[],
  env: Record<string, string>,
  input?: string,
): Promise<ToolResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      path,
      args,
      { env: { PATH: "/usr/bin:/bin", ...env }, timeout: 60_000, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== "number") {
          reject(new Error(`${path} ${args[0] ?? ""}: ${error.message}\n${stderr}`));
          return;
        }
        resolve({ code: error ? Number(error.code) : 0, stdout, stderr });
      },
    );
    if (input !== undefined) child.stdin?.end(input);
  });
}
