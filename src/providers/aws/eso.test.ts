// ESO AWS stores (shaped as ESO's documentation writes them) converted by src/api/eso.ts: role chaining and
// session tags carry over as refsync AWS specs; what ESO would fail (a role name where STS wants an ARN)
// or ignore (tags without role) is refused naming the field.
import assert from "node:assert/strict";
import { it } from "node:test";
import { convertEsoObject } from "../../api/eso.ts";
import { parseAwsSpec, type AwsProviderSpec } from "./spec.ts";

function converted(aws: Record<string, unknown>): AwsProviderSpec {
  const result = convertEsoObject({
    apiVersion: "external-secrets.io/v1",
    kind: "SecretStore",
    metadata: { name: "aws", namespace: "app" },
    spec: { provider: { aws: { service: "SecretsManager", region: "eu-central-1", ...aws } } },
  });
  assert.ok(result.ok, result.ok ? "" : result.problems.join("; "));
  return parseAwsSpec((result.object.spec as { provider: { aws: unknown } }).provider.aws);
}

void it("additionalRoles, sessionTags, transitiveTagKeys and externalID convert as they are", () => {
  const spec = converted({
    role: "arn:aws:iam::123456789012:role/team-a-reader",
    additionalRoles: ["arn:aws:iam::123456789012:role/hop-1", "arn:aws:iam::210987654321:role/hop-2"],
    externalID: "team-a",
    sessionTags: [
      { key: "team", value: "a" },
      { key: "cost-center", value: "1234" },
    ],
    transitiveTagKeys: ["team"],
  });
  assert.deepEqual(spec.additionalRoles, [
    "arn:aws:iam::123456789012:role/hop-1",
    "arn:aws:iam::210987654321:role/hop-2",
  ]);
  assert.deepEqual(spec.sessionTags, [
    { key: "team", value: "a" },
    { key: "cost-center", value: "1234" },
  ]);
  assert.deepEqual(spec.transitiveTagKeys, ["team"]);
  assert.equal(spec.externalID, "team-a");
});

void it("a role shorter than STS's RoleArn minimum, and tags without role, are refused", () => {
  assert.throws(
    () => converted({ role: "team-a-reader" }),
    /spec\.provider\.aws\.role: must be 20 to 2048 characters, as STS's RoleArn/,
  );
  // ESO's vault and AWS docs write a 10-digit account: STS's API accepts it, so does the schema.
  assert.equal(
    converted({ role: "arn:aws:iam::1234567890:role/role-a" }).role,
    "arn:aws:iam::1234567890:role/role-a",
  );
  assert.throws(
    () => converted({ sessionTags: [{ key: "team", value: "a" }] }),
    /spec\.provider\.aws\.sessionTags: applies to role's AssumeRole: set role/,
  );
  assert.throws(
    () => converted({ role: "arn:aws:iam::123456789012:role/r", additionalRoles: ["hop"] }),
    /spec\.provider\.aws\.additionalRoles\[0\]/,
  );
});

void it("secretsManager, read only by ESO's PushSecret deletion, is dropped unless ESO's validation refuses it", () => {
  const spec = converted({ secretsManager: { forceDeleteWithoutRecovery: true } }) as Record<string, unknown>;
  assert.equal(spec.secretsManager, undefined);
  assert.throws(
    () => converted({ secretsManager: { recoveryWindowInDays: 31 } }),
    /secretsManager\.recoveryWindowInDays: ESO refuses this store: it must be between 7 and 30/,
  );
  assert.throws(
    () => converted({ secretsManager: { recoveryWindowInDays: 7, forceDeleteWithoutRecovery: true } }),
    /forceDeleteWithoutRecovery conflicts with recoveryWindowInDays/,
  );
});
