/**
 * Every change source this build has, one factory per field of a store's
 * `spec.events` (see source.ts). A field set on a store with no factory here
 * is refused (EventsReady=False), never ignored.
 */
import { awsSqsSourceFactory } from "./aws-sqs.ts";
import { azureEventGridSourceFactory } from "./azure-event-grid.ts";
import { gcpPubSubSourceFactory } from "./gcp-pubsub.ts";
import type { ChangeSourceFactory } from "./source.ts";
import { vaultEventsSourceFactory } from "./vault-events.ts";
import { webhookSourceFactory } from "./webhook.ts";

export const changeSourceFactories: readonly ChangeSourceFactory[] = [
  webhookSourceFactory,
  azureEventGridSourceFactory,
  awsSqsSourceFactory,
  vaultEventsSourceFactory,
  gcpPubSubSourceFactory,
];
