/**
 * The AWS Secrets Manager provider (`ref+awssecrets://`, `spec.provider.aws`).
 *
 *   spec.provider.aws:
 *     region: eu-west-1
 *     role: arn:aws:iam::123456789012:role/team-a-reader   # optional: AssumeRole (or the web-identity role)
 *     externalID: ...                                      # optional, with role
 *     prefix: team-a/                                      # optional: keys are relative to it
 *     endpoints: { secretsManager: https://..., sts: https://... }   # optional overrides
 *     auth:                                                # optional; default: the SDK's default chain (IRSA, env…)
 *       jwt: { serviceAccountRef: { name: app } }          # per-namespace web identity
 *       # or secretRef: { accessKeyIDSecretRef: {name, key}, secretAccessKeySecretRef: {name, key} }
 *
 * remoteRef.key is the secret's name (under `prefix`) or its ARN; version is a
 * VersionStage (default AWSCURRENT) or `uuid/<VersionId>`.
 */
import { lazyClient } from "../lazy.ts";
import type { ProviderFactory } from "../types.ts";
import { awsSpecSchema, parseAwsSpec } from "./spec.ts";

export const awsProvider: ProviderFactory = {
  name: "awssecrets",
  specKey: "aws",
  specSchema: awsSpecSchema,
  create(spec, context) {
    const parsed = parseAwsSpec(spec);
    // The AWS SDK loads when a store of this provider is first used.
    return lazyClient(
      {
        provider: "awssecrets",
        methods: ["readMany", "currentVersion", "write"],
        metersOwnRequests: true,
      },
      async () => new (await import("./client.ts")).AwsSecretsClient(parsed, context),
    );
  },
};
