/**
 * `spec.events.vault`: Vault's event notifications (Vault Enterprise 1.16+)
 * of KV writes and deletes, over `sys/events/subscribe/<eventType>?json=true`
 * websockets, with the store's own token session (the one its reads use:
 * same login, renewals, namespace, CA, client certificate and headers).
 *
 * Unset `eventTypes` subscribe once to `kv*` and keep the KV changes that
 * alter what a read returns. Each event names the secret by its API path
 * under the mount (`secret/data/team-a/db`); the key reported is that path as
 * the store's ExternalSecrets name it (`team-a/db` under the store's `path`,
 * `secret/team-a/db` for a store without one).
 *
 * Vault keeps no backlog: events sent while the socket was down are lost. So
 * after every reconnect the source reports every key the store's
 * ExternalSecrets read (a resync): the trigger path reads each once and
 * refreshes what changed. Periodic refresh stays the net under that.
 */
import type WebSocket from "ws";
import { parseVaultSpec, type VaultSpec } from "../../providers/vault/spec.ts";
import type { SecretStore } from "../../api/v1alpha1.ts";
import { PullingSource, type PullingSourceOptions } from "./pulling-source.ts";
import type { Session } from "./reconnect.ts";
import { eventsConfig, type ChangeSourceContext, type ChangeSourceFactory } from "./source.ts";

export const SOURCE = "vault-events";
const DEFAULT_EVENT_TYPES = ["kv*"];

/** KV event types after which a read may return something else. */
const CHANGES = new Set([
  "kv-v1/write",
  "kv-v1/delete",
  "kv-v2/data-write",
  "kv-v2/data-patch",
  "kv-v2/data-delete",
  "kv-v2/delete",
  "kv-v2/undelete",
  "kv-v2/destroy",
  "kv-v2/metadata-write",
  "kv-v2/metadata-patch",
  "kv-v2/metadata-delete",
]);
/** The segment KV v2 puts between the mount and the key. */
const KV2_SECTION = /^(data|metadata|delete|undelete|destroy)\//;

export class VaultEventsSource extends PullingSource {
  /** Reconnects after which every read key was reported again. */
  resyncs = 0;
  readonly #spec: VaultSpec;
  readonly #eventTypes: string[];

  constructor(store: SecretStore, ctx: ChangeSourceContext, options: PullingSourceOptions = {}) {
    super(SOURCE, store, ctx, options);
    this.#spec = parseVaultSpec(store.spec.provider["vault"], ctx.provider.storeName);
    this.#eventTypes = eventsConfig(store, "vault").eventTypes ?? DEFAULT_EVENT_TYPES;
  }

  async start(signal: AbortSignal): Promise<void> {
    // Loaded with the first such store: a controller without one keeps ws out of its memory.
    const [{ VaultProviderClient }, { default: WebSocketClass }] = await Promise.all([
      import("../../providers/vault/client.ts"),
      import("ws"),
    ]);
    const client = new VaultProviderClient(this.#spec, this.ctx.provider);
    try {
      await this.loop.run(signal, async (session) => {
        const vault = await client.sessionFor(signal);
        // Through the session: a revoked or expired token is replaced before the handshake needs it.
        await vault.call("lookup-self", "auth/token/lookup-self", (api) => api.tokenLookupSelf(), signal);
        const { server, namespace, ca, clientCertificate, headers } = vault.options;
        const options: WebSocket.ClientOptions = {
          headers: {
            ...headers,
            "X-Vault-Token": String(vault.vault.token),
            ...(namespace !== undefined && { "X-Vault-Namespace": namespace }),
          },
          ...(ca !== undefined && { ca }),
          ...(clientCertificate && { cert: clientCertificate.cert, key: clientCertificate.key }),
          handshakeTimeout: 15_000,
        };
        const base = server.replace(/^http/, "ws").replace(/\/+$/, "");
        await this.#subscribe(
          WebSocketClass,
          this.#eventTypes.map((type) => `${base}/v1/sys/events/subscribe/${type}?json=true`),
          options,
          session,
          signal,
        );
      });
    } finally {
      await client.close();
    }
  }

