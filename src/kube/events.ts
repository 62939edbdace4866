/** core/v1 Events on refsync objects. Messages are the same value-free texts as conditions. */
import { randomBytes } from "node:crypto";
import type { Logger } from "../log.ts";
import { errorSummary } from "./informer.ts";
import { resourceTypes } from "./resources.ts";
import { type KubeClient } from "./client.ts";

/** An event the controller emitted (kept in memory, newest last). */
export interface EventSummary {
  time: string;
  type: "Normal" | "Warning";
  reason: string;
  /** Messages are written by refsync and never hold a value. */
  message: string;
  object: { kind: string; namespace?: string; name: string };
}

export interface EventTarget {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace?: string; uid?: string; resourceVersion?: string };
}

const RECENT_EVENTS = 200;

/** Random bytes drawn a page at a time: one getrandom per 512 Events, not one each. */
let randomPage = Buffer.alloc(0);
let randomAt = 0;

/** 16 hex characters of fresh randomness: an Event's name suffix. */
function randomSuffix(): string {
  if (randomAt + 8 > randomPage.length) {
    randomPage = randomBytes(4096);
    randomAt = 0;
  }
  return randomPage.toString("hex", randomAt, (randomAt += 8));
}

export class EventRecorder {
  readonly #client: KubeClient;
  readonly #log: Logger;
  readonly #defaultNamespace: string;
  /** The latest events, newest last, for the dashboard (no API call per page view). */
  readonly recent: EventSummary[] = [];

  constructor(client: KubeClient, log: Logger, defaultNamespace = "default") {
    this.#client = client;
    this.#log = log;
    this.#defaultNamespace = defaultNamespace;
  }

  /** Fire and forget: an event that cannot be written must not fail a reconcile. */
  record(target: EventTarget, type: "Normal" | "Warning", reason: string, message: string): void {
    void this.write(target, type, reason, message);
  }

  /** `record`, resolving once the Event is written or could not be (never rejects). */
  write(target: EventTarget, type: "Normal" | "Warning", reason: string, message: string): Promise<void> {
    const namespace = target.metadata.namespace ?? this.#defaultNamespace;
    const now = new Date().toISOString().replace(/\.\d+Z$/, "Z");
    const object = {
      kind: target.kind ?? "",
      namespace: target.metadata.namespace,
      name: target.metadata.name,
    };
    this.recent.push({ time: now, type, reason, message, object });
    if (this.recent.length > RECENT_EVENTS) this.recent.shift();
    return this.#client
      .create(resourceTypes.event, {
        apiVersion: "v1",
        kind: "Event",
        metadata: { name: `${target.metadata.name}.${randomSuffix()}`, namespace },
        involvedObject: {
          apiVersion: target.apiVersion,
          kind: target.kind,
          name: target.metadata.name,
          namespace: target.metadata.namespace,
          uid: target.metadata.uid,
          resourceVersion: target.metadata.resourceVersion,
        },
        reason,
        message: message.slice(0, 1024),
        type,
        source: { component: "refsync" },
        reportingComponent: "refsync",
        firstTimestamp: now,
        lastTimestamp: now,
        count: 1,
      })
      .then(
        () => undefined,
        (err: unknown) => this.#log.debug({ err: errorSummary(err) }, "could not record event"),
      );
  }
}
