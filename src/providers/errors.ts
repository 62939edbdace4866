import { RefsyncError } from "../errors.ts";
import type { CallResult } from "./types.ts";

export { RefsyncError, type ErrorReason } from "../errors.ts";

export class SecretNotFoundError extends RefsyncError {
  override readonly name = "SecretNotFoundError";
  readonly reason = "NotFound";
  readonly retryable = true;
}

export class AccessDeniedError extends RefsyncError {
  override readonly name = "AccessDeniedError";
  readonly reason = "AccessDenied";
  readonly retryable = true;
}

export class ThrottledError extends RefsyncError {
  override readonly name = "ThrottledError";
  readonly reason = "Throttled";
  readonly retryable = true;
  /** Seconds the backend asked us to wait, when it said. */
  readonly retryAfterSeconds: number | undefined;
  constructor(message: string, retryAfterSeconds?: number, options?: ErrorOptions) {
    super(message, options);
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

export class BackendUnavailableError extends RefsyncError {
  override readonly name = "BackendUnavailableError";
  readonly reason = "BackendUnavailable";
  readonly retryable = true;
}

/** A store spec or ExternalSecret field that no retry will fix. */
export class InvalidSpecError extends RefsyncError {
  override readonly name = "InvalidSpecError";
  readonly reason = "InvalidSpec";
  readonly retryable = false;
}

export { InvalidReferenceError } from "../refs/errors.ts";

/** The provider-call metric's result label for an error (undefined: success). */
export function callResultOf(error: unknown): CallResult {
  if (error === undefined) return "success";
  if (!(error instanceof RefsyncError)) return "error";
  if (error.reason === "NotFound") return "not_found";
  if (error.reason === "AccessDenied") return "denied";
  if (error.reason === "Throttled") return "throttled";
  return "error";
}
