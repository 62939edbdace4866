/**
 * Lets a benchmark module run on its own (`node bench/herd.ts`) as well as
 * from bench/run.ts. (No `bench()` export: bench/run.ts skips this module.)
 */
import type { BenchResult } from "./run.ts";

/** Runs `bench` and prints its result when `moduleFile` is the script node was started with. */
export async function runIfMain(moduleFile: string, bench: () => Promise<BenchResult>): Promise<void> {
  if (moduleFile !== process.argv[1]) return;
  const result = await bench();
  console.log(`## ${result.title}\n\n${result.lines.join("\n")}`);
}
