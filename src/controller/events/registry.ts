/**
 * Every change source this build has, one factory per field of a store's
 * `spec.events` (see source.ts). A field set on a store with no factory here
 * is refused (EventsReady=False), never ignored.
 */
import { awsSqsSourceFactory } from "./aws-sqs.ts";
import { gcpPubSubSourceFactory } from "./gcp-pubsub.ts";
import type { ChangeSourceFactory } from "./source.ts";
import { vaultEventsSourceFactory } from "./vault-events.ts";

export const changeSourceFactories: readonly ChangeSourceFactory[] = [
  awsSqsSourceFactory,
  vaultEventsSourceFactory,
  gcpPubSubSourceFactory,
];
