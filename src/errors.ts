/**
 * Base of refsync's typed errors. Each carries the condition reason the
 * controller reports, and a message that names the store and path but never a
 * value or a credential.
 */
export type ErrorReason =
  | "NotFound"
  | "AccessDenied"
  | "Throttled"
  | "BackendUnavailable"
  | "InvalidReference"
  | "InvalidSpec"
  | "StoreNotReady";

export abstract class RefsyncError extends Error {
  abstract readonly reason: ErrorReason;
  /** True when retrying the same request later can succeed. */
  abstract readonly retryable: boolean;
}
