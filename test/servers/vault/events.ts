/**
 * Vault event notifications for the test server: `GET /v1/sys/events/subscribe/<eventType>?json=true`
 * upgraded to a websocket, sending one JSON CloudEvent per KV change, as
 * Vault Enterprise 1.16+ does. The event type may be a glob (`kv*`). The
 * subscribing token needs `read` on `sys/events/subscribe/<eventType>` (checked
 * at the handshake) and `subscribe` on the secret's path to receive its event
 * (checked per event). Fault switches drop the connections, refuse new ones,
 * and duplicate, reorder or delay events.
 */
import { randomUUID } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { WebSocketServer, type WebSocket } from "ws";
import { deliveries, type DeliveryFaults } from "../delivery-faults.ts";
import type { KvChange } from "./kv.ts";
import type { VaultNamespace } from "./namespace.ts";

export interface EventFaults extends DeliveryFaults {
  /** New subscriptions fail with 503 while set (the connection stays down). */
  refuse: boolean;
  /** Each event is sent this long after the change. */
  delayMs: number;
}

export interface VaultEventHub {
  readonly faults: EventFaults;
  /** Closes every subscription abruptly (a dropped connection); later ones are accepted unless `refuse`. */
  dropConnections(): void;
  /** Sends a raw frame to every subscriber (a malformed event, for tests). */
  sendRaw(text: string): void;
  /** Open subscriptions. */
  readonly subscribers: number;
  /** Every event sent so far (before the per-subscriber policy check), in order. */
  readonly published: readonly VaultEvent[];
}

export interface VaultEvent {
  id: string;
  source: string;
  specversion: string;
  type: string;
  data: {
    event: { id: string; metadata: Record<string, string> };
    event_type: string;
    plugin_info: { mount_class: string; mount_accessor: string; mount_path: string; plugin: string };
    namespace?: string;
  };
  datacontentype: string;
  time: string;
}

interface Delivery {
  namespace: VaultNamespace;
  /** The secret's data path, whose `subscribe` capability receives the event. */
  path: string;
  event: VaultEvent;
}

interface Subscriber {
  socket: WebSocket;
  namespace: VaultNamespace;
  token: string | undefined;
  pattern: RegExp;
}

const SUBSCRIBE = /^\/v1\/sys\/events\/subscribe\/(.+)$/;

export class EventHub implements VaultEventHub {
  readonly faults: EventFaults = { refuse: false, duplicate: 0, reorder: 0, delayMs: 0 };
  readonly published: VaultEvent[] = [];
  readonly #wss = new WebSocketServer({ noServer: true });
  readonly #subscribers = new Set<Subscriber>();
  readonly #namespaceOf: (name: string) => VaultNamespace | undefined;
  readonly #held: Delivery[][] = [];

  constructor(namespaceOf: (name: string) => VaultNamespace | undefined) {
    this.#namespaceOf = namespaceOf;
  }

  get subscribers(): number {
    return this.#subscribers.size;
  }

  /** Handles an HTTP upgrade: a subscription, or an error status on the raw socket. */
  upgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(request.url ?? "/", "http://vault");
    const refuse = (status: number, errors: string[]): void => {
      const body = JSON.stringify({ errors });
      socket.end(
        `HTTP/1.1 ${status} ${status === 403 ? "Forbidden" : status === 503 ? "Service Unavailable" : "Bad Request"}\r\n` +
          `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      );
    };
    const match = SUBSCRIBE.exec(url.pathname);
    if (!match) return refuse(404, []);
    if (this.faults.refuse) return refuse(503, ["Vault is sealed"]);
    const eventType = decodeURIComponent(match[1] ?? "");
    if (url.searchParams.get("json") !== "true")
      return refuse(400, ["this test server sends JSON events only: add ?json=true"]);
    const header = (name: string) => {
      const value = request.headers[name];
      return typeof value === "string" ? value : undefined;
    };
    const namespace = this.#namespaceOf((header("x-vault-namespace") ?? "").replace(/^\/+|\/+$/g, ""));
    const token = header("x-vault-token");
    if (!namespace || !namespace.can(token, `sys/events/subscribe/${eventType}`, "read"))
      return refuse(403, ["permission denied"]);
    this.#wss.handleUpgrade(request, socket, head, (ws) => {
      const subscriber = { socket: ws, namespace, token, pattern: glob(eventType) };
      this.#subscribers.add(subscriber);
      ws.on("close", () => this.#subscribers.delete(subscriber));
    });
  }

  sendRaw(text: string): void {
    for (const subscriber of this.#subscribers) subscriber.socket.send(text);
  }

  dropConnections(): void {
    for (const subscriber of this.#subscribers) subscriber.socket.terminate();
    this.#subscribers.clear();
  }

  /** A KV change in `namespace` at mount `mount` becomes its event. */
  publish(namespace: VaultNamespace, mount: string, change: KvChange): void {
    const event = kvEvent(namespace.name, mount, change);
    this.published.push(event);
    const batch = deliveries(this.faults, this.#held, {
      namespace,
      path: secretPath(mount, change),
      event,
    });
    const send = (): void => {
      for (const d of batch) this.#deliver(d);
    };
    if (this.faults.delayMs > 0) setTimeout(send, this.faults.delayMs);
    else send();
  }

  #deliver({ namespace, path, event }: Delivery): void {
    for (const s of this.#subscribers) {
      if (s.namespace !== namespace || !s.pattern.test(event.data.event_type)) continue;
      if (!namespace.can(s.token, path, "subscribe")) continue;
      s.socket.send(JSON.stringify(event));
    }
  }

  close(): void {
    this.dropConnections();
    this.#wss.close();
  }
}

/** The path whose `subscribe` capability receives the change's event: the secret's data path. */
function secretPath(mount: string, change: KvChange): string {
  return change.kv === 2 ? `${mount}/data/${change.key}` : `${mount}/${change.key}`;
}

/** An event type pattern: `*` matches any run of characters. */
function glob(pattern: string): RegExp {
  const source = pattern
    .split("*")
    .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"))
    .join(".*");
  return new RegExp(`^${source}$`);
}

/** Vault's CloudEvents JSON for a KV change: the API path, data path and version in metadata. */
function kvEvent(namespace: string, mount: string, change: KvChange): VaultEvent {
  const id = randomUUID();
  const v2 = change.kv === 2;
  const op = change.operation;
  const section = op.startsWith("data-") ? "data" : op.startsWith("metadata-") ? "metadata" : op;
  const apiPath = v2 ? `${mount}/${section}/${change.key}` : `${mount}/${change.key}`;
  const dataPath = secretPath(mount, change);
  const metadata: Record<string, string> = {
    modified: "true",
    operation: change.operation,
    path: apiPath,
    ...(change.operation !== "data-delete" && change.operation !== "delete" && { data_path: dataPath }),
    ...(change.version !== undefined && { current_version: String(change.version) }),
  };
  return {
    id,
    source: "https://vaultproject.io/",
    specversion: "1.0",
    type: "*",
    data: {
      event: { id, metadata },
      event_type: `kv-v${change.kv}/${change.operation}`,
      plugin_info: {
        mount_class: "secret",
        mount_accessor: `kv_${Buffer.from(mount).toString("hex").slice(0, 8)}`,
        mount_path: `${mount}/`,
        plugin: "kv",
      },
      ...(namespace !== "" && { namespace: `${namespace}/` }),
    },
    datacontentype: "application/cloudevents",
    time: new Date().toISOString(),
  };
}
