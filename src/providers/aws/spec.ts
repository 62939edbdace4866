// `spec.provider.aws` of a SecretStore: validated once, errors name the field.
import { z } from "zod";
import { parseProviderSpec } from "../spec.ts";

const secretKeyRef = z.strictObject({
  name: z.string().min(1),
  key: z.string().min(1),
  namespace: z.string().min(1).optional(),
});

const roleArn = z.string().regex(/^arn:aws[a-z-]*:iam::\d{12}:role\/.+$/, "must be an IAM role ARN");

export const awsSpecSchema = z.strictObject({
  region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d+$/, "must be an AWS region such as eu-west-1"),
  /** Role to assume (AssumeRole with the base credentials, or the web-identity role for `auth.jwt`). */
  role: roleArn.optional(),
  externalID: z.string().min(2).max(1224).optional(),
  /** Prepended to every remoteRef key, so a store can be confined to `team-a/`. */
  prefix: z.string().optional(),
  /** Endpoint overrides: tests, VPC endpoints, FIPS. */
  endpoints: z
    .strictObject({
      secretsManager: z.url({ protocol: /^https?$/ }).optional(),
      sts: z.url({ protocol: /^https?$/ }).optional(),
    })
    .optional(),
  auth: z
    .strictObject({
      jwt: z
        .strictObject({
          serviceAccountRef: z.strictObject({
            name: z.string().min(1),
            namespace: z.string().min(1).optional(),
            audiences: z.array(z.string().min(1)).optional(),
          }),
        })
        .optional(),
      secretRef: z
        .strictObject({
          accessKeyIDSecretRef: secretKeyRef,
          secretAccessKeySecretRef: secretKeyRef,
          sessionTokenSecretRef: secretKeyRef.optional(),
        })
        .optional(),
    })
    .refine((auth) => !(auth.jwt && auth.secretRef), "set at most one of auth.jwt and auth.secretRef")
    .optional(),
});

export type AwsProviderSpec = z.infer<typeof awsSpecSchema>;
type Auth = NonNullable<AwsProviderSpec["auth"]>;
export type StaticKeyRefs = NonNullable<Auth["secretRef"]>;
export type ServiceAccountRef = NonNullable<Auth["jwt"]>["serviceAccountRef"];

/** Parses `spec.provider.aws`, throwing InvalidSpecError that names the offending field. */
export function parseAwsSpec(spec: unknown): AwsProviderSpec {
  return parseProviderSpec(awsSpecSchema, spec, "aws");
}
