/**
 * Validates a provider's section of a store spec with a zod schema, turning
 * the first problems into one InvalidSpecError that names the fields
 * (`spec.provider.fake.data[0].key: …`), so a store's status says what to fix.
 */
import type { z } from "zod";
import { InvalidSpecError } from "./errors.ts";

export function parseProviderSpec<S extends z.ZodType>(
  schema: S,
  spec: unknown,
  specKey: string,
): z.output<S> {
  const result = schema.safeParse(spec);
  if (result.success) return result.data;
  const problems = result.error.issues.slice(0, 3).map((issue) => {
    const path = issue.path.map((p) => (typeof p === "number" ? `[${p}]` : `.${String(p)}`)).join("");
    return `spec.provider.${specKey}${path}: ${issue.message}`;
  });
  throw new InvalidSpecError(problems.join("; "));
}
