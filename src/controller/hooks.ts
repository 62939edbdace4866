/**
 * Extension points of the controller, so features (rollout, freshness) plug
 * in without importing the composition root (manager.ts). A hook runs after
 * the target Secret's data changed (rollout restarts of consumers plug in
 * here); a hook failure is logged and reported as an event, it never fails
 * the sync that already wrote the Secret. A leader loop runs only while this
 * replica leads.
 */
import type { KubeConfig } from "@kubernetes/client-node";
import type { ExternalSecret } from "../api/v1alpha1.ts";
import type { KubeClient } from "../kube/client.ts";
import type { EventRecorder } from "../kube/events.ts";
import type { Informer } from "../kube/informer.ts";
import type { Logger } from "../log.ts";
import type { ControllerMetrics } from "./metrics.ts";
import type { SecretObject } from "./externalsecret/target.ts";
import type { StoreLookup } from "./secretstore/resolve.ts";
import type { StoreSessions } from "./secretstore/sessions.ts";

export interface SecretChange {
  externalSecret: ExternalSecret;
  secret: { namespace: string; name: string };
  /** Hash before the change; undefined when the Secret was created. */
  previousHash: string | undefined;
  dataHash: string;
  /** Keys added, removed or changed, from the Secret's bytes (names only); undefined when it was created. */
  changedKeys?: string[];
}

export type SecretChangeHook = (change: SecretChange, signal: AbortSignal) => Promise<void>;

/** What a leader-only loop gets (the freshness poller, issue 7). */
export interface ControllerContext {
  kube: KubeClient;
  kc: KubeConfig;
  log: Logger;
  metrics: ControllerMetrics;
  sessions: StoreSessions;
  stores: StoreLookup;
  events: EventRecorder;
  /** Read-only caches (the rollout work reads ExternalSecrets and managed Secrets). */
  externalSecrets: Informer<ExternalSecret>;
  secrets: Informer<SecretObject>;
  enqueueExternalSecret(namespace: string, name: string): void;
}

export type LeaderLoop = (ctx: ControllerContext, signal: AbortSignal) => Promise<void>;
