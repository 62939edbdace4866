/**
 * The Grafana dashboard has exactly the agreed panels, every PromQL
 * expression in it and in the alerts parses (promtool), and every metric
 * they use is registered by the controller's metrics. The same names are
 * checked against a running controller's /metrics in dashboard.test.ts.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import { stringify } from "yaml";
import { ControllerMetrics } from "../../src/controller/metrics.ts";
import { allExpressions, familyCandidates, metricNames, readDashboard } from "./promql.ts";

const run = promisify(execFile);

void test("the dashboard has exactly the agreed panels", () => {
  assert.deepEqual(
    readDashboard().panels.map((p) => p.title),
    [
      "Error rate per store",
      "Store readiness",
      "Secret age vs refresh interval",
      "Reconcile latency p50 / p99",
      "Provider calls and throttling",
      "Cache hit ratio",
      "Queue depth and reads in flight",
      "Stale pods",
      "Rollouts",
    ],
  );
});

void test("metric names are extracted from PromQL, not labels, functions or strings", () => {
  assert.deepEqual(
    metricNames(
      'histogram_quantile(0.99, sum by (le, store) (rate(x_bucket{a="b_c",d!~"e|f"}[5m]))) / y or vector(0)',
    ),
    ["x_bucket", "y"],
  );
  for (const { where, expr } of allExpressions())
    assert.ok(metricNames(expr).length > 0, `${where}: no metric found`);
});

void test("every dashboard and alert expression is valid PromQL (promtool)", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "refsync-promql-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const rules = allExpressions().map((e, i) => ({ record: `refsync:check:${i}`, expr: e.expr }));
  const file = join(dir, "exprs.yaml");
  await writeFile(file, stringify({ groups: [{ name: "exprs", rules }] }));
  const result = await run("promtool", ["check", "rules", file]).catch(
    (e: { stdout?: string; stderr?: string }) => e,
  );
  assert.match(
    `${result.stdout ?? ""}${result.stderr ?? ""}`,
    new RegExp(`SUCCESS: ${rules.length} rules found`),
  );
});

void test("every metric the dashboard and alerts use is registered by the controller", async () => {
  const metrics = new ControllerMetrics();
  const registered = new Set((await metrics.registry.getMetricsAsJSON()).map((m) => m.name));
  for (const { where, expr } of allExpressions()) {
    for (const name of metricNames(expr)) {
      assert.ok(
        familyCandidates(name).some((n) => registered.has(n)),
        `${where}: ${name} is not exported`,
      );
    }
  }
});
