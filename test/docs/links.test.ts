/**
 * The docs hold together: every relative link and #anchor in README.md and
 * docs/ resolves (GitHub's heading anchors), README's map links every page,
 * and every page links back to the map. No cluster needed.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import path from "node:path";
import { describe, test } from "node:test";
import { repoRoot } from "../../scripts/health-files.ts";
import { anchors, docFiles, prose, readDoc } from "./markdown.ts";

/** Where README's map of the docs is. */
const MAP = "README.md#documentation";

/** The link targets of a page's prose: inline links, reference definitions and HTML hrefs. */
function links(text: string): string[] {
  const body = prose(text);
  const out: string[] = [];
  for (const m of body.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) out.push(m[1]!);
  for (const m of body.matchAll(/^\s*\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)/gm)) out.push(m[1]!);
  for (const m of body.matchAll(/<a [^>]*href="([^"]+)"/g)) out.push(m[1]!);
  return out;
}

const external = (target: string) => /^[a-z][a-z0-9+.-]*:/i.test(target);

/** `page`-relative target → repository-relative path and anchor. */
function resolve(page: string, target: string): { file: string; anchor?: string } {
  const [raw, anchor] = target.split("#", 2) as [string, string | undefined];
  const file = raw ? path.posix.normalize(path.posix.join(path.posix.dirname(page), decodeURI(raw))) : page;
  return {
    file: file.replace(/\/$/, ""),
    anchor: anchor === undefined ? undefined : decodeURIComponent(anchor),
  };
}

const pages = docFiles();

void describe("links in README.md and docs/", () => {
  for (const page of pages) {
    void test(`${page}: every relative link and anchor resolves`, () => {
      const problems: string[] = [];
      for (const target of links(readDoc(page))) {
        if (external(target)) continue;
        const { file, anchor } = resolve(page, target);
        if (file.startsWith("..") || !existsSync(path.join(repoRoot, file))) {
          problems.push(`${target}: no file ${file}`);
          continue;
        }
        if (anchor !== undefined && !(file.endsWith(".md") && anchors(readDoc(file)).has(anchor)))
          problems.push(`${target}: no section #${anchor} in ${file}`);
      }
      assert.deepEqual(problems, []);
    });
  }

  void test("README's map links every page of docs/", () => {
    const linked = new Set(
      links(readDoc("README.md"))
        .filter((t) => !external(t))
        .map((t) => resolve("README.md", t).file),
    );
    const missing = pages.filter((p) => p !== "README.md" && !linked.has(p));
    assert.deepEqual(missing, [], "pages missing from README's map");
  });

  for (const page of pages.filter((p) => p !== "README.md")) {
    void test(`${page}: a title, a paragraph saying what it covers, a link back to the map`, () => {
      const text = readDoc(page);
      assert.match(text, /^# \S.*\n\n[^#\n`|<-]/, "a title, then a paragraph");
      const back = links(text)
        .filter((t) => !external(t))
        .some((t) => {
          const { file, anchor } = resolve(page, t);
          return `${file}#${anchor}` === MAP;
        });
      assert.ok(back, `no link back to ${MAP}`);
    });
  }
});
