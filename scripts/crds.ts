// Writes manifests/crds/*.yaml from the zod schemas (src/api/crds.ts): `npm run crds`.
// `npm run crds -- --check` writes nothing and fails when a committed file differs;
// test/controller/crds.test.ts does the same check.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import * as prettier from "prettier";
import { stringify } from "yaml";
import { crdFiles } from "../src/api/crds.ts";
import { allProviders } from "../src/providers/registry.ts";

export const CRD_DIR = join(import.meta.dirname, "..", "manifests", "crds");

/** Each CRD file's name and text, as `npm run crds` writes it (Prettier-formatted, as the repository's YAML is). */
export async function renderCrdFiles(): Promise<Map<string, string>> {
  const options = (await prettier.resolveConfig(join(CRD_DIR, "x.yaml"))) ?? {};
  const files = new Map<string, string>();
  const sections = Object.fromEntries(allProviders().map((p) => [p.specKey, p.specSchema()]));
  for (const { file, header, crd } of crdFiles(sections)) {
    const text = [
      ...header.map((line) => `# ${line}`),
      "# Generated from the zod schemas of src/api/schema.ts and src/providers: edit those, then run",
      "# `npm run crds`. Do not edit by hand.",
      stringify(crd, { lineWidth: 0 }),
    ].join("\n");
    files.set(file, await prettier.format(text, { ...options, parser: "yaml" }));
  }
  return files;
}

async function main(): Promise<number> {
  const check = process.argv.includes("--check");
  const stale: string[] = [];
  for (const [file, text] of await renderCrdFiles()) {
    const path = join(CRD_DIR, file);
    let committed: string | undefined;
    try {
      committed = readFileSync(path, "utf8");
    } catch {
      committed = undefined;
    }
    if (committed === text) continue;
    stale.push(file);
    if (!check) writeFileSync(path, text);
  }
  if (check && stale.length) {
    console.error(`manifests/crds: ${stale.join(", ")} differ from the schemas; run npm run crds`);
    return 1;
  }
  console.log(stale.length ? `wrote ${stale.join(", ")}` : "manifests/crds is up to date");
  return 0;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) process.exitCode = await main();