  /** Opens one socket per event type; connected once all are open; fails when any closes. */
  async #subscribe(
    WebSocketClass: typeof WebSocket,
    urls: string[],
    options: WebSocket.ClientOptions,
    session: Session,
    signal: AbortSignal,
  ): Promise<void> {
    const sockets = urls.map((url) => new WebSocketClass(url, options));
    const stop = (): void => sockets.forEach((s) => s.terminate());
    signal.addEventListener("abort", stop, { once: true });
    try {
      let open = 0;
      await new Promise<void>((resolve, reject) => {
        for (const [i, socket] of sockets.entries()) {
          socket.on("message", (data: Buffer) => this.#handle(data.toString("utf8")));
          socket.once("open", () => {
            if (++open === sockets.length) session.connected();
          });
          socket.once("unexpected-response", (_request, response) => {
            const status = response.statusCode ?? 0;
            const denied =
              status === 403
                ? `: the token needs read on sys/events/subscribe/${this.#eventTypes[i] ?? ""}`
                : "";
            reject(new Error(`Vault refused the event subscription (HTTP ${status})${denied}`));
          });
          socket.once("error", (error) => reject(error));
          socket.once("close", () =>
            signal.aborted ? resolve() : reject(new Error("the event websocket closed")),
          );
        }
      });
    } finally {
      signal.removeEventListener("abort", stop);
      stop();
    }
  }

  #handle(text: string): void {
    let event: unknown;
    try {
      event = JSON.parse(text);
    } catch {
      event = undefined;
    }
    const data = (event as { data?: unknown } | undefined)?.data as
      | {
          event_type?: unknown;
          event?: { metadata?: Record<string, unknown> };
          plugin_info?: { mount_path?: unknown };
        }
      | undefined;
    const type = data?.event_type;
    const metadata = data?.event?.metadata;
    const mountPath = data?.plugin_info?.mount_path;
    const path = metadata?.["data_path"] ?? metadata?.["path"];
    if (typeof type !== "string" || typeof mountPath !== "string" || typeof path !== "string") {
      this.counts.malformed++;
      this.ctx.log.warn({ source: SOURCE }, "malformed Vault event skipped");
      return;
    }
    const key = CHANGES.has(type) ? this.#keyOf(type, mountPath, path) : undefined;
    if (key === undefined) {
      this.counts.ignored++;
      return;
    }
    this.counts.changes++;
    const version = type === "kv-v2/data-write" ? metadata?.["current_version"] : undefined;
    this.report([key], typeof version === "string" && version !== "" ? version : undefined);
  }

  /** The key ExternalSecrets of this store name the secret by, or undefined when it is not this store's. */
  #keyOf(type: string, mountPath: string, path: string): string | undefined {
    const mount = mountPath.replace(/^\/+|\/+$/g, "");
    if (!path.startsWith(`${mount}/`)) return undefined;
    const kv2 = type.startsWith("kv-v2/");
    if (kv2 !== (this.#spec.version === "v2")) return undefined;
    let rest = path.slice(mount.length + 1);
    if (kv2) rest = rest.replace(KV2_SECTION, "");
    if (rest === "") return undefined;
    const storeMount = this.#spec.path?.replace(/^\/+|\/+$/g, "");
    if (storeMount === undefined) return `${mount}/${rest}`;
    return storeMount === mount ? rest : undefined;
  }

  /** After a gap, every key this store's ExternalSecrets read is reported: nothing missed stays stale. */
  protected override onReconnect(): void {
    const keys = [...this.ctx.readKeys()];
    this.resyncs++;
    this.ctx.log.info({ source: SOURCE, keys: keys.length }, "event source reconnected: resyncing read keys");
    this.report(keys);
  }
}

export const vaultEventsSourceFactory: ChangeSourceFactory = {
  field: "vault",
  providers: ["vault"],
  create: (store, ctx) => new VaultEventsSource(store, ctx),
};
