/**
 * `refsync scan` over history: commits per second on a generated history of
 * 5,000 commits (bench/scan-history.ts), next to `git log -p` over the same
 * history — what a person would otherwise pipe into grep. The scan does more
 * (YAML parsing and rules on every introduced blob) but reads each blob once.
 * Standalone: node bench/scan.ts
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { scan, type ScanOptions } from "../src/git/scan.ts";
import type { BenchResult } from "./run.ts";
import { generateHistory } from "./scan-history.ts";

const COMMITS = 5000;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

async function time(job: () => Promise<unknown>, runs: number): Promise<number> {
  const seconds: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    await job();
    seconds.push((performance.now() - start) / 1000);
  }
  return median(seconds);
}

function gitLogPatch(dir: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn("git", ["log", "-p", "--all"], { cwd: dir, stdio: ["ignore", "ignore", "inherit"] });
    child.on("error", reject);
    child.on("close", (code) => (code === 0 ? resolve() : reject(new Error(`git log exited ${code}`))));
  });
}

export async function bench(): Promise<BenchResult> {
  const dir = mkdtempSync(join(tmpdir(), "refsync-bench-scan-"));
  try {
    const history = await generateHistory(dir, COMMITS);
    const scanWith = (engine: ScanOptions["engine"]) => async () => {
      const report = await scan({ dir, worktree: false, engine });
      if (report.findings.length !== history.secrets) {
        throw new Error(`scan found ${report.findings.length} secrets, ${history.secrets} were planted`);
      }
    };
    const baseline = await time(() => gitLogPatch(dir), 5);
    const cli = await time(scanWith("git"), 3);
    const pure = await time(scanWith("isomorphic-git"), 1);
    const cps = (s: number) => Math.round(COMMITS / s).toLocaleString("en");
    const row = (name: string, s: number) =>
      `| ${name} | ${s.toFixed(2)} s | ${cps(s)} | ${(baseline / s).toFixed(3)}× |`;
    return {
      title: `Scan: ${COMMITS.toLocaleString("en")} commits of history (${history.secrets} planted Secrets, all found)`,
      lines: [
        `| run (median) | time | commits/s | ratio to \`git log -p\` |`,
        `|---|---:|---:|---:|`,
        row("`git log -p --all` (baseline, 5 runs)", baseline),
        row("`refsync scan`, system git engine (3 runs)", cli),
        row("`refsync scan`, isomorphic-git engine (1 run)", pure),
      ],
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.main) {
  const result = await bench();
  console.log(`## ${result.title}\n\n${result.lines.join("\n")}`);
}
