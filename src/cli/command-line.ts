/**
 * Plumbing shared by the `scan`, `migrate` and `convert` commands: where
 * they write, how their flags are parsed, and how errors end a run (exit 2,
 * one line on stderr, the usage text only for usage mistakes).
 */
import { parseArgs, type ParseArgsOptionsConfig } from "node:util";
import { UsageError } from "../errors.ts";

/** Where a command writes; tests pass collectors, the CLI passes the process streams. */
export interface CommandIO {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown; isTTY?: boolean };
}

export const processIO: CommandIO = { stdout: process.stdout, stderr: process.stderr };

type Config<O extends ParseArgsOptionsConfig> = {
  args: string[];
  options: O;
  allowPositionals: true;
  allowNegative: true;
};

/** Flags and positionals; `--no-<flag>` negates a boolean. Unknown flags are a UsageError. */
export function parseCommandLine<const O extends ParseArgsOptionsConfig>(
  argv: string[],
  options: O,
): ReturnType<typeof parseArgs<Config<O>>> {
  try {
    return parseArgs<Config<O>>({ args: argv, options, allowPositionals: true, allowNegative: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/** Runs a command's body; any error it throws ends the run with exit code 2. */
export async function runCommand(
  name: string,
  usage: string,
  io: CommandIO,
  body: () => Promise<number>,
): Promise<number> {
  try {
    return await body();
  } catch (err) {
    const help = err instanceof UsageError ? `${usage}\n` : "";
    io.stderr.write(`refsync ${name}: ${(err as Error).message}\n${help}`);
    return 2;
  }
}
