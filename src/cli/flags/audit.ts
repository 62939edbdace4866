/**
 * --audit-log and --audit-required of the one-shot commands (the plugin's
 * generate/render, migrate): their audit stream goes to stderr or a file,
 * never stdout, which carries the command's own output. Defaults come from
 * the operator's REFSYNC_AUDIT_LOG and REFSYNC_AUDIT_REQUIRED=true.
 */
import { Auditor, AuditWriter, type AuditRecord } from "../../store/audit.ts";
import { parseAuditTarget } from "../../store/audit-sink.ts";

export const auditFlagOptions = {
  "audit-log": { type: "string" },
  "audit-required": { type: "boolean" },
} as const;

export const auditUsage = `  --audit-log stderr|file:PATH  a hash-chained audit record of every backend call (- is stderr,
                           a bare path a file; default: REFSYNC_AUDIT_LOG; see docs/audit.md)
  --audit-required         fail when the audit record cannot be written
                           (default: REFSYNC_AUDIT_REQUIRED=true, else warn on stderr and go on)`;

/** The command's auditor, or undefined when audit is off; throws an Error naming the flag on bad input. */
export function commandAuditor(
  values: { "audit-log"?: string; "audit-required"?: boolean },
  env: NodeJS.ProcessEnv,
  stderr: { write(text: string): unknown },
  actor: AuditRecord["actor"],
): Auditor | undefined {
  const log = values["audit-log"] ?? (env.REFSYNC_AUDIT_LOG || undefined);
  const required = values["audit-required"] ?? env.REFSYNC_AUDIT_REQUIRED === "true";
  if (log === undefined) {
    if (values["audit-required"]) throw new Error("--audit-required: needs --audit-log");
    return undefined;
  }
  let target;
  try {
    target = parseAuditTarget(log, "stderr");
  } catch (err) {
    throw new Error(`--audit-log: ${(err as Error).message}`);
  }
  if (target.kind === "stdout")
    throw new Error("--audit-log: stdout carries the command's output; use stderr or file:PATH");
  const writer = new AuditWriter(target, {
    onFailure: (error) =>
      stderr.write(`refsync: audit record not written (${error.message})${required ? "" : "; going on"}\n`),
  });
  return new Auditor(writer, actor, { required });
}
