/**
 * manifests/monitoring/rules.yaml is the PrometheusRule's `spec` in plain
 * Prometheus rule-file form (what promtool and operator-less Prometheus read).
 * It is generated from prometheus-rule.yaml so the two cannot drift:
 *   npx node test/observability/rules-file.ts --write
 */
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { format } from "prettier";
import { parse, stringify } from "yaml";

export const monitoringDir = fileURLToPath(new URL("../../manifests/monitoring/", import.meta.url));
export const prometheusRulePath = `${monitoringDir}prometheus-rule.yaml`;
export const rulesFilePath = `${monitoringDir}rules.yaml`;

const header =
  "# Generated from prometheus-rule.yaml by test/observability/rules-file.ts --write; do not edit.\n" +
  "# The same alerts in plain Prometheus rule-file form (promtool, Prometheus without the operator).\n";

export interface AlertRule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface RuleGroups {
  groups: { name: string; rules: AlertRule[] }[];
}

export function readPrometheusRuleSpec(): RuleGroups {
  const doc = parse(readFileSync(prometheusRulePath, "utf8")) as { kind: string; spec: RuleGroups };
  if (doc.kind !== "PrometheusRule")
    throw new Error(`${prometheusRulePath}: kind is ${doc.kind}, expected PrometheusRule`);
  return doc.spec;
}

/** Formatted as `prettier` would, so `npm run lint` and this file agree. */
export async function renderRulesFile(spec: RuleGroups = readPrometheusRuleSpec()): Promise<string> {
  return format(header + stringify(spec, { lineWidth: 0 }), { filepath: rulesFilePath });
}

if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv.includes("--write")) {
  writeFileSync(rulesFilePath, await renderRulesFile());
  console.log(`wrote ${rulesFilePath}`);
}
