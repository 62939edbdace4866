// `spec.provider.aws` of a SecretStore: validated once, errors name the field.
import { z } from "zod";
import { onFirstUse } from "../../api/on-first-use.ts";
import { parseProviderSpec, secretKeySelector, serviceAccountSelector } from "../spec.ts";

const ARN_LENGTH =
  "must be 20 to 2048 characters, as STS's RoleArn: an IAM role ARN such as arn:aws:iam::<account>:role/<name>";
/**
 * A role ESO passes to STS AssumeRole as RoleArn, checked as STS's API checks it: 20 to 2048
 * characters of its character set (AWS STS API reference, AssumeRole). Whether it names a role
 * the caller may assume (a wrong account, a name that is not an ARN) STS decides when it
 * authorizes the call, and answers AccessDenied; refsync leaves that to it, as ESO does.
 */
export const stsRoleArn = z
  .string()
  .min(20, ARN_LENGTH)
  .max(2048, ARN_LENGTH)
  // STS's pattern; a refinement, as the API server's regular expressions (Go's) cannot write it
  .refine(
    (arn) => /^[\t\n\r\u0020-\u007e\u0085\u00a0-\ud7ff\ue000-\ufffd\u{10000}-\u{10ffff}]+$/u.test(arn),
    "has a character STS's RoleArn does not accept",
  );

/**
 * AWS access keys kept in Secrets, one Secret key each: the AWS provider's
 * auth.secretRef and the Vault provider's auth.iam.secretRef, both handed to
 * the same credential chain.
 */
export const accessKeySecretRefs = z.strictObject({
  accessKeyIDSecretRef: secretKeySelector.describe("The Secret key holding the access key ID."),
  secretAccessKeySecretRef: secretKeySelector.describe("The Secret key holding the secret access key."),
  sessionTokenSecretRef: secretKeySelector
    .optional()
    .describe("The Secret key holding a session token, for temporary keys."),
});

/** The schema of `spec.provider.aws`, built on first use (see onFirstUse). */
export const awsSpecSchema = onFirstUse(() => {
  /** STS session tag limits (AWS STS API reference, Tag): key 1–128, value 0–256 characters, these characters. */
  const tagKey = z
    .string()
    .min(1)
    .max(128)
    .regex(/^[\p{L}\p{Z}\p{N}_.:/=+\-@]+$/u, "must be letters, digits, spaces or _.:/=+-@");
  const tagValue = z
    .string()
    .max(256)
    .regex(/^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u, "must be letters, digits, spaces or _.:/=+-@");

  return (
    z
      .strictObject({
        region: z
          .string()
          .regex(/^[a-z]{2}(-[a-z]+)+-\d+$/, "must be an AWS region such as eu-west-1")
          .describe("The AWS region, such as eu-west-1."),
        /** Role to assume (AssumeRole with the base credentials, or the web-identity role for `auth.jwt`). */
        role: stsRoleArn
          .optional()
          .describe(
            "ARN of an IAM role to assume: with the base credentials (AssumeRole), or the web-identity role of auth.jwt.",
          ),
        externalID: z
          .string()
          .min(2)
          .max(1224)
          .optional()
          .describe("External ID to pass when assuming role, if its trust policy asks for one."),
        additionalRoles: z
          .array(stsRoleArn)
          .optional()
          .describe(
            "Role ARNs assumed one after the other, each with the credentials of the one before, before role (role chaining, as ESO).",
          ),
        sessionTags: z
          .array(
            z.strictObject({
              key: tagKey.describe("The session tag's key: 1 to 128 characters."),
              value: tagValue.describe("The session tag's value: up to 256 characters."),
            }),
          )
          .max(50)
          .refine(
            (tags) => new Set(tags.map((tag) => tag.key.toLowerCase())).size === tags.length,
            "tag keys must differ, ignoring case, as STS compares them",
          )
          .optional()
          .describe(
            "Session tags passed when assuming role (at most 50); the role's trust policy must allow sts:TagSession.",
          ),
        transitiveTagKeys: z
          .array(tagKey)
          .max(50)
          .optional()
          .describe("Keys of sessionTags that pass on to sessions chained from role's (at most 50)."),
        /** Prepended to every remoteRef key, so a store can be confined to `team-a/`. */
        prefix: z
          .string()
          .optional()
          .describe("Prepended to every key read, so that a store is confined to secrets such as team-a/…."),
        /** Endpoint overrides: tests, VPC endpoints, FIPS. */
        endpoints: z
          .strictObject({
            secretsManager: z
              .url({ protocol: /^https?$/ })
              .optional()
              .describe("URL of the Secrets Manager endpoint."),
            sts: z
              .url({ protocol: /^https?$/ })
              .optional()
              .describe("URL of the STS endpoint."),
            sqs: z
              .url({ protocol: /^https?$/ })
              .optional()
              .describe(
                "URL of the SQS endpoint that spec.events.awsSqs polls. Unset: the queue URL's host.",
              ),
          })
          .optional()
          .describe("Endpoint overrides, for VPC endpoints, FIPS or tests. Unset: the region's."),
        auth: z
          .strictObject({
            jwt: z
              .strictObject({
                serviceAccountRef: serviceAccountSelector
                  .extend({
                    audiences: z
                      .array(z.string().min(1))
                      .optional()
                      .describe("Audiences of the token requested. Unset: sts.amazonaws.com."),
                  })
                  .describe("The ServiceAccount whose token (TokenRequest API) is the web identity."),
              })
              .optional()
              .describe("Web identity (AssumeRoleWithWebIdentity) with a service-account token, for role."),
            secretRef: accessKeySecretRefs
              .optional()
              .describe(
                "Static access keys kept in Secrets (the store reports a StaticCredentials warning).",
              ),
          })
          .refine((auth) => !(auth.jwt && auth.secretRef), "set at most one of auth.jwt and auth.secretRef")
          .optional()
          .describe(
            "Credentials: at most one of jwt and secretRef. Unset: the controller's default credential chain (environment, IRSA, instance role).",
          ),
      })
      // ESO passes them only with role's AssumeRole and ignores them without it; refsync refuses what it would ignore.
      .superRefine((spec, ctx) => {
        for (const field of ["externalID", "sessionTags", "transitiveTagKeys", "additionalRoles"] as const) {
          if (spec[field] !== undefined && spec.role === undefined) {
            ctx.addIssue({
              code: "custom",
              path: [field],
              message: "applies to role's AssumeRole: set role",
            });
          }
        }
      })
      .describe("AWS Secrets Manager.")
  );
});

export type AwsProviderSpec = z.infer<ReturnType<typeof awsSpecSchema>>;
type Auth = NonNullable<AwsProviderSpec["auth"]>;
export type StaticKeyRefs = NonNullable<Auth["secretRef"]>;
export type ServiceAccountRef = NonNullable<Auth["jwt"]>["serviceAccountRef"];

/** Parses `spec.provider.aws`, throwing InvalidSpecError that names the offending field. */
export function parseAwsSpec(spec: unknown): AwsProviderSpec {
  return parseProviderSpec(awsSpecSchema(), spec, "aws");
}
