/**
 * The `refsync` command table. bin/refsync.js calls `main` from dist/.
 * Commands load lazily, so `refsync generate` does not pay for the
 * controller's dependencies. Add a command with one line in `commands`.
 * An error no command handled ends the run with one line on stderr and exit
 * code 1; its stack only with `--log-level debug`.
 */
import { exitCodeOf } from "./command-line.ts";
import { VERSION } from "./version.ts";

export interface Command {
  summary: string;
  run(argv: string[]): Promise<number>;
}

/** For the one-shot commands: zod without compiled parsers (./jitless.ts), set before the command loads. */
async function oneShot<T>(load: () => Promise<T>): Promise<T> {
  await import("./jitless.ts");
  return load();
}

export const commands: Record<string, Command> = {
  controller: {
    summary: "run the Kubernetes controller (ExternalSecrets, stores, ClusterExternalSecrets)",
    run: async (argv) => (await import("./controller.ts")).controllerCommand(argv),
  },
  generate: {
    summary: "render the current directory (or - for stdin) for Argo CD",
    run: async (argv) => (await oneShot(() => import("./generate.ts"))).generateCommand(argv),
  },
  render: {
    summary: "render manifests with references locally",
    run: async (argv) => (await oneShot(() => import("./render.ts"))).renderCommand(argv),
  },
  scan: {
    summary: "report plaintext secrets in a Git repository and its history",
    run: async (argv) => (await import("./scan.ts")).scanCommand(argv),
  },
  migrate: {
    summary: "move a repository's plaintext Secret values to a store and commit references",
    run: async (argv) => (await import("./migrate.ts")).migrateCommand(argv),
  },
  convert: {
    summary: "rewrite AVP placeholders (--from avp) or ESO objects (--from eso) in YAML files",
    run: async (argv) => (await import("./convert.ts")).convertCommand(argv),
  },
  audit: {
    summary: "verify the hash chain of audit files (refsync audit verify FILE...)",
    run: async (argv) => (await import("./audit.ts")).auditCommand(argv),
  },
  validate: {
    summary: "check refsync.dev objects (strictly) and references in manifests, for CI and Flux",
    run: async (argv) => (await oneShot(() => import("./validate.ts"))).validateCommand(argv),
  },
};

function usage(): string {
  const width = Math.max(...Object.keys(commands).map((c) => c.length));
  const lines = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`);
  return (
    `usage: refsync <command> [options]\n\ncommands:\n${lines.join("\n")}\n\n` +
    `refsync <command> --help describes a command; refsync --version prints the version.\n`
  );
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === "--help" || name === "-h" || name === "help") {
    process.stdout.write(usage());
    return 0;
  }
  if (name === "--version" || name === "-v" || name === "version") {
    process.stdout.write(`refsync ${VERSION}\n`);
    return 0;
  }
  const command = name === undefined ? undefined : Object.hasOwn(commands, name) ? commands[name] : undefined;
  if (name === undefined || !command) {
    process.stderr.write(name === undefined ? usage() : `refsync: unknown command "${name}"\n${usage()}`);
    return 2;
  }
  return exitCodeOf(name, rest, command.run);
}
