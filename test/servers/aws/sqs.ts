// Amazon SQS for the AWS test server, in the protocol @aws-sdk/client-sqs v3
// speaks: AWS JSON 1.0 (`X-Amz-Target: AmazonSQS.<Op>`), query-compatible
// errors (`x-amzn-query-error`), MD5OfBody on received messages. Queues hold
// messages with a visibility timeout; ReceiveMessage long-polls up to
// WaitTimeSeconds. Fault switches drop connections and duplicate, reorder or
// delay deliveries.
import { createHash, randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { deliveries, type DeliveryFaults } from "../delivery-faults.ts";
import { AwsError } from "./errors.ts";
import type { Iam, Principal } from "./iam.ts";

type Input = Record<string, unknown>;
type Output = Record<string, unknown>;

/** SQS's default visibility timeout, in seconds. */
const DEFAULT_VISIBILITY_SECONDS = 30;
/** Long polls wake at least this often to see messages whose visibility timeout ran out. */
const POLL_TICK_MS = 50;

interface StoredMessage {
  id: string;
  body: string;
  md5: string;
  sentAt: number;
  /** When the message can next be received (0: now). */
  visibleAt: number;
  receiveCount: number;
  /** The receipt handle of the latest receive; older ones no longer delete the message. */
  receipt?: string;
}

interface Queue {
  name: string;
  url: string;
  arn: string;
  visibilitySeconds: number;
  messages: StoredMessage[];
  /** Wakes long polls waiting on this queue. */
  wake: Set<() => void>;
}

/** duplicate: SQS is at-least-once; reorder: a standard queue keeps no order. */
export interface SqsFaults extends DeliveryFaults {
  /** The next N SQS requests are answered by closing the connection (ReceiveMessage: after taking messages, as a lost response would). */
  dropConnections: number;
  /** Messages become visible this long after they were sent (as DelaySeconds, in milliseconds). */
  delayMs: number;
}

export interface SqsQueues {
  /** Creates a queue (idempotent); returns its URL. */
  createQueue(name: string, options?: { visibilitySeconds?: number }): string;
  queueUrl(name: string): string;
  queueArn(name: string): string;
  /** Sends a message as SendMessage would (for malformed or foreign messages in tests). */
  send(queueName: string, body: string): void;
  /** Messages still in the queue: visible now, and received but not yet deleted. */
  depth(queueName: string): { visible: number; inFlight: number };
  /** Every message deleted so far, by body, in order. */
  readonly deleted: readonly string[];
  readonly faults: SqsFaults;
}

export interface SqsRequest {
  operation: string;
  input: Input;
  principal: Principal;
  /** Aborted when the caller's connection closes. */
  signal: AbortSignal;
}

export type SqsReply = { output: Output } | { drop: true };

export class Sqs implements SqsQueues {
  readonly #queues = new Map<string, Queue>();
  readonly #iam: Iam;
  readonly #region: string;
  #endpoint = "";
  readonly #held: string[][] = [];
  readonly deleted: string[] = [];
  readonly faults: SqsFaults = { dropConnections: 0, duplicate: 0, reorder: 0, delayMs: 0 };

  constructor(iam: Iam, region: string) {
    this.#iam = iam;
    this.#region = region;
  }

  /** Set once the server listens: queue URLs name it. */
  set endpoint(value: string) {
    this.#endpoint = value;
  }

  createQueue(name: string, options: { visibilitySeconds?: number } = {}): string {
    if (!/^[A-Za-z0-9_-]{1,80}$/.test(name)) {
      throw new AwsError(
        "InvalidParameterValue",
        "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length",
      );
    }
    let queue = this.#queues.get(name);
    if (!queue) {
      queue = {
        name,
        url: `${this.#endpoint}/${this.#iam.account}/${name}`,
        arn: `arn:aws:sqs:${this.#region}:${this.#iam.account}:${name}`,
        visibilitySeconds: options.visibilitySeconds ?? DEFAULT_VISIBILITY_SECONDS,
        messages: [],
        wake: new Set(),
      };
      this.#queues.set(name, queue);
    }
    return queue.url;
  }

  queueUrl(name: string): string {
    return this.#byName(name).url;
  }

  queueArn(name: string): string {
    return this.#byName(name).arn;
  }

  send(queueName: string, body: string): void {
    const queue = this.#byName(queueName);
    for (const text of deliveries(this.faults, this.#held, body)) this.#enqueue(queue, text);
  }

  depth(queueName: string): { visible: number; inFlight: number } {
    const now = Date.now();
    const messages = this.#byName(queueName).messages;
    const visible = messages.filter((m) => m.visibleAt <= now).length;
    return { visible, inFlight: messages.length - visible };
  }

  async handle(request: SqsRequest): Promise<SqsReply> {
    const { operation, input, principal } = request;
    if (this.faults.dropConnections > 0 && operation !== "ReceiveMessage") {
      this.faults.dropConnections--;
      return { drop: true };
    }
    switch (operation) {
      case "GetQueueUrl": {
        const queue = this.#byName(requiredString(input, "QueueName"));
        this.#authorize(principal, operation, queue);
        return { output: { QueueUrl: queue.url } };
      }
      case "GetQueueAttributes": {
        const queue = this.#byUrl(input);
        this.#authorize(principal, operation, queue);
        const { visible, inFlight } = this.depth(queue.name);
        return {
          output: {
            Attributes: {
              QueueArn: queue.arn,
              VisibilityTimeout: String(queue.visibilitySeconds),
              ApproximateNumberOfMessages: String(visible),
              ApproximateNumberOfMessagesNotVisible: String(inFlight),
            },
          },
        };
      }
      case "SendMessage": {
        const queue = this.#byUrl(input);
        this.#authorize(principal, operation, queue);
        const body = requiredString(input, "MessageBody");
        this.send(queue.name, body);
        return { output: { MessageId: randomUUID(), MD5OfMessageBody: md5(body) } };
      }
      case "ReceiveMessage":
        return this.#receive(request);
      case "DeleteMessage": {
        const queue = this.#byUrl(input);
        this.#authorize(principal, operation, queue);
        this.#delete(queue, requiredString(input, "ReceiptHandle"));
        return { output: {} };
      }
      case "ChangeMessageVisibility": {
        const queue = this.#byUrl(input);
        this.#authorize(principal, operation, queue);
        const message = this.#byReceipt(queue, requiredString(input, "ReceiptHandle"));
        const seconds = integer(input, "VisibilityTimeout", 0, 43_200, queue.visibilitySeconds);
        if (message) message.visibleAt = Date.now() + seconds * 1000;
        return { output: {} };
      }
      default:
        throw new AwsError("UnknownOperationException", `Unknown operation AmazonSQS.${operation}`);
    }
  }

  /** Takes up to MaxNumberOfMessages visible messages, waiting up to WaitTimeSeconds for one. */
  async #receive({ input, principal, signal }: SqsRequest): Promise<SqsReply> {
    const queue = this.#byUrl(input);
    this.#authorize(principal, "ReceiveMessage", queue);
    const max = integer(input, "MaxNumberOfMessages", 1, 10, 1);
    const waitSeconds = integer(input, "WaitTimeSeconds", 0, 20, 0);
    const visibility = integer(input, "VisibilityTimeout", 0, 43_200, queue.visibilitySeconds);
    const deadline = Date.now() + waitSeconds * 1000;
    let taken = this.#take(queue, max, visibility);
    while (taken.length === 0 && Date.now() < deadline && !signal.aborted) {
      let wake: () => void = () => undefined;
      const woken = new Promise<void>((resolve) => (wake = resolve));
      queue.wake.add(wake);
      await Promise.race([woken, sleep(Math.min(POLL_TICK_MS, deadline - Date.now()))]);
      queue.wake.delete(wake);
      if (!signal.aborted) taken = this.#take(queue, max, visibility);
    }
    if (this.faults.dropConnections > 0) {
      this.faults.dropConnections--;
      return { drop: true };
    }
    if (taken.length === 0) return { output: {} };
    const wanted = new Set([
      ...stringList(input, "AttributeNames"),
      ...stringList(input, "MessageSystemAttributeNames"),
    ]);
    const all = wanted.has("All");
    return {
      output: {
        Messages: taken.map((m) => {
          const attributes: Record<string, string> = {
            ApproximateReceiveCount: String(m.receiveCount),
            SentTimestamp: String(m.sentAt),
          };
          const chosen = Object.fromEntries(
            Object.entries(attributes).filter(([name]) => all || wanted.has(name)),
          );
          return {
            MessageId: m.id,
            ReceiptHandle: m.receipt,
            MD5OfBody: m.md5,
            Body: m.body,
            ...(Object.keys(chosen).length > 0 ? { Attributes: chosen } : {}),
          };
        }),
      },
    };
  }

  #take(queue: Queue, max: number, visibilitySeconds: number): StoredMessage[] {
    const now = Date.now();
    const taken = queue.messages.filter((m) => m.visibleAt <= now).slice(0, max);
    for (const message of taken) {
      message.visibleAt = now + visibilitySeconds * 1000;
      message.receiveCount++;
      message.receipt = Buffer.from(`${message.id}:${randomUUID()}`).toString("base64");
    }
    return taken;
  }

  #enqueue(queue: Queue, body: string): void {
    const sentAt = Date.now();
    queue.messages.push({
      id: randomUUID(),
      body,
      md5: md5(body),
      sentAt,
      visibleAt: sentAt + this.faults.delayMs,
      receiveCount: 0,
    });
    for (const wake of queue.wake) wake();
  }

  #delete(queue: Queue, receipt: string): void {
    if (!/^[A-Za-z0-9+/=]+$/.test(receipt) || !Buffer.from(receipt, "base64").toString().includes(":")) {
      throw new AwsError("ReceiptHandleIsInvalid", `The input receipt handle "${receipt}" is not valid.`);
    }
    // A stale handle (the message was received again since) deletes nothing, as in SQS.
    const message = this.#byReceipt(queue, receipt);
    if (!message) return;
    queue.messages.splice(queue.messages.indexOf(message), 1);
    this.deleted.push(message.body);
  }

  #byReceipt(queue: Queue, receipt: string): StoredMessage | undefined {
    return queue.messages.find((m) => m.receipt === receipt);
  }

  #byName(name: string): Queue {
    const queue = this.#queues.get(name);
    if (!queue) throw nonExistentQueue();
    return queue;
  }

  #byUrl(input: Input): Queue {
    const url = requiredString(input, "QueueUrl");
    const name = /\/(\d{12})\/([^/]+)$/.exec(url)?.[2];
    if (name === undefined)
      throw new AwsError("InvalidAddress", "The address is not valid for this endpoint.");
    return this.#byName(name);
  }

  #authorize(principal: Principal, operation: string, queue: Queue): void {
    if (!this.#iam.allowsQueue(principal, queue.name)) {
      throw new AwsError(
        "AccessDenied",
        `User: ${principal.arn} is not authorized to perform: sqs:${operation} on resource: ${queue.arn} because no identity-based policy allows the sqs:${operation} action`,
        403,
      );
    }
  }
}

