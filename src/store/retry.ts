/**
 * A store's `spec.retrySettings` (ESO's, there the provider client's HTTP retries): a backend
 * call that fails for a reason that may pass is made again, up to `maxRetries` more times,
 * `retryInterval` apart. One place for every provider: each attempt goes through the store
 * session's rate limit, metrics and audit like any call, after the client's own retries.
 */
import { parseDuration } from "../api/validate.ts";
import type { SecretStoreSpec } from "../api/v1alpha1.ts";
import { AuditSinkError, RefsyncError, ThrottledError } from "../errors.ts";
import { sleep } from "../kube/sleep.ts";

export interface RetryPolicy {
  maxRetries: number;
  intervalMs: number;
}

/** ESO's default attempts when retrySettings leaves maxRetries out (its AWS provider's). */
export const DEFAULT_MAX_RETRIES = 3;
export const DEFAULT_RETRY_INTERVAL = "1s";

/** Unset retrySettings: no retries here (the controller's per-object back-off retries). */
export function retryPolicy(settings: SecretStoreSpec["retrySettings"]): RetryPolicy | undefined {
  if (!settings) return undefined;
  return {
    maxRetries: settings.maxRetries ?? DEFAULT_MAX_RETRIES,
    intervalMs: parseDuration(settings.retryInterval ?? DEFAULT_RETRY_INTERVAL),
  };
}

/** Unavailable, throttled or unexpected: another attempt may succeed. Not found, denied or a bad spec will not. */
export function mayPass(err: unknown): boolean {
  if (err instanceof AuditSinkError) return false;
  if (!(err instanceof RefsyncError)) return true;
  return err.reason === "BackendUnavailable" || err.reason === "Throttled";
}

/** `attempt`, then again while it fails with an error that may pass and retries are left. */
export async function withRetries<T>(
  policy: RetryPolicy | undefined,
  attempt: () => Promise<T>,
  signal?: AbortSignal,
): Promise<T> {
  for (let retries = 0; ; retries++) {
    try {
      return await attempt();
    } catch (err) {
      if (!policy || retries >= policy.maxRetries || !mayPass(err) || signal?.aborted) throw err;
      // A backend that said how long to wait is not asked sooner.
      const askedMs = err instanceof ThrottledError ? (err.retryAfterSeconds ?? 0) * 1000 : 0;
      await sleep(Math.max(policy.intervalMs, askedMs), signal);
      // Aborted while waiting: the failure stands.
      if (signal?.aborted) throw err;
    }
  }
}
