/**
 * The documentation as the docs tests read it: README.md and docs/**\/*.md,
 * their tested blocks and their anchors.
 *
 * A tested block is a fenced block right after a marker comment:
 *
 *   <!-- tested: test/argocd/install.test.ts (install) -->
 *
 * The marker names the test file that runs the block as written and the
 * block's name, unique across the docs. Test files read their blocks with
 * `docBlock(FILE, NAME)`; test/docs/runnable.test.ts runs every `sh` block
 * marked `<!-- tested: test/docs/runnable.test.ts (NAME) -->` against the test
 * cluster, and fails when a marker names a file that does not read it.
 */
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { repoRoot } from "../../scripts/health-files.ts";

/** README.md and every Markdown page under docs/, repository-relative, in path order. */
export function docFiles(): string[] {
  const pages: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(path.join(repoRoot, dir), { withFileTypes: true })) {
      const rel = path.posix.join(dir, entry.name);
      if (entry.isDirectory()) walk(rel);
      else if (entry.name.endsWith(".md")) pages.push(rel);
    }
  };
  walk("docs");
  return ["README.md", ...pages.sort()];
}

export function readDoc(file: string): string {
  return readFileSync(path.join(repoRoot, file), "utf8");
}

export interface TestedBlock {
  /** The page holding it, repository-relative. */
  page: string;
  /** 1-based line of the marker. */
  line: number;
  /** The test file that runs it, repository-relative. */
  test: string;
  name: string;
  /** The fence's info string (`sh`, `yaml`…). */
  lang: string;
  /** The block's text, its indentation (inside a list item) removed. */
  text: string;
}

const MARKER = /^ *<!-- tested: (\S+) \(([^)]+)\) -->$/gm;

/** Every tested block of one page. */
export function testedBlocks(page: string, text = readDoc(page)): TestedBlock[] {
  const blocks: TestedBlock[] = [];
  for (const match of text.matchAll(MARKER)) {
    const at = match.index + match[0].length;
    const line = text.slice(0, match.index).split("\n").length;
    const fence = /^\s*\n( *)```([a-z]*)\n([\s\S]*?)^\1```$/m.exec(text.slice(at));
    assert.ok(fence && fence.index === 0, `${page}:${line}: a fenced block right after ${match[0]}`);
    const indent = fence[1] ?? "";
    const body = (fence[3] ?? "")
      .split("\n")
      .map((l) => (l.startsWith(indent) ? l.slice(indent.length) : l))
      .join("\n");
    blocks.push({ page, line, test: match[1]!, name: match[2]!, lang: fence[2] ?? "", text: body });
  }
  return blocks;
}

/** Every tested block of README.md and docs/. */
export function allTestedBlocks(): TestedBlock[] {
  return docFiles().flatMap((page) => testedBlocks(page));
}

/** The block marked `<!-- tested: TEST (NAME) -->`, wherever in the docs it is; exactly one. */
export function docBlock(test: string, name: string): string {
  const found = allTestedBlocks().filter((b) => b.test === test && b.name === name);
  assert.equal(found.length, 1, `one block marked <!-- tested: ${test} (${name}) --> in README.md or docs/`);
  return found[0]!.text;
}

/** The text of a page outside fenced blocks and inline code, where links and headings are. */
export function prose(text: string): string {
  return text.replace(/^( *)(```|~~~)[\s\S]*?^\1\2\s*$/gm, "").replace(/`[^`\n]*`/g, "");
}

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to dashes, repeats numbered. */
export function anchors(text: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  const body = text.replace(/^( *)(```|~~~)[\s\S]*?^\1\2\s*$/gm, "");
  for (const match of body.matchAll(/^#{1,6} +(.+?) *#* *$/gm)) {
    const slug = match[1]!
      .replace(/<[^>]+>/g, "")
      .replace(/\[([^\]]*)\]\([^)]*\)/g, "$1")
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\p{M}\p{Pc} -]/gu, "")
      .replace(/ /g, "-");
    const n = seen.get(slug) ?? 0;
    seen.set(slug, n + 1);
    out.add(n ? `${slug}-${n}` : slug);
  }
  for (const match of body.matchAll(/<a (?:id|name)="([^"]+)"/g)) out.add(match[1]!);
  return out;
}
