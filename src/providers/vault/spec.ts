/**
 * `spec.provider.vault` of a SecretStore: parsed and checked here, so that
 * every mistake is an InvalidSpecError naming the field. Shapes follow
 * External Secrets Operator's Vault provider.
 */
import { z } from "zod";
import { onFirstUse } from "../../api/on-first-use.ts";
import { describeIssues } from "../../api/validate.ts";
import { InvalidSpecError } from "../../errors.ts";
import { accessKeySecretRefs, stsRoleArn } from "../aws/spec.ts";
import { caProvider, secretKeySelector, serviceAccountSelector } from "../spec.ts";

/** The schema of `spec.provider.vault`, built on first use (see onFirstUse). */
export const vaultSpecSchema = onFirstUse(() => {
  const name = z.string().min(1);

  /** A Secret key whose `key` defaults as ESO's does (`token`, `tls.crt`, `tls.key`). */
  const secretKeyDefaulting = (key: string) =>
    secretKeySelector.extend({
      key: name.default(key).describe(`The key in the Secret's data. Unset: ${key}.`),
    });

  /** Username and password logins (userpass, LDAP): the same shape in ESO. */
  const passwordLogin = (method: string, mount: string) =>
    z
      .strictObject({
        path: name.default(mount).describe(`Mount path of the ${method} auth method.`),
        username: name.describe(`The ${method} username to log in as.`),
        secretRef: secretKeySelector.describe("The Secret key holding the password."),
      })
      .optional()
      .describe(`Log in with a username and password (Vault's ${method} auth method).`);

  const METHODS = [
    "tokenSecretRef",
    "appRole",
    "kubernetes",
    "jwt",
    "userPass",
    "ldap",
    "cert",
    "iam",
  ] as const;

  const auth = z
    .strictObject({
      tokenSecretRef: secretKeySelector
        .optional()
        .describe("A static Vault token kept in a Secret (the store reports a StaticCredentials warning)."),
      appRole: z
        .strictObject({
          path: name.default("approle").describe("Mount path of the AppRole auth method."),
          roleId: z
            .string()
            .optional()
            .describe("The AppRole's role ID (sent trimmed); when set and not empty, roleRef is not read."),
          roleRef: secretKeySelector
            .optional()
            .describe("The Secret key holding the AppRole's role ID, read when roleId is unset or empty."),
          secretRef: secretKeySelector.describe("The Secret key holding the AppRole's secret ID."),
        })
        // As ESO: a non-empty roleId wins over roleRef; neither is an error.
        .refine((a) => (a.roleId ?? "") !== "" || a.roleRef !== undefined, {
          message: "neither roleId nor roleRef was supplied",
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
              "The ServiceAccount whose token (TokenRequest API) logs in; unset: secretRef, or the controller's own token.",
            ),
          secretRef: secretKeyDefaulting("token")
            .optional()
            .describe("A long-lived service-account token kept in a Secret (key unset: token)."),
        })
        .refine((k) => k.serviceAccountRef === undefined || k.secretRef === undefined, {
          message: "set at most one of serviceAccountRef and secretRef",
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
              serviceAccountRef: serviceAccountSelector.describe(
                "The ServiceAccount whose token is the JWT.",
              ),
              audiences: z
                .array(name)
                .optional()
                .describe(
                  "Audiences requested in addition to serviceAccountRef.audiences (ESO's default: vault).",
                ),
              expirationSeconds: z
                .int()
                .min(600)
                .max(2 ** 32)
                .optional()
                .describe("Lifetime of the token requested, in seconds. Unset: 600."),
            })
            .optional()
            .describe("Use a service-account token requested through the TokenRequest API as the JWT."),
        })
        .refine(
          (jwt) => (jwt.secretRef === undefined) !== (jwt.kubernetesServiceAccountToken === undefined),
          {
            message: "set exactly one of secretRef and kubernetesServiceAccountToken",
          },
        )
        .optional()
        .describe(
          "Log in with a JWT (Vault's JWT/OIDC auth method): set exactly one of secretRef and kubernetesServiceAccountToken.",
        ),
      userPass: passwordLogin("userpass", "userpass"),
      ldap: passwordLogin("LDAP", "ldap"),
      cert: z
        .strictObject({
          path: name.default("cert").describe("Mount path of the TLS certificate auth method."),
          vaultRole: name
            .optional()
            .describe("The certificate role to log in as. Unset: any role whose certificate matches."),
          clientCert: secretKeySelector.describe("The Secret key holding the client certificate (PEM)."),
          secretRef: secretKeySelector.describe(
            "The Secret key holding the client certificate's private key (PEM).",
          ),
        })
        .optional()
        .describe(
          "Log in with a TLS client certificate (Vault's cert auth method), presented in the TLS handshake.",
        ),
      iam: z
        .strictObject({
          path: name.default("aws").describe("Mount path of the AWS auth method."),
          region: z
            .string()
            .regex(/^[a-z]{2}(-[a-z]+)+-\d+$/, "must be an AWS region such as eu-west-1")
            .default("us-east-1")
            .describe("AWS region of the STS request signed. Unset: us-east-1."),
          role: stsRoleArn
            .optional()
            .describe("An AWS role to assume (AssumeRole) before signing, with externalID."),
          externalID: z.string().min(2).max(1224).optional().describe("External ID for role's AssumeRole."),
          stsEndpoint: z
            .url({ protocol: /^https?$/ })
            .optional()
            .describe(
              "URL of STS, for role's AssumeRole and the request signed (a VPC endpoint; Vault's sts_endpoint must match). Unset: the region's. Not in ESO.",
            ),
          vaultRole: name.describe("The Vault role of the AWS auth method to log in as."),
          vaultAwsIamServerID: z
            .string()
            .optional()
            .describe(
              "Value of the X-Vault-AWS-IAM-Server-ID header signed into the request, if Vault requires one.",
            ),
          secretRef: accessKeySecretRefs.optional().describe("AWS access keys kept in Secrets."),
          jwt: z
            .strictObject({
              serviceAccountRef: serviceAccountSelector.describe(
                "The ServiceAccount whose token (TokenRequest API) is exchanged for its eks.amazonaws.com/role-arn role.",
              ),
            })
            .optional()
            .describe("AWS web identity with a service-account token."),
        })
        .refine((iam) => !(iam.secretRef && iam.jwt), { message: "set at most one of secretRef and jwt" })
        .optional()
        .describe(
          "Log in with AWS credentials (Vault's AWS auth method, iam type): a signed sts:GetCallerIdentity request that Vault sends to STS. Without secretRef and jwt: the controller's own AWS identity.",
        ),
      namespace: z
        .string()
        .optional()
        .describe(
          'Vault Enterprise namespace to log in to (X-Vault-Namespace of the login; "" is the root namespace). Unset: the store\'s namespace.',
        ),
    })
    .refine((value) => METHODS.filter((method) => value[method] !== undefined).length === 1, {
      message: `set exactly one of ${METHODS.join(", ")}`,
    });

  /** A header name as HTTP defines it (RFC 9110 token). */
  const headerName = z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, "must be an HTTP header name");

  return z
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
      tls: z
        .strictObject({
          certSecretRef: secretKeyDefaulting("tls.crt").describe(
            "The Secret key holding the client certificate (PEM).",
          ),
          keySecretRef: secretKeyDefaulting("tls.key").describe(
            "The Secret key holding its private key (PEM).",
          ),
        })
        .optional()
        .describe(
          "A client certificate for mutual TLS with Vault (a listener with tls_require_and_verify_client_cert); not a login: see auth.cert.",
        ),
      headers: z
        .record(headerName, z.string().regex(/^[^\r\n\0]*$/, "must be one line"))
        .refine((h) => Object.keys(h).every((key) => !/^x-vault-/i.test(key)), {
          message: "X-Vault-* headers are set by refsync (token, namespace, readYourWrites)",
        })
        .optional()
        .describe("Extra HTTP headers sent with every request to Vault (a proxy's, for example)."),
      readYourWrites: z
        .boolean()
        .optional()
        .describe(
          "Vault Enterprise: send back the X-Vault-Index of earlier answers, so a performance standby serves reads only once it has the store's own writes.",
        ),
      forwardInconsistent: z
        .boolean()
        .optional()
        .describe(
          "Vault Enterprise: tracks X-Vault-Index as readYourWrites does, and with readYourWrites also set asks a standby that lacks the store's writes to forward the request to the active node (X-Vault-Inconsistent: forward-active-node), as ESO does.",
        ),
      auth: auth
        .optional()
        .describe(
          `How the controller logs in to Vault: set exactly one of ${METHODS.join(", ")}. Unset: no login, as ESO does; requests carry the controller's VAULT_TOKEN environment variable if set, else no token (a Vault Agent or proxy in front of Vault adds it).`,
        ),
    })
    .describe("HashiCorp Vault: KV v1 or v2 and other secrets engines, such as database credentials.");
});

export type VaultSpec = z.infer<ReturnType<typeof vaultSpecSchema>>;
export type VaultAuthSpec = NonNullable<VaultSpec["auth"]>;

/** Parses a store's `spec.provider.vault`; throws InvalidSpecError naming the first bad field. */
export function parseVaultSpec(spec: unknown, storeName: string): VaultSpec {
  const result = vaultSpecSchema().safeParse(spec);
  if (result.success) return result.data;
  const problems = describeIssues(result.error, "spec.provider.vault");
  throw new InvalidSpecError(`${storeName}: invalid Vault provider spec: ${problems}`);
}
