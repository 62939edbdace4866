// Google Pub/Sub for the GCP test server: google.pubsub.v1.Subscriber's Pull,
// Acknowledge and ModifyAckDeadline over the same TLS gRPC endpoint, from the
// .proto files @google-cloud/pubsub ships, with Secret Manager's change
// notifications published to topics (attributes eventType, secretId,
// versionId, dataFormat; the resource as JSON data, never a payload).
// Messages are redelivered when their ack deadline passes unacknowledged.
// Fault switches: drop (a Pull answered UNAVAILABLE after it took messages,
// as a lost response), duplicate, reorder, delay.
import { createRequire } from "node:module";
import { join } from "node:path";
import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import {
  loadPackageDefinition,
  status as Status,
  type GrpcObject,
  type ServerUnaryCall,
  type ServiceClientConstructor,
  type sendUnaryData,
  type UntypedServiceImplementation,
} from "@grpc/grpc-js";
import { loadSync } from "@grpc/proto-loader";
import { deliveries, type DeliveryFaults } from "../delivery-faults.ts";
import { RpcError } from "./model.ts";

const require = createRequire(import.meta.url);

/** The default ack deadline of a subscription, in seconds. */
const DEFAULT_ACK_DEADLINE_SECONDS = 10;
/** How long a Pull waits for messages before answering with none. */
const PULL_WAIT_MS = 2_000;

/** A change notification as Secret Manager publishes it. */
export interface SecretNotification {
  eventType: string;
  /** Full resource name of the secret (`projects/<number>/secrets/<id>`). */
  secretId: string;
  /** Full resource name of the version, for version events. */
  versionId?: string;
  /** The secret or version resource (JSON). */
  resource: Record<string, unknown>;
}

interface Pending {
  id: string;
  data: Buffer;
  attributes: Record<string, string>;
  publishTime: Date;
  visibleAt: number;
  deliveries: number;
  ackId?: string;
}

interface Published {
  topic: string;
  data: string;
  attributes: Record<string, string>;
}

interface Subscription {
  name: string;
  topic: string;
  ackDeadlineSeconds: number;
  messages: Pending[];
}

export interface PubSubFaults extends DeliveryFaults {
  /** The next N Pull calls take their messages and then fail UNAVAILABLE. */
  drop: number;
  /** Notifications become deliverable this long after they were published. */
  delayMs: number;
}

export interface PubSubTopics {
  /** Creates a topic and a pull subscription to it (full names). */
  createSubscription(subscription: string, topic: string, options?: { ackDeadlineSeconds?: number }): void;
  /** Secret Manager notifies this topic of every secret's changes from now on (as a secret's `topics`); returns the removal. */
  notifySecretEvents(topic: string): () => void;
  /** Publishes a raw message (for malformed notifications in tests). */
  publish(topic: string, data: string, attributes?: Record<string, string>): void;
  /** Messages not yet acknowledged: deliverable now, and out for delivery. */
  depth(subscription: string): { ready: number; outstanding: number };
  readonly faults: PubSubFaults;
}

export interface Caller {
  /** The principal of the call's bearer token, or undefined. */
  authenticate(authorization: string): string | undefined;
  /** Whether the principal may consume from the subscription (its id). */
  mayConsume(principal: string, subscriptionId: string): boolean;
}

export class PubSub implements PubSubTopics {
  readonly faults: PubSubFaults = { drop: 0, duplicate: 0, reorder: 0, delayMs: 0 };
  readonly #subscriptions = new Map<string, Subscription>();
  readonly #notified = new Set<string>();
  readonly #held: Published[][] = [];

