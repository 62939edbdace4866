/**
 * The scan allow-list (`.refsync-scan-allow.yaml`): findings a team has
 * reviewed and accepted (test fixtures, rotated credentials deep in history).
 * Every entry must say why, and must select something, so that an entry can
 * never silence the whole scan by accident.
 *
 *   allow:
 *     - path: "test/fixtures/**"
 *       reason: fake credentials for tests
 *     - rule: kubernetes-secret-literal
 *       commit: 3f2a9c1        # a commit id prefix
 *       object: Secret/db
 *       key: stringData.password
 *       reason: rotated on 2024-05-01
 */
import { readFile } from "node:fs/promises";
import { matchesGlob } from "node:path";
import { parse } from "yaml";
import { z } from "zod";

export const ALLOW_FILE = ".refsync-scan-allow.yaml";

const entrySchema = z
  .object({
    rule: z.string().min(1).optional(),
    path: z.string().min(1).optional(),
    object: z.string().min(1).optional(),
    key: z.string().min(1).optional(),
    commit: z
      .string()
      .regex(/^[0-9a-f]{4,40}$/, "must be a commit id (or a prefix of at least 4 hex digits)")
      .optional(),
    reason: z.string().trim().min(1, "every entry needs a reason"),
  })
  .strict()
  .refine((e) => e.rule ?? e.path ?? e.object ?? e.key ?? e.commit, {
    message: "an entry must select something: rule, path, object, key or commit",
  });

const fileSchema = z.object({ allow: z.array(entrySchema).default([]) }).strict();

export type AllowEntry = z.infer<typeof entrySchema>;

/** What an allow-list entry is matched against: the finding's location, never its value. */
export interface Located {
  rule: string;
  file: string;
  object?: string;
  key?: string;
  commit?: string;
}

export class AllowList {
  readonly entries: readonly AllowEntry[];
  constructor(entries: readonly AllowEntry[] = []) {
    this.entries = entries;
  }

  allows(finding: Located): boolean {
    return this.entries.some(
      (e) =>
        (e.rule === undefined || e.rule === finding.rule) &&
        (e.path === undefined || matchesGlob(finding.file, e.path)) &&
        (e.object === undefined || (finding.object !== undefined && matchesGlob(finding.object, e.object))) &&
        (e.key === undefined || (finding.key !== undefined && matchesGlob(finding.key, e.key))) &&
        (e.commit === undefined || (finding.commit?.startsWith(e.commit) ?? false)),
    );
  }
}

/** Parses an allow-list; errors name the file, the entry and the field. */
export function parseAllowList(text: string, file: string): AllowList {
  let raw: unknown;
  try {
    raw = parse(text) ?? {};
  } catch (err) {
    throw new Error(`${file}: not valid YAML: ${(err as Error).message}`);
  }
  const result = fileSchema.safeParse(raw);
  if (!result.success) {
    const issues = result.error.issues.map((i) => `${file}: ${formatPath(i.path)}: ${i.message}`);
    throw new Error(issues.join("\n"));
  }
  return new AllowList(result.data.allow);
}

function formatPath(path: PropertyKey[]): string {
  return (
    path
      .map((p) => (typeof p === "number" ? `[${p}]` : `.${String(p)}`))
      .join("")
      .replace(/^\./, "") || "(root)"
  );
}

/** Reads the allow-list at `file`; a missing file is an empty list unless it was asked for explicitly. */
export async function loadAllowList(file: string, required: boolean): Promise<AllowList> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    if (!required && (err as NodeJS.ErrnoException).code === "ENOENT") return new AllowList();
    throw new Error(`${file}: cannot read allow-list: ${(err as Error).message}`);
  }
  return parseAllowList(text, file);
}
