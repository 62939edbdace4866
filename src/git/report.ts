/**
 * Scan reports as text (people), JSON (scripts) and SARIF 2.1.0 (code-scanning
 * UIs). Every format says where a finding is and never what it is: the
 * detector does not keep matched text, so there is nothing to leak.
 */
import { createHash } from "node:crypto";
import { ALL_RULES } from "./rules.ts";
import type { Finding, ScanReport } from "./scan.ts";

export type ReportFormat = "text" | "json" | "sarif";

export function formatReport(report: ScanReport, format: ReportFormat, version: string): string {
  switch (format) {
    case "json":
      return JSON.stringify(report, null, 2) + "\n";
    case "sarif":
      return JSON.stringify(toSarif(report, version), null, 2) + "\n";
    case "text":
      return toText(report);
  }
}

function describe(f: Finding): string {
  return [f.object, f.key].filter((s) => s !== undefined).join(" ");
}

function toText(report: ScanReport): string {
  const lines = report.findings.map((f) => {
    const where = f.commit
      ? `commit ${f.commit.slice(0, 12)} (${f.date?.slice(0, 10) ?? ""})`
      : "working tree";
    return `${f.file}:${f.line}: ${f.rule}: ${describe(f) || "(line)"} [${where}]`;
  });
  for (const s of report.skipped) {
    const where = s.commit ? ` at commit ${s.commit.slice(0, 12)}` : "";
    lines.push(`${s.file}: not scanned: ${s.size} bytes is over the size limit${where}`);
  }
  const inTree = report.findings.filter((f) => !f.commit).length;
  const summary =
    `${report.findings.length} finding(s): ${inTree} in the working tree, ${report.findings.length - inTree} in history ` +
    `(${report.stats.files} files, ${report.stats.commits} commits, ${report.stats.blobs} blobs scanned` +
    `${report.allowed ? `; ${report.allowed} allowed by the allow-list` : ""})`;
  lines.push(summary);
  return lines.join("\n") + "\n";
}

/** A stable identity for a finding across runs, from its location only. */
function fingerprint(f: Finding): string {
  return createHash("sha256")
    .update([f.rule, f.file, f.object ?? "", f.key ?? "", f.commit ?? ""].join("\0"))
    .digest("hex");
}

function toSarif(report: ScanReport, version: string): object {
  const ruleIndex = new Map(ALL_RULES.map((r, i) => [r.id, i]));
  return {
    $schema: "https://json.schemastore.org/sarif-2.1.0.json",
    version: "2.1.0",
    runs: [
      {
        tool: {
          driver: {
            name: "refsync",
            version,
            informationUri: "https://github.com/refsync/refsync",
            rules: ALL_RULES.map((r) => ({
              id: r.id,
              name: r.title
                .split(/[^A-Za-z0-9]+/)
                .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
                .join(""),
              shortDescription: { text: r.title },
              fullDescription: { text: r.description },
              defaultConfiguration: { level: "error" },
            })),
          },
        },
        results: report.findings.map((f) => ({
          ruleId: f.rule,
          ruleIndex: ruleIndex.get(f.rule),
          level: "error",
          message: {
            text:
              `${ALL_RULES[ruleIndex.get(f.rule) ?? 0]?.title ?? f.rule}` +
              (describe(f) ? ` at ${describe(f)}` : "") +
              (f.commit ? ` (introduced in commit ${f.commit})` : ""),
          },
          locations: [
            {
              physicalLocation: {
                artifactLocation: { uri: encodeURI(f.file), uriBaseId: "%SRCROOT%" },
                region: { startLine: f.line },
              },
              ...(f.object || f.key ? { logicalLocations: [{ fullyQualifiedName: describe(f) }] } : {}),
            },
          ],
          partialFingerprints: { "refsyncFinding/v1": fingerprint(f) },
          ...(f.commit ? { properties: { commit: f.commit, date: f.date } } : {}),
        })),
        properties: { allowed: report.allowed, skipped: report.skipped, stats: report.stats },
      },
    ],
  };
}
