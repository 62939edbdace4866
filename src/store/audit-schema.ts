/**
 * The documented shape of one audit line (docs/audit.md shows its JSON
 * Schema, generated from this one): `refsync audit verify` refuses a line
 * that does not have it, and a test checks that records as written do.
 * Strict: a field this schema does not name is an error, so the shape is
 * the one documented and a value has nowhere to hide. Built on first use:
 * every command that writes records loads this module, only verify reads them.
 */
import { z } from "zod";

function buildAuditRecordSchema() {
  const text = z.string().min(1);

  const subject = z.discriminatedUnion("kind", [
    z.strictObject({ kind: z.literal("ExternalSecret"), namespace: text, name: text, uid: text.optional() }),
    z.strictObject({
      kind: z.literal("Application"),
      name: z.string(),
      project: text.optional(),
      revision: text.optional(),
      path: text.optional(),
    }),
    z.strictObject({ kind: z.literal("Repository"), name: text, branch: text.optional() }),
  ]);

  return z
    .strictObject({
      time: z
        .string()
        .regex(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/)
        .describe("When the operation ended (UTC)."),
      actor: z.strictObject({
        component: z.enum(["controller", "plugin", "cli"]),
        version: text,
        replica: text.optional(),
      }),
      subjects: z.array(subject).describe("Whom the operation served."),
      store: z.string(),
      provider: text,
      identity: z.record(z.string(), z.string()).optional().describe("The backend identity used."),
      operation: text,
      keys: z
        .array(
          z.strictObject({
            key: z.string(),
            property: z.string().optional(),
            version: z.string().optional(),
          }),
        )
        .optional(),
      outcome: z.enum(["ok", "not_found", "denied", "throttled", "error"]),
      reason: text.optional().describe("The typed error's reason, never its message."),
      requestId: text.optional().describe("The backend's request ID(s), comma-separated."),
      durationMs: z.number().int().nonnegative(),
      prev: z
        .string()
        .regex(/^[0-9a-f]{64}$/)
        .describe("The hash of the record before."),
      hash: z
        .string()
        .regex(/^[0-9a-f]{64}$/)
        .describe("SHA-256 of this line as written, without hash."),
    })
    .describe("One refsync audit record: one line of the audit stream.");
}

let built: ReturnType<typeof buildAuditRecordSchema> | undefined;

/** The schema of one record. */
export function auditRecordSchema(): ReturnType<typeof buildAuditRecordSchema> {
  built ??= buildAuditRecordSchema();
  return built;
}

/** The JSON Schema of a record, as docs/audit.md shows it. */
export function auditRecordJsonSchema(): unknown {
  return z.toJSONSchema(auditRecordSchema(), { target: "draft-2020-12" });
}
