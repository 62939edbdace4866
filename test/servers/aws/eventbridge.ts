// EventBridge for the AWS test server: when a secret changes, the event
// CloudTrail would hand EventBridge (source aws.secretsmanager, detail-type
// "AWS API Call via CloudTrail", or "AWS Service Event via CloudTrail" for
// RotationSucceeded) goes to every queue a rule routes Secrets Manager
// events to. Never a value: CloudTrail records no SecretString.
import { randomUUID } from "node:crypto";
import type { Principal } from "./iam.ts";
import type { Sqs } from "./sqs.ts";

/** The Secrets Manager calls whose CloudTrail records reach the rule's targets. */
export type SecretApiCall =
  | "CreateSecret"
  | "PutSecretValue"
  | "UpdateSecret"
  | "UpdateSecretVersionStage"
  | "DeleteSecret";

export interface SecretChange {
  /** The SecretId as the caller gave it (a name or an ARN): CloudTrail logs the request parameters as sent. */
  secretId: string;
  arn: string;
  name: string;
  versionId?: string;
  /** UpdateSecretVersionStage's parameters. */
  stage?: { versionStage: string; moveToVersionId: string };
  /** Who made the call (absent for calls the test made through the admin API: an admin user). */
  principal?: Principal;
  requestId?: string;
}

export class EventBridge {
  readonly #sqs: Sqs;
  readonly #region: string;
  readonly #account: string;
  /** Rules: a target queue and the event pattern it matches (none: every Secrets Manager event). */
  readonly #rules = new Map<string, EventPattern | undefined>();

  constructor(sqs: Sqs, region: string, account: string) {
    this.#sqs = sqs;
    this.#region = region;
    this.#account = account;
  }

  /**
   * A rule with this queue as its target, matching `pattern` (EventBridge's exact-value
   * matching: every field of the pattern lists the values allowed), or every Secrets Manager
   * event without one. Returns its removal.
   */
  routeTo(queueName: string, pattern?: EventPattern): () => void {
    this.#sqs.queueUrl(queueName); // the queue must exist
    this.#rules.set(queueName, pattern);
    return () => this.#rules.delete(queueName);
  }

  apiCall(eventName: SecretApiCall, change: SecretChange): void {
    const principal = change.principal ?? {
      arn: `arn:aws:iam::${this.#account}:user/admin`,
      policyArn: `arn:aws:iam::${this.#account}:user/admin`,
      userId: "AIDAADMIN",
    };
    this.#publish("AWS API Call via CloudTrail", {
      userIdentity: {
        type: principal.arn.includes(":assumed-role/") ? "AssumedRole" : "IAMUser",
        principalId: principal.userId,
        arn: principal.arn,
        accountId: this.#account,
      },
      eventName,
      sourceIPAddress: "127.0.0.1",
      userAgent: "aws-sdk-js",
      requestParameters: requestParameters(eventName, change),
      responseElements: responseElements(eventName, change),
      requestID: change.requestId ?? randomUUID(),
      readOnly: false,
      eventType: "AwsApiCall",
      managementEvent: true,
      eventCategory: "Management",
    });
  }

  /** Rotation finished: a service event that names the secret in additionalEventData.SecretId (its ARN). */
  rotationSucceeded(arn: string): void {
    this.#publish("AWS Service Event via CloudTrail", {
      userIdentity: { accountId: this.#account, invokedBy: "secretsmanager.amazonaws.com" },
      eventName: "RotationSucceeded",
      sourceIPAddress: "secretsmanager.amazonaws.com",
      userAgent: "secretsmanager.amazonaws.com",
      requestParameters: null,
      responseElements: null,
      additionalEventData: { SecretId: arn },
      requestID: randomUUID(),
      readOnly: false,
      eventType: "AwsServiceEvent",
      managementEvent: true,
      eventCategory: "Management",
    });
  }

  #publish(detailType: string, detail: Record<string, unknown>): void {
    const time = new Date().toISOString().replace(/\.\d{3}Z$/, "Z");
    const event = {
      version: "0",
      id: randomUUID(),
      "detail-type": detailType,
      source: "aws.secretsmanager",
      account: this.#account,
      time,
      region: this.#region,
      resources: [],
      detail: {
        eventVersion: "1.09",
        eventTime: time,
        eventSource: "secretsmanager.amazonaws.com",
        awsRegion: this.#region,
        ...detail,
        eventID: randomUUID(),
        recipientAccountId: this.#account,
      },
    };
    const body = JSON.stringify(event);
    for (const [queue, pattern] of this.#rules)
      if (pattern === undefined || matches(pattern, event)) this.#sqs.send(queue, body);
  }
}

/** An EventBridge event pattern: each field lists the values it matches, or nests. */
export interface EventPattern {
  [field: string]: (string | number | boolean | null)[] | EventPattern;
}

function matches(pattern: EventPattern, event: Record<string, unknown>): boolean {
  return Object.entries(pattern).every(([field, want]) => {
    const value = event[field];
    if (!Array.isArray(want))
      return typeof value === "object" && value !== null && matches(want, value as Record<string, unknown>);
    const values: unknown[] = Array.isArray(value) ? value : [value];
    return values.some((v) => want.includes(v as string));
  });
}

function requestParameters(eventName: SecretApiCall, change: SecretChange): Record<string, unknown> {
  switch (eventName) {
    case "CreateSecret":
      return { name: change.name, clientRequestToken: change.versionId ?? randomUUID() };
    case "UpdateSecretVersionStage":
      return {
        secretId: change.secretId,
        versionStage: change.stage?.versionStage,
        moveToVersionId: change.stage?.moveToVersionId,
      };
    case "DeleteSecret":
      return { secretId: change.secretId, recoveryWindowInDays: 30 };
    default:
      return { secretId: change.secretId, clientRequestToken: change.versionId ?? randomUUID() };
  }
}

function responseElements(eventName: SecretApiCall, change: SecretChange): Record<string, unknown> {
  switch (eventName) {
    case "UpdateSecretVersionStage":
      return { arn: change.arn };
    case "DeleteSecret":
      return {
        arn: change.arn,
        name: change.name,
        deletionDate: new Date(Date.now() + 30 * 86_400_000).toUTCString(),
      };
    default:
      return { arn: change.arn, ...(change.versionId ? { versionId: change.versionId } : {}) };
  }
}
