/**
 * Runs the benchmark modules in bench/ (a module that exports `bench()`;
 * helpers without it are skipped), prints each result and records it in
 * bench/RESULTS.md, replacing that benchmark's earlier section and keeping
 * the others. Add a benchmark by adding a module; nothing here changes.
 * At the end it prints every row that says whether a target is met (a table
 * row with "met" or "missed"), each benchmark's duration and the load
 * average around it, and, when every benchmark ran, records that summary in
 * RESULTS.md too. A benchmark that throws is reported as failed and the
 * others still run; the exit code is then 1.
 *   npm run bench                   every benchmark
 *   node bench/run.ts render scan   those whose file name starts so
 *   BENCH_QUICK=1 npm run bench     fewer repetitions where a benchmark has a knob for it (one scale
 *                                   refresh cycle, 3 audit pairs, 11 plugin-start rounds); every
 *                                   figure and target is still measured, each result says how many
 *                                   repetitions it had, and the summary is marked quick
 */
import { readdir, readFile, writeFile } from "node:fs/promises";
import { cpus, loadavg } from "node:os";
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

const quick = Boolean(process.env.BENCH_QUICK);
if (quick) {
  // Knobs the benchmarks already read; an explicit setting wins.
  process.env.BENCH_SCALE_CYCLES ??= "1";
  process.env.BENCH_AUDIT_ROUNDS ??= "3";
  process.env.BENCH_START_ROUNDS ??= "11";
}

/** A table row's cells, joined for a list item. */
const cells = (row: string) =>
  row
    .replace(/^\||\|$/g, "")
    .split("|")
    .map((c) => c.trim())
    .filter(Boolean)
    .join(" · ");

/** Table rows of a result that say whether a target is met. */
const targetRows = (lines: string[]) =>
  lines.filter((l) => l.startsWith("|") && /\b(met|missed)\b/.test(l.replace(/\*/g, "")));

const SUMMARY = "Run: every target of `npm run bench`, met or missed";
const load = () => (loadavg()[0] ?? NaN).toFixed(1);
/** Merges this run's sections into RESULTS.md (after each benchmark: a run cut short keeps what it measured). */
async function save(): Promise<void> {
  const merged = await previousSections();
  for (const [title, section] of sections) merged.set(title, section);
  await writeFile(
    resultsFile,
    ["# Benchmark results\n", ...[...merged.keys()].sort().map((t) => merged.get(t))].join("\n"),
  );
}

/** This run's sections by title; merged into RESULTS.md as it stands at the end (others may have edited it meanwhile). */
const sections = new Map<string, string>();
const summary: string[] = [];
const timings: string[] = [];
let failed = false;
let all = true;
const started = performance.now();
for (const file of (await readdir(dir)).filter((f) => f.endsWith(".ts") && f !== "run.ts").sort()) {
  if (only.length && !only.some((name) => file.startsWith(name))) {
    all = false;
    continue;
  }
  const mod = (await import(pathToFileURL(join(dir, file)).href)) as { bench?: () => Promise<BenchResult> };
  if (typeof mod.bench !== "function") continue;
  const t0 = performance.now();
  const load0 = load();
  let result: BenchResult;
  try {
    result = await mod.bench();
  } catch (err) {
    failed = true;
    all = false;
    const message = err instanceof Error ? err.message : String(err);
    console.error(`bench ${file} failed: ${message}`);
    timings.push(`| ${file} | **failed**: ${message.split("\n")[0]} | ${load0} → ${load()} |`);
    continue;
  }
  const minutes = ((performance.now() - t0) / 60_000).toFixed(1);
  timings.push(`| ${file} | ${minutes} min | ${load0} → ${load()} |`);
  const machine = `Node ${process.version}, ${cpus().length} CPUs (${cpus()[0]?.model ?? "unknown"}), ${new Date().toISOString().slice(0, 10)}.`;
  const section = `## ${result.title}\n\n${machine}\n\n${result.lines.join("\n")}\n`;
  console.log(section);
  sections.set(result.title, section);
  await save();
  const rows = targetRows(result.lines);
  if (rows.length) summary.push(`- **${result.title}**`, ...rows.map((r) => `  - ${cells(r)}`));
}
const total = ((performance.now() - started) / 60_000).toFixed(1);
const report = [
  `${quick ? "Quick mode (BENCH_QUICK=1: fewer repetitions). " : ""}${all ? "All benchmarks" : "These benchmarks"} in one run: ${total} min on ${cpus().length} CPUs, ${new Date().toISOString().slice(0, 16)}Z; load average ${load()} at the end.`,
  "",
  "Every row of the results that says whether its target is met, as the benchmark printed it (its cells joined by ·):",
  "",
  ...summary,
  "",
  "| benchmark | duration | load average (1 min) before → after |",
  "|---|---:|---|",
  ...timings,
];
console.log(`## ${SUMMARY}\n\n${report.join("\n")}\n`);
if (all) sections.set(SUMMARY, `## ${SUMMARY}\n\n${report.join("\n")}\n`);
if (failed) process.exitCode = 1;
await save();
