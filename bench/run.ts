/**
 * Runs every benchmark module in bench/ (a module that exports `bench()`;
 * helpers without it are skipped), prints each result and writes them all
 * to bench/RESULTS.md. Add a benchmark by adding a module; nothing here
 * changes.   npm run bench   (or: node bench/run.ts [name…] to run some,
 * which prints them and leaves RESULTS.md as it is)
 */
import { readdir, writeFile } from "node:fs/promises";
import { cpus } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

export interface BenchResult {
  title: string;
  /** Markdown lines: a table of measurements with the ratio against the baseline. */
  lines: string[];
}

const dir = import.meta.dirname;
const only = process.argv.slice(2);
const sections: string[] = [];
for (const file of (await readdir(dir)).filter((f) => f.endsWith(".ts") && f !== "run.ts").sort()) {
  if (only.length && !only.some((name) => file.startsWith(name))) continue;
  const mod = (await import(pathToFileURL(join(dir, file)).href)) as { bench?: () => Promise<BenchResult> };
  if (typeof mod.bench !== "function") continue;
  const result = await mod.bench();
  const section = `## ${result.title}\n\n${result.lines.join("\n")}\n`;
  console.log(section);
  sections.push(section);
}
if (only.length) process.exit(0);
const header = `# Benchmark results\n\nNode ${process.version}, ${cpus().length} CPUs (${cpus()[0]?.model ?? "unknown"}), ${new Date().toISOString().slice(0, 10)}.\n`;
await writeFile(join(dir, "RESULTS.md"), [header, ...sections].join("\n"));
