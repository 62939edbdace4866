/**
 * The signed webhook (`spec.events.webhook`): any backend or CI pipeline
 * POSTs the keys it changed to /api/v1/events/{namespace}/{store}
 * (ClusterSecretStore: /api/v1/events/_cluster/{store}) on the controller's
 * HTTP server (src/server/events.ts):
 *
 *   X-Refsync-Timestamp: <unix seconds>
 *   X-Refsync-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<raw body>")>
 *   {"changes": [{"key": "team-a/db", "version": "7"}]}      (1 to 100 changes; version optional)
 *
 * The secret is the Secret key `secretRef` names (at least 32 bytes). A
 * request is refused, and counted by why, when unsigned or badly signed
 * (401), when its timestamp is more than five minutes off (401, stale), when
 * its signature was seen before (409, replayed: each signature is remembered
 * for the window), above the store's request rate (429), or malformed (400).
 * A change can only refresh what the store's ExternalSecrets read: a key
 * nobody reads costs nothing.
 */
import { createHmac } from "node:crypto";
import { z } from "zod";
import type { StoreEvents } from "../../api/v1alpha1.ts";
import { GatedPushSource, refuse, sameSecret } from "./push-gate.ts";
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

export const TIMESTAMP_HEADER = "x-refsync-timestamp";
export const SIGNATURE_HEADER = "x-refsync-signature";
/** How far a request's timestamp may be from the controller's clock. */
export const WINDOW_SECONDS = 300;
/** Most changes one request may name. */
export const MAX_CHANGES = 100;

const bodySchema = z.strictObject({
  changes: z
    .array(
      z.strictObject({
        key: z.string().min(1).max(1024),
        version: z.string().min(1).max(256).optional(),
      }),
    )
    .min(1)
    .max(MAX_CHANGES),
});

/** The signature header's value for `body` sent at `timestamp` (unix seconds): what a sender computes. */
export function signWebhook(secret: string | Buffer, timestamp: number, body: string | Buffer): string {
  return `sha256=${createHmac("sha256", secret).update(`${timestamp}.`).update(body).digest("hex")}`;
}

export class WebhookSource extends GatedPushSource {
  readonly name = "webhook";

  constructor(
    store: StoreRef,
    config: NonNullable<StoreEvents["webhook"]>,
    ctx: ChangeSourceContext,
    now: () => number = Date.now,
  ) {
    super(store, config.secretRef, "spec.events.webhook.secretRef", ctx, now);
  }

  accepts(request: PushRequest): boolean {
    return request.headers[SIGNATURE_HEADER] !== undefined || request.headers[TIMESTAMP_HEADER] !== undefined;
  }

  receive(request: PushRequest): PushResponse {
    const secret = this.gate.secret;
    if (!secret) return refuse(503, "not-ready", "the webhook's signing secret is not loaded");
    const stamp = request.headers[TIMESTAMP_HEADER];
    const signature = request.headers[SIGNATURE_HEADER];
    if (!stamp || !signature || !/^\d{1,12}$/.test(stamp))
      return refuse(401, "unauthenticated", `${TIMESTAMP_HEADER} and ${SIGNATURE_HEADER} are required`);
    const timestamp = Number(stamp);
    const expected = signWebhook(secret, timestamp, request.body);
    // Compared as digests of equal length, in constant time.
    if (!sameSecret(signature, expected))
      return refuse(401, "unauthenticated", "the signature does not match");
    const now = this.now();
    if (Math.abs(now / 1000 - timestamp) > WINDOW_SECONDS)
      return refuse(
        401,
        "stale",
        `the timestamp is more than ${WINDOW_SECONDS} s from the controller's clock`,
      );
    if (!this.seen.add(signature, (timestamp + WINDOW_SECONDS) * 1000, now))
      return refuse(409, "replayed", "this request was received before");
    if (!this.gate.admit())
      return refuse(429, "rate-limited", "too many requests for this store; retry later");
    let parsed: z.infer<typeof bodySchema>;
    try {
      parsed = bodySchema.parse(JSON.parse(request.body.toString("utf8")));
    } catch {
      return refuse(
        400,
        "bad-request",
        `the body must be {"changes": [{"key": "...", "version": "..."}]} with 1 to ${MAX_CHANGES} changes`,
      );
    }
    for (const c of parsed.changes) this.ctx.sink(keyChange(this.store, this.name, c.key, c.version, now));
    return { status: 202, result: "accepted", body: { accepted: parsed.changes.length } };
  }
}

export const webhookSourceFactory: ChangeSourceFactory = {
  field: "webhook",
  create: (store, ctx) => new WebhookSource(storeRefOf(store), eventsConfig(store, "webhook"), ctx),
};