/**
 * The query-protocol code SQS sends in `x-amzn-query-error` for each error
 * type (`<code>;Sender`), which the SDK's query-compatible mode reads.
 */
const QUERY_CODES: Record<string, string> = {
  QueueDoesNotExist: "AWS.SimpleQueueService.NonExistentQueue",
  AccessDenied: "AccessDenied",
};

/** The query-protocol error code of an error type. */
export function sqsQueryCode(type: string): string {
  return QUERY_CODES[type] ?? type;
}

/** An SQS error response: JSON 1.0 `__type` with the service namespace, and the query-compatible header. */
export function sqsError(e: AwsError): { body: Output; headers: Record<string, string> } {
  return {
    body: { __type: `com.amazonaws.sqs#${e.type}`, message: e.message },
    headers: {
      "x-amzn-query-error": `${sqsQueryCode(e.type)};${e.status >= 500 ? "Receiver" : "Sender"}`,
    },
  };
}

function nonExistentQueue(): AwsError {
  return new AwsError("QueueDoesNotExist", "The specified queue does not exist.");
}

function md5(text: string): string {
  return createHash("md5").update(text, "utf8").digest("hex");
}

function requiredString(input: Input, field: string): string {
  const value = input[field];
  if (typeof value !== "string" || value === "")
    throw new AwsError("MissingParameter", `The request must contain the parameter ${field}.`);
  return value;
}

function stringList(input: Input, field: string): string[] {
  const value = input[field];
  return Array.isArray(value) ? value.map(String) : [];
}

function integer(input: Input, field: string, min: number, max: number, fallback: number): number {
  const value = input[field];
  if (value === undefined || value === null) return fallback;
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw new AwsError(
      "InvalidParameterValue",
      `Value ${String(value)} for parameter ${field} is invalid. Must be between ${min} and ${max}.`,
    );
  }
  return value;
}
