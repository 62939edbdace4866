// What the CloudTrail records of Secrets Manager say changed, including the
// spellings the end-to-end tests do not produce: `aRN` in older events, a
// SecretId given as an ARN with no ARN in the response, a version put under
// a stage other than AWSCURRENT, and bodies that are no event at all.
import assert from "node:assert/strict";
import { test } from "node:test";
import { parseSecretEvent } from "./aws-secret-events.ts";

const ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:team-a/db-AbC123";

function apiCall(eventName: string, detail: Record<string, unknown>): string {
  return JSON.stringify({
    "detail-type": "AWS API Call via CloudTrail",
    source: "aws.secretsmanager",
    detail: { eventSource: "secretsmanager.amazonaws.com", eventName, awsRegion: "eu-west-1", ...detail },
  });
}

void test("the ARN wins, in either spelling; the name is the ARN's without its suffix", () => {
  for (const key of ["arn", "aRN"]) {
    assert.deepEqual(
      parseSecretEvent(
        apiCall("UpdateSecret", {
          requestParameters: { secretId: "whatever" },
          responseElements: { [key]: ARN },
        }),
      ),
      { kind: "change", eventName: "UpdateSecret", name: "team-a/db", arn: ARN, region: "eu-west-1" },
    );
  }
});

void test("a SecretId given as an ARN, with no ARN in the response, is kept as given", () => {
  const partial = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:team-a/db";
  assert.deepEqual(parseSecretEvent(apiCall("DeleteSecret", { requestParameters: { secretId: partial } })), {
    kind: "change",
    eventName: "DeleteSecret",
    secretId: partial,
    region: "eu-west-1",
  });
});

void test("the version is reported only when the call made it AWSCURRENT", () => {
  const put = (stages?: string[]) =>
    parseSecretEvent(
      apiCall("PutSecretValue", {
        requestParameters: { secretId: "team-a/db", ...(stages && { versionStages: stages }) },
        responseElements: { arn: ARN, versionId: "v-2" },
      }),
    );
  assert.equal((put() as { versionId?: string }).versionId, "v-2");
  assert.equal((put(["AWSCURRENT"]) as { versionId?: string }).versionId, "v-2");
  assert.equal((put(["AWSPENDING"]) as { versionId?: string }).versionId, undefined);
  const move = (versionStage: string) =>
    parseSecretEvent(
      apiCall("UpdateSecretVersionStage", {
        requestParameters: { secretId: "team-a/db", versionStage, moveToVersionId: "v-3" },
        responseElements: { arn: ARN },
      }),
    ) as { versionId?: string };
  assert.equal(move("AWSCURRENT").versionId, "v-3");
  assert.equal(move("AWSPENDING").versionId, undefined);
});

void test("failed calls, reads and other services are ignored; non-events are malformed", () => {
  assert.equal(parseSecretEvent(apiCall("PutSecretValue", { errorCode: "AccessDenied" })).kind, "ignored");
  assert.equal(
    parseSecretEvent(apiCall("GetSecretValue", { requestParameters: { secretId: "x" } })).kind,
    "ignored",
  );
  assert.equal(
    parseSecretEvent(JSON.stringify({ "detail-type": "Object Created", source: "aws.s3", detail: {} })).kind,
    "ignored",
  );
  for (const body of [
    "",
    "[]",
    "{}",
    JSON.stringify({ "detail-type": "x" }),
    apiCall("PutSecretValue", {}),
  ]) {
    assert.equal(parseSecretEvent(body).kind, "malformed", body);
  }
});
