/**
 * Runs the benchmark modules in bench/ (a module that exports `bench()`;
 * helpers without it are skipped), prints each result and records it in
 * bench/RESULTS.md, replacing that benchmark's earlier section and keeping
 * the others. Add a benchmark by adding a module; nothing here changes.
 *   npm run bench                   every benchmark
 *   node bench/run.ts render scan   those whose file name starts so
 */
import { readdir, readFile, writeFile } from "node:fs/promises";
import { cpus } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

export interface BenchResult {
  title: string;
  /** Markdown lines: a table of measurements with the ratio against the baseline. */
  lines: string[];
}

const dir = import.meta.dirname;
const resultsFile = join(dir, "RESULTS.md");
const only = process.argv.slice(2);

/** Sections of RESULTS.md by title (the text after `## `). */
async function previousSections(): Promise<Map<string, string>> {
  const sections = new Map<string, string>();
  let text = "";
  try {
    text = await readFile(resultsFile, "utf8");
  } catch {
    return sections;
  }
  for (const part of text.split(/^(?=## )/m).slice(1)) {
    sections.set(part.slice(3, part.indexOf("\n")), part.trimEnd() + "\n");
  }
  return sections;
}

const sections = await previousSections();
for (const file of (await readdir(dir)).filter((f) => f.endsWith(".ts") && f !== "run.ts").sort()) {
  if (only.length && !only.some((name) => file.startsWith(name))) continue;
  const mod = (await import(pathToFileURL(join(dir, file)).href)) as { bench?: () => Promise<BenchResult> };
  if (typeof mod.bench !== "function") continue;
  const result = await mod.bench();
  const machine = `Node ${process.version}, ${cpus().length} CPUs (${cpus()[0]?.model ?? "unknown"}), ${new Date().toISOString().slice(0, 10)}.`;
  const section = `## ${result.title}\n\n${machine}\n\n${result.lines.join("\n")}\n`;
  console.log(section);
  sections.set(result.title, section);
}
await writeFile(
  resultsFile,
  ["# Benchmark results\n", ...[...sections.keys()].sort().map((t) => sections.get(t))].join("\n"),
);
