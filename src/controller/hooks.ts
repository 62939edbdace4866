/**
 * Extension points of the ExternalSecret reconcile. A hook runs after the
 * target Secret's data changed (rollout restarts of consumers plug in here);
 * a hook failure is logged and reported as an event, it never fails the sync
 * that already wrote the Secret.
 */
import type { ExternalSecret } from "../api/v1alpha1.ts";

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
