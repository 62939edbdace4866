/**
 * `refsync convert [path…]`: rewrite argocd-vault-plugin placeholders into
 * `ref+` references (`--from avp`, the default), or External Secrets
 * Operator objects into refsync's kinds (`--from eso`), in YAML files, in
 * place (or to stdout). All files are converted in memory first: on any
 * error nothing is written.
 */
import { readdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import { parseCommandLine, processIO, runCommand, type CommandIO } from "./command-line.ts";
import { UsageError } from "../errors.ts";
import { convertYaml, type ConvertOptions } from "../git/convert.ts";
import { convertEsoYaml } from "../git/convert-eso.ts";
import { mountConflicts, PROVIDERS } from "../refs/index.ts";
import type { ProviderName } from "../refs/reference.ts";
import { loadConfig } from "../render/config.ts";
import { checkObjects } from "../render/objects.ts";

export const convertUsage = `usage: refsync convert [path…] [options]
  path                 YAML files or directories (default .); "-" reads stdin and writes stdout
  --from avp|eso       avp (the default): argocd-vault-plugin placeholders into ref+ references;
                       eso: External Secrets Operator objects into refsync.dev kinds, one report line per change
  --stdout             print the converted file instead of rewriting it (one file)
  --check              change nothing; exit 1 when something would be converted
  --provider NAME      (avp) what AVP placeholders read: vault (default), awssecrets, azurekv…
  --store NAME         (avp) store the references name (default: the provider's default store)
  --config FILE        (avp) take provider and store from refsync.yaml's avp section`;

async function yamlFiles(path: string): Promise<string[]> {
  if (!(await stat(path)).isDirectory()) return [path];
  const files: string[] = [];
  for (const entry of (await readdir(path, { withFileTypes: true })).sort((a, b) =>
    a.name.localeCompare(b.name),
  )) {
    if (entry.name === ".git" || entry.name === "node_modules") continue;
    const child = join(path, entry.name);
    if (entry.isDirectory()) files.push(...(await yamlFiles(child)));
    else if (entry.isFile() && /\.ya?ml$/.test(entry.name)) files.push(child);
  }
  return files;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

export function convertCommand(argv: string[], io: CommandIO = processIO): Promise<number> {
  return runCommand(
    "convert",
    convertUsage,
    io,
    async () => {
      const { values, positionals } = parseCommandLine(argv, {
        stdout: { type: "boolean", default: false },
        check: { type: "boolean", default: false },
        provider: { type: "string" },
        store: { type: "string" },
        config: { type: "string" },
        from: { type: "string", default: "avp" },
      });
      if (values.from === "eso") {
        for (const flag of ["provider", "store", "config"] as const)
          if (values[flag] !== undefined) throw new UsageError(`--${flag} is for --from avp`);
        return convertEso(positionals, values.stdout, values.check, io);
      }
      if (values.from !== "avp") throw new UsageError(`--from must be avp or eso, not "${values.from}"`);
      const config = values.config === undefined ? undefined : await loadConfig(values.config);
      const provider = (values.provider ?? config?.avp?.provider ?? "vault") as ProviderName;
      if (!PROVIDERS.includes(provider))
        throw new UsageError(`--provider must be one of ${PROVIDERS.join(", ")}`);
      const store = values.store ?? config?.avp?.store;
      const options: ConvertOptions = {
        ...config?.avp,
        provider,
        ...(store === undefined ? {} : { store }),
      };

      if (positionals.length === 1 && positionals[0] === "-") {
        const result = convertYaml(await readStdin(), "(stdin)", options);
        const conflicts = mountConflicts(result.mounts);
        if (conflicts.length) throw new Error(conflicts.join("\n"));
        io.stdout.write(result.text);
        for (const k of result.kept) io.stderr.write(`kept: ${k}\n`);
        return values.check && result.converted > 0 ? 1 : 0;
      }
      const files = (await Promise.all((positionals.length ? positionals : ["."]).map(yamlFiles))).flat();
      if (values.stdout && files.length !== 1) throw new UsageError("--stdout needs exactly one file");

      // Convert everything before writing anything.
      const results = [];
      const errors: string[] = [];
      for (const file of files) {
        try {
          results.push({ file, ...convertYaml(await readFile(file, "utf8"), file, options) });
        } catch (err) {
          errors.push((err as Error).message);
        }
      }
      const mounts = new Map<string, Set<string>>();
      for (const r of results)
        for (const [store, names] of r.mounts)
          mounts.set(store, new Set([...(mounts.get(store) ?? []), ...names]));
      errors.push(...mountConflicts(mounts));
      if (errors.length) throw new Error(`nothing written:\n${errors.join("\n")}`);
      let converted = 0;
      let changedFiles = 0;
      for (const r of results) {
        for (const k of r.kept) io.stderr.write(`kept: ${k}\n`);
        converted += r.converted;
        if (values.stdout) io.stdout.write(r.text);
        else if (r.converted > 0) {
          changedFiles++;
          if (!values.check) await writeFile(r.file, r.text);
        }
      }
      if (!values.stdout) {
        const verb = values.check ? "would convert" : "converted";
        io.stderr.write(`${verb} ${converted} placeholder(s) in ${changedFiles} file(s)\n`);
      }
      return values.check && converted > 0 ? 1 : 0;
    },
    argv,
  );
}

/** The problems of the refsync objects a converted file holds, as the plugin would report them. */
function convertedProblems(text: string, file: string): string[] {
  const documents = parseAllDocuments(text).map((doc, index) => ({
    file,
    index,
    value: doc.toJS() as unknown,
  }));
  return checkObjects(documents).errors;
}

/** `--from eso`: every ESO object of every file, all or nothing, a report line per change. */
async function convertEso(paths: string[], stdout: boolean, check: boolean, io: CommandIO): Promise<number> {
  if (paths.length === 1 && paths[0] === "-") {
    const result = convertEsoYaml(await readStdin(), "(stdin)");
    if (!result.errors.length) result.errors.push(...convertedProblems(result.text, "(stdin)"));
    if (result.errors.length) throw new Error(`nothing written:\n${result.errors.join("\n")}`);
    io.stdout.write(result.text);
    for (const line of result.changes) io.stderr.write(`${line}\n`);
    return check && result.converted > 0 ? 1 : 0;
  }
  const files = (await Promise.all((paths.length ? paths : ["."]).map(yamlFiles))).flat();
  if (stdout && files.length !== 1) throw new UsageError("--stdout needs exactly one file");
  const results = [];
  const errors: string[] = [];
  for (const file of files) {
    try {
      const result = convertEsoYaml(await readFile(file, "utf8"), file);
      errors.push(...result.errors);
      if (!result.errors.length && result.converted > 0) errors.push(...convertedProblems(result.text, file));
      results.push({ file, ...result });
    } catch (err) {
      errors.push((err as Error).message);
    }
  }
  if (errors.length) throw new Error(`nothing written:\n${errors.join("\n")}`);
  let converted = 0;
  let changedFiles = 0;
  for (const r of results) {
    if (stdout) io.stdout.write(r.text);
    for (const line of r.changes) io.stderr.write(`${check ? "would change: " : ""}${line}\n`);
    converted += r.converted;
    if (r.converted > 0) {
      changedFiles++;
      if (!stdout && !check) await writeFile(r.file, r.text);
    }
  }
  if (!stdout) {
    io.stderr.write(
      `${check ? "would convert" : "converted"} ${converted} ESO object(s) in ${changedFiles} file(s)\n`,
    );
  }
  return check && converted > 0 ? 1 : 0;
}
