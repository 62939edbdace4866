/**
 * Azure Key Vault events through an Event Grid webhook subscription
 * (`spec.events.azureEventGrid`, stores of provider azurekv), delivered to
 * the same endpoint as the signed webhook: /api/v1/events/{namespace}/{store}
 * (ClusterSecretStore: /api/v1/events/_cluster/{store}), Event Grid schema.
 *
 * Event Grid signs nothing. Of the two ways Microsoft documents to
 * authenticate deliveries to a webhook, a client secret as a query parameter
 * of the endpoint URL and a Microsoft Entra ID bearer token, this takes the
 * first: the subscription's endpoint ends in `?code=<secret>`, the secret
 * being the Secret key `secretRef` names (at least 32 bytes); a delivery
 * without it is refused (401). Entra ID tokens are not accepted.
 *
 * Requests carry `aeg-event-type`: `SubscriptionValidation` (the handshake
 * Event Grid makes when the subscription is created: its validationCode is
 * echoed as `validationResponse`) or `Notification` (an array of events).
 * `Microsoft.KeyVault.SecretNewVersionCreated` of the store's own vault
 * becomes a change of `data.ObjectName` to `data.Version`; other event types
 * (near expiry, expired, keys, certificates) and other vaults change no value
 * the store reads and are skipped. Event Grid retries a delivery it thinks
 * failed: an event id seen before is skipped (and the refresh path collapses
 * repeats anyway), so the handler answers 200 for any delivery it took.
 */
import { z } from "zod";
import type { StoreEvents } from "../../api/v1alpha1.ts";
import { parseAzureKvSpec, vaultEndpoint } from "../../providers/azurekv/spec.ts";
import { GatedPushSource, refuse } from "./push-gate.ts";
import {
  eventsConfig,
  keyChange,
  storeRefOf,
  type ChangeSourceContext,
  type ChangeSourceFactory,
  type PushRequest,
  type PushResponse,
  type StoreRef,
} from "./source.ts";

export const EVENT_TYPE_HEADER = "aeg-event-type";
export const VALIDATION_EVENT = "Microsoft.EventGrid.SubscriptionValidationEvent";
export const SECRET_NEW_VERSION = "Microsoft.KeyVault.SecretNewVersionCreated";
/** How long an event id is remembered: Event Grid retries for up to a day. */
const SEEN_MS = 24 * 3600_000;

/** Key Vault's data fields, as Event Grid delivers them (PascalCase) or as the SDKs name them (camelCase). */
const keyVaultData = z.looseObject({
  ObjectName: z.string().min(1).optional(),
  objectName: z.string().min(1).optional(),
  VaultName: z.string().min(1).optional(),
  vaultName: z.string().min(1).optional(),
  Version: z.string().min(1).optional(),
  version: z.string().min(1).optional(),
});

const eventSchema = z.looseObject({
  id: z.string().min(1),
  eventType: z.string().min(1),
  data: z.unknown().optional(),
});

const deliverySchema = z.array(eventSchema).min(1).max(5000);

export class AzureEventGridSource extends GatedPushSource {
  readonly name = "azure-event-grid";
  readonly #vaultName: string;

  constructor(
    store: StoreRef,
    vaultName: string,
    config: NonNullable<StoreEvents["azureEventGrid"]>,
    ctx: ChangeSourceContext,
    now: () => number = Date.now,
  ) {
    super(store, config.secretRef, "spec.events.azureEventGrid.secretRef", ctx, now);
    this.#vaultName = vaultName.toLowerCase();
  }

  accepts(request: PushRequest): boolean {
    return request.headers[EVENT_TYPE_HEADER] !== undefined;
  }

  receive(request: PushRequest): PushResponse {
    if (!this.gate.secret) return refuse(503, "not-ready", "the Event Grid shared secret is not loaded");
    const code = request.query.code;
    if (code === undefined || !this.gate.matches(code))
      return refuse(401, "unauthenticated", "the endpoint's code query parameter is missing or wrong");
    if (!this.gate.admit())
      return refuse(429, "rate-limited", "too many requests for this store; retry later");
    let events: z.infer<typeof deliverySchema>;
    try {
      events = deliverySchema.parse(JSON.parse(request.body.toString("utf8")));
    } catch {
      return refuse(400, "bad-request", "the body must be an array of events in the Event Grid schema");
    }
    const kind = request.headers[EVENT_TYPE_HEADER];
    if (kind === "SubscriptionValidation") {
      const code = z
        .strictObject({ validationCode: z.string().min(1).max(256) })
        .partial()
        .safeParse(events[0]?.data).data?.validationCode;
      if (events[0]?.eventType !== VALIDATION_EVENT || !code)
        return refuse(
          400,
          "bad-request",
          `a SubscriptionValidation delivery carries one ${VALIDATION_EVENT}`,
        );
      return { status: 200, result: "validated", body: { validationResponse: code } };
    }
    if (kind !== "Notification")
      return refuse(
        400,
        "bad-request",
        `${EVENT_TYPE_HEADER} must be SubscriptionValidation or Notification`,
      );
    const now = this.now();
    let accepted = 0;
    for (const event of events) {
      if (event.eventType !== SECRET_NEW_VERSION) continue;
      const data = keyVaultData.safeParse(event.data).data;
      const key = data?.ObjectName ?? data?.objectName;
      const vault = (data?.VaultName ?? data?.vaultName)?.toLowerCase();
      if (!key || vault !== this.#vaultName) continue;
      if (!this.seen.add(event.id, now + SEEN_MS, now)) continue;
      const version = data?.Version ?? data?.version;
      this.ctx.sink(keyChange(this.store, this.name, key, version, now));
      accepted++;
    }
    return { status: 200, result: "accepted", body: { accepted } };
  }
}

export const azureEventGridSourceFactory: ChangeSourceFactory = {
  field: "azureEventGrid",
  providers: ["azurekv"],
  create: (store, ctx) =>
    new AzureEventGridSource(
      storeRefOf(store),
      vaultEndpoint(parseAzureKvSpec(store.spec.provider.azurekv)).name,
      eventsConfig(store, "azureEventGrid"),
      ctx,
    ),
};
