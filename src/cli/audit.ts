/**
 * `refsync audit verify FILE…`: checks the hash chain of audit files (oldest
 * first; a rotated set in order). Prints one line; exit 1 at the first broken
 * line, naming it.
 */
import { verifyAudit } from "../store/audit.ts";

const USAGE = `usage: refsync audit verify FILE...

Checks the hash chain of refsync audit files (JSON lines written by
--audit-log or REFSYNC_AUDIT_LOG), oldest file first: a rotated set as
FILE.N ... FILE.1 FILE. Prints the first edited, removed, inserted or
reordered line, or one that is not an audit record, and exits 1; exits 0
when the chain holds.
`;

export function auditCommand(
  argv: string[],
  io: { stdout: { write(s: string): unknown }; stderr: { write(s: string): unknown } } = process,
): number {
  const [sub, ...files] = argv;
  if (sub === "--help" || sub === "-h") {
    io.stdout.write(USAGE);
    return 0;
  }
  if (sub !== "verify" || files.length === 0 || files.some((f) => f.startsWith("-"))) {
    io.stderr.write(USAGE);
    return 2;
  }
  const result = verifyAudit(files);
  if (!result.ok) {
    io.stdout.write(`${result.file}:${result.line}: ${result.problem}\n`);
    return 1;
  }
  io.stdout.write(`ok: ${result.records} records, chain intact (last hash ${result.lastHash})\n`);
  return 0;
}
