import { RefsyncError } from "../errors.ts";

/** The store an ExternalSecret names does not exist, or is not usable yet. */
export class StoreNotReadyError extends RefsyncError {
  override readonly name = "StoreNotReadyError";
  readonly reason = "StoreNotReady";
  readonly retryable = true;
}
