// The layering of src/ (design.md, "Layout") kept as a test: imports flow
// down only, and nothing imports in a circle — type-only imports included,
// since a type cycle is still a design cycle and becomes a runtime one the day
// someone needs a value. dependency-cruiser resolves the imports; the rules
// are below, one per layer.
//
//   node scripts/check-layers.ts            check ./src
//   node scripts/check-layers.ts DIR        check DIR/src (test fixtures)
//
// Prints one line per violation and exits 1 when there is any.
import path from "node:path";
import { cruise } from "dependency-cruiser";
import type { ICruiseResult, IFlattenedRuleSet, IForbiddenRuleType, IViolation } from "dependency-cruiser";

/** Lowest first. A module may import its own layer and the layers before it. */
export const LAYERS: readonly { readonly name: string; readonly paths: readonly string[] }[] = [
  { name: "api, errors, log", paths: ["src/api/", "src/errors.ts", "src/log.ts"] },
  { name: "refs, kube, template", paths: ["src/refs/", "src/kube/", "src/template/"] },
  { name: "providers", paths: ["src/providers/"] },
  { name: "store", paths: ["src/store/"] },
  { name: "render, git, controller", paths: ["src/render/", "src/git/", "src/controller/"] },
  { name: "server", paths: ["src/server/"] },
  { name: "cli", paths: ["src/cli/"] },
];

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
/** `src/api/` matches the folder, `src/errors.ts` the file (and nothing else). */
const pattern = (paths: readonly string[]): string =>
  `^(?:${paths.map((p) => escape(p) + (p.endsWith("/") ? "" : "$")).join("|")})`;

/** Which layer a path (relative to the checked root) is in, or -1. */
export function layerOf(file: string): number {
  return LAYERS.findIndex((l) => l.paths.some((p) => (p.endsWith("/") ? file.startsWith(p) : file === p)));
}

export function ruleSet(): IFlattenedRuleSet {
  const forbidden: IForbiddenRuleType[] = [
    {
      name: "no-circular",
      comment: "no import cycle, type-only imports included",
      severity: "error",
      from: { path: "^src/" },
      to: { circular: true },
    },
  ];
  LAYERS.forEach((layer, i) => {
    const higher = LAYERS.slice(i + 1).flatMap((l) => l.paths);
    if (higher.length === 0) return;
    forbidden.push({
      name: `layer-${i}`,
      comment: `${layer.name} may import only its own layer and lower ones`,
      severity: "error",
      from: { path: pattern(layer.paths) },
      to: { path: pattern(higher) },
    });
  });
  return { forbidden };
}

/**
 * Check `root`/src and return one human-readable line per violation: each
 * upward import, each distinct cycle (once, not once per module in it), each
 * source file that is in no layer (it would escape the check).
 */
export async function checkLayers(root: string): Promise<string[]> {
  const result = await cruise(
    ["src"],
    {
      baseDir: root,
      validate: true,
      ruleSet: ruleSet(),
      tsPreCompilationDeps: true,
      exclude: { path: "\\.test\\.ts$" },
      doNotFollow: { path: "node_modules" },
      outputType: "json",
    },
    { extensions: [".ts", ".js", ".mjs", ".cjs", ".json"] },
  );
  const output: ICruiseResult =
    typeof result.output === "string" ? (JSON.parse(result.output) as ICruiseResult) : result.output;
  // A check that found nothing to check passes vacuously: refuse that.
  if (!output.modules.some((m) => m.source.startsWith("src/")))
    throw new Error(`no source files found under ${path.join(root, "src")}`);
  const lines: string[] = [];
  for (const m of output.modules) {
    if (m.source.startsWith("src/") && !m.coreModule && layerOf(m.source) < 0)
      lines.push(`unlayered: ${m.source} is in no layer; add it to LAYERS in scripts/check-layers.ts`);
  }
  const cycles = new Set<string>();
  for (const v of output.summary.violations as IViolation[]) {
    if (v.rule.name === "no-circular") {
      const ring = [v.from, ...(v.cycle ?? []).map((c) => c.name)];
      if (ring.at(-1) === v.from) ring.pop();
      // One cycle is reported once per module in it: name it from its least module.
      const start = ring.indexOf([...ring].sort()[0]!);
      const canonical = [...ring.slice(start), ...ring.slice(0, start)];
      const key = canonical.join(" → ");
      if (cycles.has(key)) continue;
      cycles.add(key);
      lines.push(`cycle (${canonical.length} files): ${key} → ${canonical[0]}`);
    } else {
      const from = LAYERS[layerOf(v.from)]?.name ?? "?";
      const to = LAYERS[layerOf(v.to)]?.name ?? "?";
      const type = v.dependencyTypes?.includes("type-only") ? " (type-only)" : "";
      lines.push(`upward import${type}: ${v.from} [${from}] imports ${v.to} [${to}]`);
    }
  }
  return lines;
}

if (import.meta.main) {
  const root = path.resolve(process.argv[2] ?? ".");
  const lines = await checkLayers(root);
  for (const line of lines) console.error(line);
  if (lines.length > 0) {
    console.error(
      `layers: ${lines.length} violation(s) in ${path.relative(process.cwd(), root) || "."}/src ` +
        `(order: ${LAYERS.map((l) => l.name).join(" → ")})`,
    );
    process.exit(1);
  }
  console.log(`layers: ok (${LAYERS.map((l) => l.name).join(" → ")}; no cycles)`);
}
