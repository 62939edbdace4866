// `spec.provider.aws` of a SecretStore: validated once, errors name the field.
import { z } from "zod";
import { parseProviderSpec, secretKeySelector, serviceAccountSelector } from "../spec.ts";

const roleArn = z.string().regex(/^arn:aws[a-z-]*:iam::\d{12}:role\/.+$/, "must be an IAM role ARN");

export const awsSpecSchema = z
  .strictObject({
    region: z
      .string()
      .regex(/^[a-z]{2}(-[a-z]+)+-\d+$/, "must be an AWS region such as eu-west-1")
      .describe("The AWS region, such as eu-west-1."),
    /** Role to assume (AssumeRole with the base credentials, or the web-identity role for `auth.jwt`). */
    role: roleArn
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
          .describe("URL of the SQS endpoint that spec.events.awsSqs polls. Unset: the queue URL's host."),
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
        secretRef: z
          .strictObject({
            accessKeyIDSecretRef: secretKeySelector.describe("The Secret key holding the access key ID."),
            secretAccessKeySecretRef: secretKeySelector.describe(
              "The Secret key holding the secret access key.",
            ),
            sessionTokenSecretRef: secretKeySelector
              .optional()
              .describe("The Secret key holding a session token, for temporary keys."),
          })
          .optional()
          .describe("Static access keys kept in Secrets (the store reports a StaticCredentials warning)."),
      })
      .refine((auth) => !(auth.jwt && auth.secretRef), "set at most one of auth.jwt and auth.secretRef")
      .optional()
      .describe(
        "Credentials: at most one of jwt and secretRef. Unset: the controller's default credential chain (environment, IRSA, instance role).",
      ),
  })
  .describe("AWS Secrets Manager.");

export type AwsProviderSpec = z.infer<typeof awsSpecSchema>;
type Auth = NonNullable<AwsProviderSpec["auth"]>;
export type StaticKeyRefs = NonNullable<Auth["secretRef"]>;
export type ServiceAccountRef = NonNullable<Auth["jwt"]>["serviceAccountRef"];

/** Parses `spec.provider.aws`, throwing InvalidSpecError that names the offending field. */
export function parseAwsSpec(spec: unknown): AwsProviderSpec {
  return parseProviderSpec(awsSpecSchema, spec, "aws");
}
