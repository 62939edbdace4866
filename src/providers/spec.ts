/**
 * Validates a provider's section of a store spec with a zod schema, turning
 * the first problems into one InvalidSpecError that names the fields
 * (`spec.provider.fake.data[0].key: …`, `spec.provider.fake.dat: unknown
 * field`), so a store's status says what to fix.
 */
import type { z } from "zod";
import { describeIssues } from "../api/validate.ts";
import { InvalidSpecError } from "../errors.ts";

export function parseProviderSpec<S extends z.ZodType>(
  schema: S,
  spec: unknown,
  specKey: string,
): z.output<S> {
  const result = schema.safeParse(spec);
  if (result.success) return result.data;
  throw new InvalidSpecError(describeIssues(result.error, `spec.provider.${specKey}`));
}
