/**
 * `spec.events.awsSqs`: Secrets Manager changes through EventBridge into an
 * SQS queue, long-polled with the store's own AWS identity (the credential
 * chain of its Secrets Manager client: static keys, web identity, role).
 *
 * Each message is one EventBridge event (aws-secret-events.ts). A change is
 * handed to the sink first and the message deleted after, so a crash between
 * the two redelivers it (a duplicate the trigger path collapses) and never
 * loses it. Policy for the rest, all deleted so they cannot come back forever:
 * events that change nothing (reads, failed calls, other services, other
 * regions) are counted as ignored; bodies that are no Secrets Manager event
 * at all are counted as malformed and logged without their content. A failed
 * poll marks the source down and retries with back-off; messages received but
 * not deleted return after the queue's visibility timeout.
 */
import type { Message } from "@aws-sdk/client-sqs";
import { awsUserAgent } from "../../providers/attribution.ts";
import type { CredentialChain } from "../../providers/aws/credentials.ts";
import { parseAwsSpec, type AwsProviderSpec } from "../../providers/aws/spec.ts";
import type { SecretStore } from "../../api/v1alpha1.ts";
import { parseSecretEvent, type SecretEvent } from "./aws-secret-events.ts";
import { PullingSource, type PullingSourceOptions } from "./pulling-source.ts";
import { eventsConfig, type ChangeSourceContext, type ChangeSourceFactory } from "./source.ts";

export const SOURCE = "aws-sqs";
/** SQS's longest long poll. */
const DEFAULT_WAIT_SECONDS = 20;
/** ReceiveMessage returns at most 10 messages. */
const BATCH = 10;

export class AwsSqsSource extends PullingSource {
  readonly #spec: AwsProviderSpec;
  readonly #queueUrl: string;
  readonly #waitSeconds: number;

  constructor(store: SecretStore, ctx: ChangeSourceContext, options: PullingSourceOptions = {}) {
    super(SOURCE, store, ctx, options);
    this.#spec = parseAwsSpec(store.spec.provider["aws"]);
    const events = eventsConfig(store, "awsSqs");
    this.#queueUrl = events.queueUrl;
    this.#waitSeconds = events.waitTimeSeconds ?? DEFAULT_WAIT_SECONDS;
  }

  async start(signal: AbortSignal): Promise<void> {
    // The credential chain brings the STS client: loaded with the first such store, as the SDK.
    const [sdk, { credentialChain }] = await Promise.all([
      import("@aws-sdk/client-sqs"),
      import("../../providers/aws/credentials.ts"),
    ]);
    const chain: CredentialChain = credentialChain({
      spec: this.#spec,
      context: this.ctx.provider,
      maxAttempts: 1,
    });
    const client = new sdk.SQSClient({
      region: this.#spec.region,
      // The poll loop retries with its own back-off; an SDK retry would only hide the outage.
      maxAttempts: 1,
      customUserAgent: awsUserAgent(this.ctx.provider.namespace),
      ...(this.#spec.endpoints?.sqs ? { endpoint: this.#spec.endpoints.sqs } : {}),
      ...(chain.credentials ? { credentials: chain.credentials } : {}),
    });
    try {
      await this.loop.run(signal, async (session) => {
        // The first poll of a session answers at once, so the source is known up (or not) without a long wait.
        let wait = 0;
        for (;;) {
          const out = await client.send(
            new sdk.ReceiveMessageCommand({
              QueueUrl: this.#queueUrl,
              WaitTimeSeconds: wait,
              MaxNumberOfMessages: BATCH,
            }),
            { abortSignal: signal },
          );
          session.connected();
          wait = this.#waitSeconds;
          for (const message of out.Messages ?? []) {
            this.#handle(message);
            // Only after the sink has it. A failed delete fails the session; the message comes back
            // after its visibility timeout, a duplicate the trigger path collapses.
            await client.send(
              new sdk.DeleteMessageCommand({
                QueueUrl: this.#queueUrl,
                ReceiptHandle: message.ReceiptHandle,
              }),
              { abortSignal: signal },
            );
          }
          if (signal.aborted) return;
        }
      });
    } finally {
      client.destroy();
      chain.close();
    }
  }

  /** Reports the message's change to the sink (or counts why it has none). */
  #handle(message: Message): void {
    const event = parseSecretEvent(message.Body ?? "");
    if (event.kind === "malformed") {
      this.counts.malformed++;
      this.ctx.log.warn(
        { source: SOURCE, messageId: message.MessageId, why: event.why },
        "malformed event message deleted",
      );
      return;
    }
    const keys = event.kind === "change" ? this.#keysOf(event) : [];
    if (keys.length === 0) {
      this.counts.ignored++;
      return;
    }
    this.counts.changes++;
    this.report(keys, event.kind === "change" ? event.versionId : undefined);
  }

  /**
   * The keys ExternalSecrets of this store may name the secret by: its name relative to the
   * store's prefix (always), and its complete or partial ARN when some ExternalSecret reads
   * it that way. A secret outside the prefix or in another region is not this store's.
   */
  #keysOf(event: Extract<SecretEvent, { kind: "change" }>): string[] {
    if (event.region !== undefined && event.region !== this.#spec.region) return [];
    const prefix = this.#spec.prefix ?? "";
    const names =
      event.name !== undefined ? [event.name] : arnNames(event.secretId ?? "").filter((n) => n !== "");
    const inPrefix = names.filter((n) => n.startsWith(prefix));
    if (inPrefix.length === 0) return [];
    const read = this.ctx.readKeys();
    const arns = [event.arn, event.secretId, ...inPrefix.map((n) => partialArn(this.#spec.region, event, n))];
    const byArn = arns.filter((a): a is string => a !== undefined && a.startsWith("arn:") && read.has(a));
    return [...new Set([...inPrefix.map((n) => n.slice(prefix.length)), ...byArn])];
  }
}

/** The names an ARN given as a SecretId may stand for: complete (suffix dropped) or partial. */
function arnNames(secretId: string): string[] {
  const part = secretId.startsWith("arn:") ? (secretId.split(":secret:")[1] ?? "") : "";
  return [part, part.replace(/-[A-Za-z0-9]{6}$/, "")];
}

/** `arn:…:secret:<name>`, the partial ARN an ExternalSecret may use, from the complete one. */
function partialArn(
  region: string,
  event: Extract<SecretEvent, { kind: "change" }>,
  name: string,
): string | undefined {
  const account = /^arn:[^:]+:secretsmanager:[^:]+:(\d{12}):/.exec(event.arn ?? event.secretId ?? "")?.[1];
  const partition = /^arn:([^:]+):/.exec(event.arn ?? event.secretId ?? "")?.[1];
  return account && partition
    ? `arn:${partition}:secretsmanager:${region}:${account}:secret:${name}`
    : undefined;
}

export const awsSqsSourceFactory: ChangeSourceFactory = {
  field: "awsSqs",
  providers: ["aws"],
  create: (store, ctx) => new AwsSqsSource(store, ctx),
};
