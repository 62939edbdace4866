/** The README's tested blocks: each test runs the block after its marker as it is written. */
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { repoRoot } from "../../scripts/health-files.ts";

/** The fenced block after the README's `<!-- tested: test/argocd/FILE (NAME) -->` marker. */
export async function readmeBlock(file: string, name: string): Promise<string> {
  const readme = await readFile(path.join(repoRoot, "README.md"), "utf8");
  const marker = `<!-- tested: test/argocd/${file} (${name}) -->`;
  const at = readme.indexOf(marker);
  assert.ok(at >= 0, `README marker ${marker}`);
  const fence = /^( *)```[a-z]*\n([\s\S]*?)^\1```$/m.exec(readme.slice(at + marker.length));
  assert.ok(fence, `a fenced block after ${marker}`);
  const indent = fence[1] ?? "";
  return (fence[2] ?? "")
    .split("\n")
    .map((line) => (line.startsWith(indent) ? line.slice(indent.length) : line))
    .join("\n");
}
