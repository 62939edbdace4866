/**
 * `spec.provider.vault` of a SecretStore: parsed and checked here, so that
 * every mistake is an InvalidSpecError naming the field. Shapes follow
 * External Secrets Operator's Vault provider.
 */
import { z } from "zod";
import { describeIssues } from "../../api/validate.ts";
import { InvalidSpecError } from "../../errors.ts";
import { caProvider, secretKeySelector, serviceAccountSelector } from "../spec.ts";

const name = z.string().min(1);

const auth = z
  .strictObject({
    tokenSecretRef: secretKeySelector
      .optional()
      .describe("A static Vault token kept in a Secret (the store reports a StaticCredentials warning)."),
    appRole: z
      .strictObject({
        path: name.default("approle").describe("Mount path of the AppRole auth method."),
        roleId: name.describe("The AppRole's role ID."),
        secretRef: secretKeySelector.describe("The Secret key holding the AppRole's secret ID."),
      })
      .optional()
      .describe("Log in with an AppRole role ID and secret ID."),
    kubernetes: z
      .strictObject({
        mountPath: name.default("kubernetes").describe("Mount path of the Kubernetes auth method."),
        role: name.describe("The Vault role to log in as."),
        /** Without it, the controller's own projected service-account token is used. */
        serviceAccountRef: serviceAccountSelector
          .optional()
          .describe(
            "The ServiceAccount whose token (TokenRequest API) logs in; unset: the controller's own token.",
          ),
      })
      .optional()
      .describe("Log in with a Kubernetes service-account token (Vault's Kubernetes auth method)."),
    jwt: z
      .strictObject({
        path: name.default("jwt").describe("Mount path of the JWT/OIDC auth method."),
        role: name.describe("The Vault role to log in as."),
        secretRef: secretKeySelector.optional().describe("The Secret key holding the JWT."),
        kubernetesServiceAccountToken: z
          .strictObject({
            serviceAccountRef: serviceAccountSelector.describe("The ServiceAccount whose token is the JWT."),
          })
          .optional()
          .describe("Use a service-account token requested through the TokenRequest API as the JWT."),
      })
      .refine((jwt) => (jwt.secretRef === undefined) !== (jwt.kubernetesServiceAccountToken === undefined), {
        message: "set exactly one of secretRef and kubernetesServiceAccountToken",
      })
      .optional()
      .describe(
        "Log in with a JWT (Vault's JWT/OIDC auth method): set exactly one of secretRef and kubernetesServiceAccountToken.",
      ),
  })
  .refine((value) => Object.values(value).filter((method) => method !== undefined).length === 1, {
    message: "set exactly one of tokenSecretRef, appRole, kubernetes, jwt",
  });

export const vaultSpecSchema = z
  .strictObject({
    server: z
      .url({ protocol: /^https?$/ })
      .describe("Address of the Vault server, such as https://vault.example:8200."),
    /** The KV (or other engine's) mount; unset: the first segment of each key is the mount. */
    path: name
      .optional()
      .describe(
        "The KV (or other engine's) mount, such as secret. Unset: the first segment of each key is the mount.",
      ),
    version: z.enum(["v1", "v2"]).default("v2").describe("Version of the KV engine: v1 or v2."),
    /** Vault Enterprise namespace (X-Vault-Namespace). */
    namespace: name.optional().describe("Vault Enterprise namespace (X-Vault-Namespace header)."),
    /** Base64-encoded PEM bundle of the CA(s) that signed the server's certificate. */
    caBundle: z
      .base64()
      .optional()
      .describe(
        "Base64-encoded PEM of the CA(s) that signed the server's certificate. Unset: the system's roots.",
      ),
    caProvider: caProvider.optional(),
    auth: auth.describe(
      "How the controller logs in to Vault: set exactly one of tokenSecretRef, appRole, kubernetes, jwt.",
    ),
  })
  .describe("HashiCorp Vault: KV v1 or v2 and other secrets engines, such as database credentials.");

export type VaultSpec = z.infer<typeof vaultSpecSchema>;
export type VaultAuthSpec = VaultSpec["auth"];

/** Parses a store's `spec.provider.vault`; throws InvalidSpecError naming the first bad field. */
export function parseVaultSpec(spec: unknown, storeName: string): VaultSpec {
  const result = vaultSpecSchema.safeParse(spec);
  if (result.success) return result.data;
  const problems = describeIssues(result.error, "spec.provider.vault");
  throw new InvalidSpecError(`${storeName}: invalid Vault provider spec: ${problems}`);
}