  createSubscription(
    subscription: string,
    topic: string,
    options: { ackDeadlineSeconds?: number } = {},
  ): void {
    this.#subscriptions.set(subscription, {
      name: subscription,
      topic,
      ackDeadlineSeconds: options.ackDeadlineSeconds ?? DEFAULT_ACK_DEADLINE_SECONDS,
      messages: [],
    });
  }

  notifySecretEvents(topic: string): () => void {
    this.#notified.add(topic);
    return () => this.#notified.delete(topic);
  }

  /** A secret changed: its notification goes to every notified topic. */
  secretChanged(notification: SecretNotification): void {
    const attributes: Record<string, string> = {
      eventType: notification.eventType,
      secretId: notification.secretId,
      ...(notification.versionId !== undefined && { versionId: notification.versionId }),
      dataFormat: "JSON",
      timestamp: new Date().toISOString(),
    };
    for (const topic of this.#notified)
      this.#deliver({ topic, data: JSON.stringify(notification.resource), attributes });
  }

  publish(topic: string, data: string, attributes: Record<string, string> = {}): void {
    this.#enqueue(topic, data, attributes);
  }

  depth(subscription: string): { ready: number; outstanding: number } {
    const now = Date.now();
    const messages = this.#get(subscription).messages;
    const ready = messages.filter((m) => m.visibleAt <= now).length;
    return { ready, outstanding: messages.length - ready };
  }

  #deliver(message: Published): void {
    for (const m of deliveries(this.faults, this.#held, message))
      this.#enqueue(m.topic, m.data, m.attributes);
  }

  #enqueue(topic: string, data: string, attributes: Record<string, string>): void {
    const publishTime = new Date();
    const id = String(Math.floor(Math.random() * 1e15));
    for (const subscription of this.#subscriptions.values()) {
      if (subscription.topic !== topic) continue;
      subscription.messages.push({
        id,
        data: Buffer.from(data),
        attributes,
        publishTime,
        visibleAt: publishTime.getTime() + this.faults.delayMs,
        deliveries: 0,
      });
    }
  }

  #get(name: string): Subscription {
    const subscription = this.#subscriptions.get(name);
    if (!subscription)
      throw new RpcError(Status.NOT_FOUND, `Resource not found (resource=${name.split("/").at(-1) ?? ""}).`);
    return subscription;
  }

  #take(subscription: Subscription, max: number): Pending[] {
    const now = Date.now();
    const taken = subscription.messages.filter((m) => m.visibleAt <= now).slice(0, max);
    for (const m of taken) {
      m.visibleAt = now + subscription.ackDeadlineSeconds * 1000;
      m.deliveries++;
      m.ackId = `${m.id}-${randomUUID()}`;
    }
    return taken;
  }

  /** The Subscriber service: Pull, Acknowledge, ModifyAckDeadline; the rest UNIMPLEMENTED. */
  service(caller: Caller): {
    definition: ServiceClientConstructor["service"];
    implementation: UntypedServiceImplementation;
  } {
    const authorized = (call: ServerUnaryCall<Record<string, unknown>, unknown>): Subscription => {
      const principal = caller.authenticate(String(call.metadata.get("authorization")[0] ?? ""));
      if (!principal) {
        throw new RpcError(
          Status.UNAUTHENTICATED,
          "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.",
        );
      }
      const name = String(call.request["subscription"] ?? "");
      const id = /^projects\/[^/]+\/subscriptions\/([^/]+)$/.exec(name)?.[1];
      if (id === undefined)
        throw new RpcError(Status.INVALID_ARGUMENT, `Invalid resource name given (name=${name}).`);
      if (!caller.mayConsume(principal, id)) {
        throw new RpcError(
          Status.PERMISSION_DENIED,
          `User not authorized to perform this action. (pubsub.subscriptions.consume on ${name})`,
        );
      }
      return this.#get(name);
    };
    const unary =
      (
        handler: (
          call: ServerUnaryCall<Record<string, unknown>, unknown>,
          s: Subscription,
        ) => Promise<unknown>,
      ) =>
      (call: ServerUnaryCall<Record<string, unknown>, unknown>, callback: sendUnaryData<unknown>) => {
        void (async () => {
          try {
            callback(null, await handler(call, authorized(call)));
          } catch (error) {
            const e =
              error instanceof RpcError
                ? error
                : new RpcError(Status.INTERNAL, "Internal error encountered.");
            callback({ code: e.code, details: e.message });
          }
        })();
      };
    const implementation: UntypedServiceImplementation = {
      pull: unary(async (call, subscription) => {
        const max = Number(call.request["maxMessages"]);
        if (!Number.isInteger(max) || max < 1)
          throw new RpcError(Status.INVALID_ARGUMENT, "max_messages must be a positive integer.");
        const deadline = Date.now() + PULL_WAIT_MS;
        let cancelled = false;
        call.on("cancelled", () => (cancelled = true));
        let taken = this.#take(subscription, max);
        while (taken.length === 0 && Date.now() < deadline && !cancelled) {
          await sleep(20);
          taken = this.#take(subscription, max);
        }
        if (this.faults.drop > 0) {
          this.faults.drop--;
          throw new RpcError(
            Status.UNAVAILABLE,
            "The service was unable to fulfill your request. Please try again.",
          );
        }
        return {
          receivedMessages: taken.map((m) => ({
            ackId: m.ackId,
            message: {
              data: m.data,
              attributes: m.attributes,
              messageId: m.id,
              publishTime: { seconds: String(Math.floor(m.publishTime.getTime() / 1000)), nanos: 0 },
            },
            deliveryAttempt: 0,
          })),
        };
      }),
      acknowledge: unary(async (call, subscription) => {
        const ackIds = (call.request["ackIds"] ?? []) as string[];
        subscription.messages = subscription.messages.filter(
          (m) => m.ackId === undefined || !ackIds.includes(m.ackId),
        );
        return Promise.resolve({});
      }),
      modifyAckDeadline: unary(async (call, subscription) => {
        const ackIds = (call.request["ackIds"] ?? []) as string[];
        const seconds = Number(call.request["ackDeadlineSeconds"] ?? 0);
        for (const m of subscription.messages)
          if (m.ackId !== undefined && ackIds.includes(m.ackId)) m.visibleAt = Date.now() + seconds * 1000;
        return Promise.resolve({});
      }),
    };
    return { definition: subscriberService().service, implementation };
  }
}

/** google.pubsub.v1.Subscriber, from the protos of @google-cloud/pubsub and google-gax. */
function subscriberService(): ServiceClientConstructor {
  const main = require.resolve("@google-cloud/pubsub");
  const root = main.slice(0, main.lastIndexOf("/build/"));
  const gax = createRequire(main).resolve("google-gax");
  const definition = loadSync("google/pubsub/v1/pubsub.proto", {
    includeDirs: [
      join(root, "build", "protos"),
      join(gax.slice(0, gax.lastIndexOf("/build/")), "build", "protos"),
    ],
    keepCase: false,
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
  });
  const v1 = ((loadPackageDefinition(definition)["google"] as GrpcObject)["pubsub"] as GrpcObject)[
    "v1"
  ] as GrpcObject;
  return v1["Subscriber"] as ServiceClientConstructor;
}
