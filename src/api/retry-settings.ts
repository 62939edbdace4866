/**
 * `retrySettings`, as ESO spells it for stores and for its VaultDynamicSecret
 * generator: failed backend calls made again (src/store/retry.ts runs them).
 * Apart from ./schema.ts so that ./generators.ts, which it imports, can use it too.
 */
import { z } from "zod";
import { DURATION } from "./duration.ts";

export const retrySettingsSchema = z
  .strictObject({
    maxRetries: z
      .number()
      .int()
      .min(0)
      .optional()
      .describe("Further attempts of a failed backend call, 0 or more. Defaults to 3."),
    retryInterval: z
      .string()
      .regex(DURATION, "must be a duration like 1s, 500ms or 1m (units h, m, s, ms)")
      .optional()
      .describe("The wait between attempts, or longer when the backend asks (Retry-After). Defaults to 1s."),
  })
  .describe(
    "Backend calls that fail for a reason that may pass (unavailable, throttled, an unexpected error; not not-found, denied or a bad spec) are made again, after the provider client's own retries. Unset: no retries here; the controller retries the ExternalSecret with back-off.",
  );
