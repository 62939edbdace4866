/**
 * What a Secrets Manager event that EventBridge delivers says changed: the
 * CloudTrail record of an API call ("AWS API Call via CloudTrail") or of a
 * rotation ("AWS Service Event via CloudTrail", RotationSucceeded), as the
 * SQS message body an EventBridge rule with a queue target carries.
 *
 * The secret is named by its ARN where CloudTrail has one (responseElements
 * `arn`, spelled `aRN` by events before February 2024, or
 * additionalEventData `SecretId`), otherwise by the request's `secretId` or
 * `name`, which is a name or a complete or partial ARN, as the caller wrote it.
 */

/** Calls that change what a read of the secret returns. */
const CHANGING_CALLS = new Set([
  "CreateSecret",
  "PutSecretValue",
  "UpdateSecret",
  "UpdateSecretVersionStage",
  "DeleteSecret",
  "RestoreSecret",
  "ReplicateSecretToRegions",
]);
const ROTATION = "RotationSucceeded";

export type SecretEvent =
  /** A change of one secret. */
  | {
      kind: "change";
      eventName: string;
      /** The secret's name, when the event gives it or its ARN. */
      name?: string;
      /** The complete ARN, when the event gives it. */
      arn?: string;
      /** The SecretId as the caller wrote it, when there is no ARN or name to go by. */
      secretId?: string;
      /** The version that became current, when the event says so. */
      versionId?: string;
      region?: string;
    }
  /** A well-formed event that changes nothing (a failed call, another service, a read). */
  | { kind: "ignored"; why: string }
  /** Not an EventBridge event of Secrets Manager at all. */
  | { kind: "malformed"; why: string };

const SECRET_ARN = /^arn:aws[a-z-]*:secretsmanager:([a-z0-9-]+):\d{12}:secret:(.+)$/;
/** The `-XXXXXX` Secrets Manager appends to a name in a complete ARN. */
const ARN_SUFFIX = /-[A-Za-z0-9]{6}$/;

export function parseSecretEvent(body: string): SecretEvent {
  let event: unknown;
  try {
    event = JSON.parse(body);
  } catch {
    return { kind: "malformed", why: "not JSON" };
  }
  if (!isObject(event) || !isObject(event["detail"]) || typeof event["detail-type"] !== "string")
    return { kind: "malformed", why: "not an EventBridge event (no detail-type and detail)" };
  const detail = event["detail"];
  if (event["source"] !== "aws.secretsmanager" || detail["eventSource"] !== "secretsmanager.amazonaws.com")
    return { kind: "ignored", why: `an event of ${String(event["source"])}` };
  const eventName = detail["eventName"];
  if (typeof eventName !== "string") return { kind: "malformed", why: "no detail.eventName" };
  if (detail["errorCode"] !== undefined) return { kind: "ignored", why: `a failed ${eventName}` };
  if (eventName !== ROTATION && !CHANGING_CALLS.has(eventName))
    return { kind: "ignored", why: `${eventName} changes no value` };

  const request = isObject(detail["requestParameters"]) ? detail["requestParameters"] : {};
  const response = isObject(detail["responseElements"]) ? detail["responseElements"] : {};
  const additional = isObject(detail["additionalEventData"]) ? detail["additionalEventData"] : {};
  const arn = [response["arn"], response["aRN"], additional["SecretId"]].find(
    (v): v is string => typeof v === "string" && SECRET_ARN.test(v),
  );
  const given = [request["secretId"], request["name"], response["name"], additional["SecretId"]].find(
    (v): v is string => typeof v === "string" && v !== "",
  );
  if (arn === undefined && given === undefined)
    return { kind: "malformed", why: `${eventName} names no secret` };
  const fromArn = arn === undefined ? undefined : SECRET_ARN.exec(arn);
  const name =
    fromArn?.[2]?.replace(ARN_SUFFIX, "") ??
    (given !== undefined && !given.startsWith("arn:") ? given : undefined);
  const versionId = currentVersion(eventName, request, response);
  const region = fromArn?.[1] ?? (typeof detail["awsRegion"] === "string" ? detail["awsRegion"] : undefined);
  return {
    kind: "change",
    eventName,
    ...(name !== undefined && { name }),
    ...(arn !== undefined && { arn }),
    ...(name === undefined && given !== undefined && { secretId: given }),
    ...(versionId !== undefined && { versionId }),
    ...(region !== undefined && { region }),
  };
}

/** The version a call made AWSCURRENT, when its record says so. */
function currentVersion(
  eventName: string,
  request: Record<string, unknown>,
  response: Record<string, unknown>,
): string | undefined {
  if (eventName === "UpdateSecretVersionStage") {
    const moved = request["moveToVersionId"];
    return request["versionStage"] === "AWSCURRENT" && typeof moved === "string" ? moved : undefined;
  }
  if (eventName === "PutSecretValue" || eventName === "UpdateSecret") {
    const stages = request["versionStages"];
    const current = !Array.isArray(stages) || stages.includes("AWSCURRENT");
    const id = response["versionId"];
    return current && typeof id === "string" ? id : undefined;
  }
  return undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
