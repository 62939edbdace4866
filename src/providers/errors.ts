import { RefsyncError } from "../errors.ts";

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
