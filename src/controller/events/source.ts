/**
 * Event-driven refresh: the contract between change sources and the one
 * refresh-trigger path of the controller.
 *
 * A change source hears from a backend (or a CI pipeline) that a key of a
 * store changed and reports a `KeyChange` to its sink. The trigger path
 * (trigger.ts) looks up the ExternalSecrets that read that key through that
 * store (readers.ts), reads the key once for all of them, under the store's
 * rate limit, and refreshes them at once, outside their periodic slot;
 * duplicates within a short window collapse, a version already synced and a
 * key nobody reads cost nothing. Periodic refresh stays the safety net: a
 * store whose source is down shows `EventsReady=False` (with the source's
 * reason) and `refsync_event_source_up 0`, and its ExternalSecrets keep
 * refreshing on their interval.
 *
 * Sources are configured on the store, `spec.events` (src/api/schema.ts), one
 * field per source, one file per source in this folder:
 *   - webhook          webhook.ts           signed requests to the controller's HTTP server
 *   - azureEventGrid   azure-event-grid.ts  Key Vault events from an Event Grid webhook subscription
 *   - awsSqs           aws-sqs.ts           Secrets Manager CloudTrail events via EventBridge → SQS
 *   - vault            vault-events.ts      Vault's sys/events/subscribe websocket
 *   - gcpPubSub        gcp-pubsub.ts        Secret Manager notifications via Pub/Sub
 * Each file exports a `ChangeSourceFactory`, listed in registry.ts. The
 * sources manager (sources.ts) starts one source per configured field of
 * each store while this replica leads, restarts them when the store's spec
 * changes, stops them when it is deleted, and turns `health()` into the
 * store's condition and metric. A field set on a store whose factory is not
 * in the registry (or whose provider the factory does not serve) is refused
 * through that condition, never ignored.
 */
import type { SecretStore, StoreEvents } from "../../api/v1alpha1.ts";
import type { Logger } from "../../log.ts";
import type { ProviderContext } from "../../providers/types.ts";

/** A store as a change names it. */
export interface StoreRef {
  kind: "SecretStore" | "ClusterSecretStore";
  /** SecretStore only. */
  namespace?: string;
  name: string;
}

/** "Key `key` of store `store` changed" (to `version`, when the source knows it). */
export interface KeyChange {
  store: StoreRef;
  /**
   * The key as ExternalSecrets name it in `remoteRef.key` / `dataFrom.extract.key` and as
   * `dataFrom.find` lists it: a Vault path under the store's mount, an AWS secret name, a
   * Key Vault secret name, a Secret Manager secret id. Sources translate what the backend
   * says (an ARN, a `data/` path) into this form.
   */
  key: string;
  /** The backend's new version (Vault KV version, AWS VersionId, Key Vault version), when known. */
  version?: string;
  /** Which source reported it, for metrics and logs: "webhook", "azure-event-grid", "aws-sqs", "vault-events", "gcp-pubsub". */
  source: string;
  /** When the source received it (ms since the epoch): the start of the change→Secret latency. */
  receivedAt: number;
}

/** The change of `key` (to `version`, when known) that `source` of `store` received at `receivedAt`. */
export function keyChange(
  store: StoreRef,
  source: string,
  key: string,
  version: string | undefined,
  receivedAt: number,
): KeyChange {
  return { store, key, ...(version !== undefined && { version }), source, receivedAt };
}

/** Where a source reports changes; never throws and never waits (the trigger path queues the work). */
export type ChangeSink = (change: KeyChange) => void;

export interface SourceHealth {
  up: boolean;
  /** Why not up, for the store's EventsReady condition (never a secret value). */
  reason?: string;
}

export interface ChangeSource {
  /** The `source` its changes carry ("aws-sqs"…). */
  readonly name: string;
  /**
   * Runs until `signal` is aborted (then resolves), reporting changes to the sink it was
   * constructed with. It reconnects by itself after failures (with back-off) and reports
   * them through health(); a rejection means it gave up, and shows as down.
   */
  start(signal: AbortSignal): Promise<void>;
  /** Up: connected (or, for a push source, ready to authenticate requests). */
  health(): SourceHealth;
}

/** An HTTP request to the events endpoint (src/server/events.ts), as a push source sees it. */
export interface PushRequest {
  /** Header names in lower case. */
  headers: Readonly<Record<string, string | undefined>>;
  query: Readonly<Record<string, string | undefined>>;
  /** The raw body, as signed. */
  body: Buffer;
}

export interface PushResponse {
  status: number;
  /** JSON; never a secret value. */
  body: unknown;
  /** For refsync_webhook_requests_total{result}: "accepted", "unauthenticated", "stale", "replayed"… */
  result: string;
}

/**
 * A source that backends push to over HTTP (the signed webhook, Event Grid): the events
 * endpoint hands it the requests for its store; `start` keeps its shared secret loaded.
 */
export interface PushSource extends ChangeSource {
  /** Whether this request is of this source's protocol (Event Grid's carry `aeg-event-type`). */
  accepts(request: PushRequest): boolean;
  /** Authenticates the request and reports the changes it names; never throws. */
  receive(request: PushRequest): PushResponse;
}

/** What a factory gets to build a source for one store. */
export interface ChangeSourceContext {
  /** Where to report changes. */
  sink: ChangeSink;
  log: Logger;
  /**
   * The store's own identity, as its provider gets it: credentials from the Secrets its spec
   * names, service-account tokens, CA bundles, the store's rate limit (`takeToken`). A
   * ClusterSecretStore acts for no namespace here: references must name theirs.
   */
  provider: ProviderContext;
  /** Call when health() changes, so the store's condition and metric follow at once. */
  healthChanged(): void;
  /** The keys of this store that some ExternalSecret reads now (a re-list after a gap may check only these). */
  readKeys(): ReadonlySet<string>;
}

/** Builds the source of one field of `spec.events`. */
export interface ChangeSourceFactory {
  /** The field of `spec.events` it serves. */
  readonly field: keyof StoreEvents;
  /** Providers (`spec.provider` keys) whose stores it serves; undefined: any. */
  readonly providers?: readonly string[];
  create(store: SecretStore, ctx: ChangeSourceContext): ChangeSource;
}

/** A factory's section of the store's `spec.events` (the manager calls `create` only when it is set). */
export function eventsConfig<F extends keyof StoreEvents>(
  store: Pick<SecretStore, "kind" | "metadata" | "spec">,
  field: F,
): NonNullable<StoreEvents[F]> {
  const config = store.spec.events?.[field];
  if (config === undefined)
    throw new Error(`${store.kind} ${store.metadata.name}: spec.events.${field} is not set`);
  return config as NonNullable<StoreEvents[F]>;
}

/** The store a change or a source belongs to. */
export function storeRefOf(store: Pick<SecretStore, "kind" | "metadata">): StoreRef {
  return store.kind === "ClusterSecretStore"
    ? { kind: "ClusterSecretStore", name: store.metadata.name }
    : { kind: "SecretStore", namespace: store.metadata.namespace ?? "", name: store.metadata.name };
}
