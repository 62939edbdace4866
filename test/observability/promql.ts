/**
 * The PromQL our dashboard and alerts use, and the metric names in it. The
 * extraction is deliberately simple (our expressions, not all of PromQL):
 * strip strings, label matchers, ranges and grouping clauses; what remains
 * that is not a function, keyword or number is a metric name. Syntax is
 * checked separately by promtool.
 */
import { readFileSync } from "node:fs";
import { monitoringDir, readPrometheusRuleSpec } from "./rules-file.ts";

export const dashboardPath = `${monitoringDir}grafana-dashboard.json`;

export interface Dashboard {
  title: string;
  panels: { title: string; targets: { expr: string }[] }[];
}

export function readDashboard(): Dashboard {
  return JSON.parse(readFileSync(dashboardPath, "utf8")) as Dashboard;
}

export interface Expression {
  where: string;
  expr: string;
}

export function allExpressions(): Expression[] {
  const fromDashboard = readDashboard().panels.flatMap((p) =>
    p.targets.map((t) => ({ where: `grafana-dashboard.json panel "${p.title}"`, expr: t.expr })),
  );
  const fromRules = readPrometheusRuleSpec().groups.flatMap((g) =>
    g.rules.map((r) => ({ where: `prometheus-rule.yaml alert ${r.alert}`, expr: r.expr })),
  );
  return [...fromDashboard, ...fromRules];
}

const notMetrics = new Set([
  "sum",
  "min",
  "max",
  "avg",
  "count",
  "topk",
  "bottomk",
  "rate",
  "irate",
  "increase",
  "histogram_quantile",
  "vector",
  "absent",
  "or",
  "and",
  "unless",
  "by",
  "without",
  "on",
  "ignoring",
  "group_left",
  "group_right",
  "bool",
  "offset",
  "clamp_min",
  "clamp_max",
  "time",
  "scalar",
]);

export function metricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, " ")
    .replace(/\{[^}]*\}/g, " ")
    .replace(/\[[^\]]*\]/g, " ")
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, " ");
  const names = (stripped.match(/[A-Za-z_:][A-Za-z0-9_:]*/g) ?? []).filter((t) => !notMetrics.has(t));
  return [...new Set(names)];
}

/** The family a sample name belongs to: histogram series end in _bucket, _sum, _count. */
export function familyCandidates(name: string): string[] {
  const base = /^(.*)_(bucket|sum|count)$/.exec(name)?.[1];
  return base ? [name, base] : [name];
}
