/**
 * The alert rules: the plain rules file is identical to the PrometheusRule,
 * promtool accepts and unit-tests them on synthetic series, every alert's
 * test can fail, and every alert links an existing runbook section.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { parse, stringify } from "yaml";
import {
  readPrometheusRuleSpec,
  renderRulesFile,
  rulesFilePath,
  monitoringDir,
  type RuleGroups,
} from "./rules-file.ts";

const run = promisify(execFile);
const promtoolTests = fileURLToPath(new URL("./promtool/alerts.test.yaml", import.meta.url));
const runbooksPath = fileURLToPath(new URL("../../docs/runbooks.md", import.meta.url));

async function promtool(...args: string[]): Promise<{ ok: boolean; output: string }> {
  try {
    const { stdout, stderr } = await run("promtool", args);
    return { ok: true, output: stdout + stderr };
  } catch (error) {
    const e = error as { code?: unknown; stdout?: string; stderr?: string };
    if (e.code === "ENOENT") throw new Error("promtool not found: install the Debian package `prometheus`");
    return { ok: false, output: `${e.stdout ?? ""}${e.stderr ?? ""}` };
  }
}

function alerts(spec: RuleGroups) {
  return spec.groups.flatMap((g) => g.rules);
}

void test("rules.yaml is the PrometheusRule's spec, byte for byte as generated", async () => {
  const committed = await readFile(rulesFilePath, "utf8");
  assert.equal(committed, await renderRulesFile(), "run `npx node test/observability/rules-file.ts --write`");
  assert.deepEqual(parse(committed), readPrometheusRuleSpec());
});

void test("promtool check rules accepts the rules file", async () => {
  const { ok, output } = await promtool("check", "rules", rulesFilePath);
  assert.ok(ok, output);
  assert.match(output, /SUCCESS: 7 rules found/);
});

void test("promtool unit tests pass on synthetic series", async () => {
  const { ok, output } = await promtool("test", "rules", promtoolTests);
  assert.ok(ok, output);
});

void test("every alert is covered: promtool fails when that alert's expression never fires", async (t) => {
  const spec = readPrometheusRuleSpec();
  const dir = await mkdtemp(join(tmpdir(), "refsync-rules-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const unitTests = parse(await readFile(promtoolTests, "utf8")) as { rule_files: string[] };
  for (const rule of alerts(spec)) {
    const broken: RuleGroups = {
      groups: spec.groups.map((g) => ({
        ...g,
        rules: g.rules.map((r) => (r.alert === rule.alert ? { ...r, expr: "vector(1) == 0" } : r)),
      })),
    };
    const rulesPath = join(dir, `${rule.alert}.rules.yaml`);
    const testsPath = join(dir, `${rule.alert}.test.yaml`);
    await writeFile(rulesPath, stringify(broken));
    await writeFile(testsPath, stringify({ ...unitTests, rule_files: [rulesPath] }));
    const { ok, output } = await promtool("test", "rules", testsPath);
    assert.equal(ok, false, `promtool tests still pass with ${rule.alert} disabled`);
    assert.match(output, new RegExp(`alertname: ${rule.alert}`), output);
  }
});

void test("every alert links a runbook section that exists", async () => {
  const runbooks = await readFile(runbooksPath, "utf8");
  // GitHub's heading anchors: lower case, spaces to dashes, punctuation dropped.
  const anchors = new Set(
    [...runbooks.matchAll(/^#{2,3} (.+)$/gm)].map((m) =>
      m[1]!
        .trim()
        .toLowerCase()
        .replace(/[^\w\- ]/g, "")
        .replace(/ /g, "-"),
    ),
  );
  for (const rule of alerts(readPrometheusRuleSpec())) {
    const url = rule.annotations?.runbook_url ?? "";
    const match = /\/docs\/runbooks\.md#(.+)$/.exec(url);
    assert.ok(match, `${rule.alert}: runbook_url ${url} does not point at docs/runbooks.md`);
    assert.ok(anchors.has(match[1]!), `${rule.alert}: no section #${match[1]} in docs/runbooks.md`);
    assert.ok(rule.annotations?.summary, `${rule.alert}: no summary`);
    assert.ok(rule.labels?.severity, `${rule.alert}: no severity`);
  }
});

void test("the kustomization ships the PrometheusRule and the Grafana dashboard", async () => {
  const k = parse(await readFile(join(monitoringDir, "kustomization.yaml"), "utf8")) as {
    resources: string[];
    configMapGenerator: { files: string[] }[];
  };
  assert.deepEqual(k.resources, ["prometheus-rule.yaml"]);
  assert.deepEqual(
    k.configMapGenerator.flatMap((g) => g.files),
    ["grafana-dashboard.json"],
  );
});
