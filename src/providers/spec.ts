/**
 * What every provider's section of a store spec shares: the references to
 * Secrets, ServiceAccounts and CA bundles (shaped as ESO's), and the parser
 * that turns the first problems into one InvalidSpecError naming the fields
 * (`spec.provider.fake.data[0].key: …`, `spec.provider.fake.dat: unknown
 * field`), so a store's status says what to fix.
 */
import { z } from "zod";
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

const name = z.string().min(1);
const OWN_OR_ACTING = "a SecretStore's is its own; a ClusterSecretStore's defaults to the ExternalSecret's.";

/** A key of a Secret holding a credential. */
export const secretKeySelector = z.strictObject({
  name: name.describe("Name of the Secret."),
  key: name.describe("The key in the Secret's data."),
  namespace: name.optional().describe(`Namespace of the Secret: ${OWN_OR_ACTING}`),
});
export type SecretKeySelector = z.infer<typeof secretKeySelector>;

/** A ServiceAccount whose token the TokenRequest API issues for the store. */
export const serviceAccountSelector = z.strictObject({
  name: name.describe("Name of the ServiceAccount."),
  namespace: name.optional().describe(`Namespace of the ServiceAccount: ${OWN_OR_ACTING}`),
  audiences: z
    .array(name)
    .optional()
    .describe("Audiences of the token requested (TokenRequest API); unset: the API server's default."),
});
export type ServiceAccountSelector = z.infer<typeof serviceAccountSelector>;

/** The CA bundle in a key of a Secret or ConfigMap. */
export const caProvider = z
  .strictObject({
    type: z.enum(["Secret", "ConfigMap"]).describe("Secret or ConfigMap."),
    name: name.describe("Name of the Secret or ConfigMap."),
    key: name.describe("The key holding the PEM bundle."),
    namespace: name
      .optional()
      .describe(
        "Namespace of the Secret or ConfigMap: a SecretStore's is its own; a ClusterSecretStore must name it for a ConfigMap, a Secret defaults to the ExternalSecret's.",
      ),
  })
  .describe("The CA bundle in a key of a Secret or ConfigMap, instead of caBundle.");
export type CaProvider = z.infer<typeof caProvider>;
