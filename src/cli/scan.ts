/**
 * `refsync scan [repo]`: report plaintext secrets in the working tree and the
 * history. Exit 0 when clean, 1 when something is found, 2 on bad usage or an
 * unreadable repository — so CI and pre-commit hooks can gate on it.
 */
import { readFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { ALLOW_FILE, loadAllowList } from "../git/allowlist.ts";
import { parseCommandLine, processIO, runCommand, type CommandIO } from "./command-line.ts";
import { UsageError } from "../errors.ts";
import { ttyProgress } from "../git/progress.ts";
import { formatReport, type ReportFormat } from "../git/report.ts";
import { DEFAULT_MAX_FILE_SIZE, scan } from "../git/scan.ts";
import { workTreeRoot } from "../git/history.ts";

export const scanUsage = `usage: refsync scan [repo] [options]
  --format text|json|sarif   report format (default text)
  --output FILE              write the report to FILE instead of stdout
  --ref REF                  start the history walk at REF (repeatable; default: HEAD, every branch and tag)
  --since DATE               only commits made at or after DATE (e.g. 2024-01-01)
  --no-history               scan the working tree only
  --no-worktree              scan the history only
  --allow FILE               allow-list (default: <repo>/${ALLOW_FILE} when present)
  --max-file-size BYTES      skip larger files (default ${DEFAULT_MAX_FILE_SIZE})`;

const FORMATS: readonly ReportFormat[] = ["text", "json", "sarif"];

export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
    version: string;
  };
  return pkg.version;
}

export function scanCommand(argv: string[], io: CommandIO = processIO): Promise<number> {
  return runCommand(
    "scan",
    scanUsage,
    io,
    async () => {
      const { values, positionals } = parseCommandLine(argv, {
        format: { type: "string", default: "text" },
        output: { type: "string" },
        ref: { type: "string", multiple: true },
        since: { type: "string" },
        history: { type: "boolean", default: true },
        worktree: { type: "boolean", default: true },
        allow: { type: "string" },
        "max-file-size": { type: "string" },
      });
      if (positionals.length > 1) throw new UsageError("at most one repository path");
      const format = values.format as ReportFormat;
      if (!FORMATS.includes(format)) throw new UsageError(`--format must be one of ${FORMATS.join(", ")}`);
      const since = values.since === undefined ? undefined : new Date(values.since);
      if (since && Number.isNaN(since.getTime()))
        throw new UsageError(`--since: not a date: ${values.since}`);
      const maxFileSize =
        values["max-file-size"] === undefined ? DEFAULT_MAX_FILE_SIZE : Number(values["max-file-size"]);
      if (!Number.isInteger(maxFileSize) || maxFileSize <= 0) {
        throw new UsageError("--max-file-size must be a positive integer");
      }

      const dir = await workTreeRoot(resolve(positionals[0] ?? "."));
      const allow = await loadAllowList(values.allow ?? join(dir, ALLOW_FILE), values.allow !== undefined);
      const report = await scan({
        dir,
        worktree: values.worktree,
        history: values.history,
        ...(values.ref ? { refs: values.ref } : {}),
        ...(since ? { since } : {}),
        allow,
        maxFileSize,
        progress: ttyProgress(io.stderr),
      });
      const text = formatReport(report, format, packageVersion());
      if (values.output) await writeFile(values.output, text);
      else io.stdout.write(text);
      if (values.output && format !== "text") io.stderr.write(`${report.findings.length} finding(s)\n`);
      return report.findings.length > 0 ? 1 : 0;
    },
    argv,
  );
}
