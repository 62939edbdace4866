/**
 * `spec.provider.vault` of a SecretStore: parsed and checked here, so that
 * every mistake is an InvalidSpecError naming the field. Shapes follow
 * External Secrets Operator's Vault provider.
 */
import { z } from "zod";
import { describeIssues } from "../../api/validate.ts";
import { InvalidSpecError } from "../../errors.ts";

const name = z.string().min(1);

const secretKeySelector = z.strictObject({ name, key: name, namespace: name.optional() });

const serviceAccountRef = z.strictObject({
  name,
  namespace: name.optional(),
  audiences: z.array(name).optional(),
});

const auth = z
  .strictObject({
    tokenSecretRef: secretKeySelector.optional(),
    appRole: z
      .strictObject({ path: name.default("approle"), roleId: name, secretRef: secretKeySelector })
      .optional(),
    kubernetes: z
      .strictObject({
        mountPath: name.default("kubernetes"),
        role: name,
        /** Without it, the controller's own projected service-account token is used. */
        serviceAccountRef: serviceAccountRef.optional(),
      })
      .optional(),
    jwt: z
      .strictObject({
        path: name.default("jwt"),
        role: name,
        secretRef: secretKeySelector.optional(),
        kubernetesServiceAccountToken: z.strictObject({ serviceAccountRef }).optional(),
      })
      .refine((jwt) => (jwt.secretRef === undefined) !== (jwt.kubernetesServiceAccountToken === undefined), {
        message: "set exactly one of secretRef and kubernetesServiceAccountToken",
      })
      .optional(),
  })
  .refine((value) => Object.values(value).filter((method) => method !== undefined).length === 1, {
    message: "set exactly one of tokenSecretRef, appRole, kubernetes, jwt",
  });

export const vaultSpecSchema = z.strictObject({
  server: z.url({ protocol: /^https?$/ }),
  /** The KV (or other engine's) mount; unset: the first segment of each key is the mount. */
  path: name.optional(),
  version: z.enum(["v1", "v2"]).default("v2"),
  /** Vault Enterprise namespace (X-Vault-Namespace). */
  namespace: name.optional(),
  /** Base64-encoded PEM bundle of the CA(s) that signed the server's certificate. */
  caBundle: z.base64().optional(),
  /**
   * The CA bundle in a key of a Secret or ConfigMap: a SecretStore's own namespace; a
   * ClusterSecretStore's `namespace` (for a Secret, else the ExternalSecret's).
   */
  caProvider: z
    .strictObject({ type: z.enum(["Secret", "ConfigMap"]), name, key: name, namespace: name.optional() })
    .optional(),
  auth,
});

export type VaultSpec = z.infer<typeof vaultSpecSchema>;
export type VaultAuthSpec = VaultSpec["auth"];
export type SecretKeySelector = z.infer<typeof secretKeySelector>;
export type CaProvider = NonNullable<VaultSpec["caProvider"]>;
export type ServiceAccountRef = z.infer<typeof serviceAccountRef>;

/** Parses a store's `spec.provider.vault`; throws InvalidSpecError naming the first bad field. */
export function parseVaultSpec(spec: unknown, storeName: string): VaultSpec {
  const result = vaultSpecSchema.safeParse(spec);
  if (result.success) return result.data;
  const problems = describeIssues(result.error, "spec.provider.vault");
  throw new InvalidSpecError(`${storeName}: invalid Vault provider spec: ${problems}`);
}
