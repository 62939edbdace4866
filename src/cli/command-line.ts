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

// Getters: the plugin's start-up snapshot (./snapshot.ts) loads this module at build time,
// when the streams must not be created yet (they would be the build's).
export const processIO: CommandIO = {
  get stdout() {
    return process.stdout;
  },
  get stderr() {
    return process.stderr;
  },
};

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
    throw new UsageError(flagErrorMessage(err));
  }
}

/**
 * Node's parseArgs errors in a line of our own: "unknown flag --mod" rather
 * than its advice on positionals that start with "-".
 */
export function flagErrorMessage(err: unknown): string {
  const e = err as { code?: string; message?: string };
  const message = e.message ?? String(err);
  const flag = /'(-{1,2}[^' ]+)/.exec(message)?.[1];
  switch (e.code) {
    case "ERR_PARSE_ARGS_UNKNOWN_OPTION":
      return `unknown flag ${flag ?? message}`;
    case "ERR_PARSE_ARGS_INVALID_OPTION_VALUE":
      return flag && /argument missing/.test(message)
        ? `${flag} needs a value`
        : flag
          ? `${flag} takes no value`
          : message;
    case "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL":
      return `unexpected argument ${/'([^']*)'/.exec(message)?.[1] ?? ""}`.trim();
    default:
      return message.split("\n")[0] ?? message;
  }
}

/** True when `--help` or `-h` comes before any `--`. */
export function asksForHelp(argv: string[]): boolean {
  const end = argv.indexOf("--");
  return (end < 0 ? argv : argv.slice(0, end)).some((a) => a === "--help" || a === "-h");
}

/**
 * Runs a command's body; any error it throws ends the run with exit code 2.
 * With `argv`, `--help` prints the usage on stdout and exits 0.
 */
export async function runCommand(
  name: string,
  usage: string,
  io: CommandIO,
  body: () => Promise<number>,
  argv?: string[],
): Promise<number> {
  if (argv && asksForHelp(argv)) {
    io.stdout.write(`${usage}\n`);
    return 0;
  }
  try {
    return await body();
  } catch (err) {
    const help = err instanceof UsageError ? `${usage}\n` : "";
    io.stderr.write(`refsync ${name}: ${(err as Error).message}\n${help}`);
    return 2;
  }
}

/** The first line of an error's message (Node's own messages may run over several). */
export function oneLine(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.split("\n")[0]?.trim() || (err instanceof Error ? err.name : "error");
}

/**
 * A command's exit code; an error it did not handle ends the run with one line on stderr and
 * exit code 1, its stack only with `--log-level debug`.
 */
export async function exitCodeOf(
  name: string,
  argv: string[],
  run: (argv: string[]) => Promise<number>,
): Promise<number> {
  try {
    return await run(argv);
  } catch (err) {
    process.stderr.write(`refsync ${name}: ${oneLine(err)}\n`);
    if (wantsDebug(argv) && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
    return 1;
  }
}

/** `--log-level debug` (or trace) among the arguments: print stacks too. */
export function wantsDebug(argv: string[]): boolean {
  const i = argv.findIndex((a) => a === "--log-level" || a.startsWith("--log-level="));
  if (i < 0) return false;
  const level = argv[i]?.includes("=") ? argv[i]?.split("=")[1] : argv[i + 1];
  return level === "debug" || level === "trace";
}
