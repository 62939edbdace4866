/**
 * `spec.events.gcpPubSub`: Google Secret Manager's change notifications,
 * pulled from a Pub/Sub subscription of the topic the secrets name (their
 * `topics`), with the store's own Google identity (its token source: workload
 * identity federation, GKE workload identity, a key file, or ADC).
 *
 * Each message carries the attributes `eventType`, `secretId` (the secret's
 * full resource name), `versionId` for version events, and `dataFormat`.
 * Version additions, enables, disables, destructions, secret updates and
 * deletions are reported as the secret's id, the key the store's
 * ExternalSecrets name it by (and its full resource name when one reads it so).
 * A message is acknowledged only after its change reached the sink; messages
 * that are no notification of this store's project and location are counted
 * and acknowledged. Unacknowledged ones come back after the ack deadline.
 */
import { InvalidSpecError } from "../../errors.ts";
import { attribution } from "../../providers/attribution.ts";
import { parseGcpsmSpec, type GcpsmSpec } from "../../providers/gcpsm/spec.ts";
import type { SecretStore } from "../../api/v1alpha1.ts";
import { PullingSource, type PullingSourceOptions } from "./pulling-source.ts";
import { eventsConfig, type ChangeSourceContext, type ChangeSourceFactory } from "./source.ts";

export const SOURCE = "gcp-pubsub";
const DEFAULT_ENDPOINT = "pubsub.googleapis.com";
/** Messages per Pull. */
const BATCH = 100;
/** gRPC UNAUTHENTICATED: the token expired or was revoked early. */
const UNAUTHENTICATED = 16;

/** Notifications after which a read may return something else. */
const CHANGES = new Set([
  "SECRET_CREATE",
  "SECRET_UPDATE",
  "SECRET_DELETE",
  "SECRET_VERSION_ADD",
  "SECRET_VERSION_ENABLE",
  "SECRET_VERSION_DISABLE",
  "SECRET_VERSION_DESTROY",
  "SECRET_VERSION_DESTROY_SCHEDULED",
]);
const SECRET_NAME = /^projects\/([^/]+)(?:\/locations\/([^/]+))?\/secrets\/([^/]+)$/;

interface Received {
  ackId?: string | null;
  message?: { attributes?: Record<string, string> | null; messageId?: string | null } | null;
}

export class GcpPubSubSource extends PullingSource {
  readonly #spec: GcpsmSpec;
  readonly #subscription: string;
  /** The store's project (projectID, or found as the provider finds it), known once started. */
  #project = "";

  constructor(store: SecretStore, ctx: ChangeSourceContext, options: PullingSourceOptions = {}) {
    super(SOURCE, store, ctx, options);
    this.#spec = parseGcpsmSpec(store.spec.provider["gcpsm"]);
    this.#subscription = eventsConfig(store, "gcpPubSub").subscription;
  }

  async start(signal: AbortSignal): Promise<void> {
    // gRPC and Google's auth library load with the first such store, not with every controller.
    const [{ v1 }, { credentials: grpcCredentials }, { PassThroughClient }, { projectOf, tokenSource }] =
      await Promise.all([
        import("@google-cloud/pubsub"),
        import("@grpc/grpc-js"),
        import("google-auth-library"),
        import("../../providers/gcpsm/credentials.ts"),
      ]);
    this.#project = await projectOf(this.#spec, this.ctx.provider);
    const tokens = tokenSource(this.#spec, this.ctx.provider);
    const [host, port] = (this.#spec.endpoints?.pubsub ?? DEFAULT_ENDPOINT).split(":");
    const ca = await this.#ca();
    const client = new v1.SubscriberClient({
      apiEndpoint: host,
      port: port ? Number(port) : 443,
      // The bearer token goes with each call; the channel is TLS only.
      sslCreds: grpcCredentials.createSsl(ca ? Buffer.from(ca, "utf8") : null),
      authClient: new PassThroughClient(),
      universeDomain: "googleapis.com",
      "grpc.primary_user_agent": attribution(this.ctx.provider.namespace),
    });
    const call = async () => ({
      retry: null,
      otherArgs: { headers: { authorization: `Bearer ${await tokens.token()}` } },
    });
    try {
      await this.loop.run(signal, async (session) => {
        for (;;) {
          let received: Received[];
          try {
            const pulling = client.pull(
              { subscription: this.#subscription, maxMessages: BATCH },
              await call(),
            );
            received = (await abortable(pulling, signal))[0].receivedMessages ?? [];
          } catch (error) {
            if ((error as { code?: unknown }).code === UNAUTHENTICATED) tokens.invalidate();
            throw error;
          }
          if (signal.aborted) return;
          session.connected();
          const ackIds: string[] = [];
          for (const m of received) {
            this.#handle(m);
            if (m.ackId) ackIds.push(m.ackId);
          }
          // Only after the sink has them; a failed acknowledge redelivers them after the ack deadline.
          if (ackIds.length > 0)
            await client.acknowledge({ subscription: this.#subscription, ackIds }, await call());
        }
      });
    } finally {
      await client.close();
    }
  }

  #handle(received: Received): void {
    const attributes = received.message?.attributes ?? {};
    const eventType = attributes["eventType"];
    const secret = SECRET_NAME.exec(attributes["secretId"] ?? "");
    if (eventType === undefined || !secret) {
      this.counts.malformed++;
      this.ctx.log.warn(
        { source: SOURCE, messageId: received.message?.messageId },
        "Pub/Sub message without eventType and secretId acknowledged",
      );
      return;
    }
    const [name, project, location, id] = secret as unknown as [string, string, string | undefined, string];
    // Secret Manager names the project by number; a store that does not know its number takes any
    // number (the subscription is its own), one that does checks it.
    const byNumber = /^\d+$/.test(project) && (this.#spec.projectNumber ?? project) === project;
    const ours = (project === this.#project || byNumber) && location === this.#spec.location;
    if (!CHANGES.has(eventType) || !ours) {
      this.counts.ignored++;
      return;
    }
    this.counts.changes++;
    const read = this.ctx.readKeys();
    const where = location ? `/locations/${location}` : "";
    const names = [name, `projects/${this.#project}${where}/secrets/${id}`];
    const keys = new Set([id, ...names.filter((n) => read.has(n))]);
    const version =
      eventType === "SECRET_VERSION_ADD"
        ? /\/versions\/(\d+)$/.exec(attributes["versionId"] ?? "")?.[1]
        : undefined;
    this.report(keys, version);
  }

  /** The CA of the store's endpoints (caBundle, or the Secret or ConfigMap caProvider names). */
  async #ca(): Promise<string | undefined> {
    const { caBundle, caProvider } = this.#spec;
    if (caBundle !== undefined) return Buffer.from(caBundle, "base64").toString("utf8");
    if (!caProvider) return undefined;
    const { type, ...ref } = caProvider;
    if (type === "Secret") return this.ctx.provider.readCredential(ref);
    if (!this.ctx.provider.readConfigMap)
      throw new InvalidSpecError(
        `${this.ctx.provider.storeName}: caProvider: ConfigMaps cannot be read here`,
      );
    return this.ctx.provider.readConfigMap({ ...ref, field: "caProvider" });
  }
}

/** Settles with `promise`, or rejects as soon as `signal` aborts (closing the client ends the call). */
function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason as Error);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

export const gcpPubSubSourceFactory: ChangeSourceFactory = {
  field: "gcpPubSub",
  providers: ["gcpsm"],
  create: (store, ctx) => new GcpPubSubSource(store, ctx),
};
