// Maps AWS SDK errors (Secrets Manager and STS) to refsync's typed errors. The
// message names the store and what was being done, and carries AWS's error
// code; never a value, a key or a token.
import {
  AccessDeniedError,
  BackendUnavailableError,
  InvalidSpecError,
  SecretNotFoundError,
  ThrottledError,
} from "../../errors.ts";
import type { CallResult } from "../types.ts";

const NOT_FOUND = new Set(["ResourceNotFoundException"]);
const THROTTLED = new Set([
  "ThrottlingException",
  "Throttling",
  "TooManyRequestsException",
  "RequestLimitExceeded",
]);
const DENIED = new Set([
  "AccessDeniedException",
  "AccessDenied",
  "UnrecognizedClientException",
  "InvalidSignatureException",
  "IncompleteSignatureException",
  "MissingAuthenticationTokenException",
  "ExpiredTokenException",
  "ExpiredToken",
  "InvalidClientTokenId",
  "SignatureDoesNotMatch",
  "InvalidIdentityToken",
  "InvalidIdentityTokenException",
  "IDPRejectedClaim",
  "IDPRejectedClaimException",
  "CredentialsProviderError",
]);
const INVALID = new Set(["InvalidParameterException", "ValidationException", "ValidationError"]);

/** The AWS error code of an SDK error (its `name`), or the per-entry `ErrorCode` of a batch. */
export function errorCode(error: unknown): string {
  return error instanceof Error ? error.name : "UnknownError";
}

export function callResult(code: string): CallResult {
  if (NOT_FOUND.has(code)) return "not_found";
  if (THROTTLED.has(code)) return "throttled";
  if (DENIED.has(code)) return "denied";
  return "error";
}

/**
 * The typed error for an AWS error code. `where` says what failed, e.g.
 * `SecretStore/team-a/aws: GetSecretValue "team-a/db"`.
 */
export function toProviderError(code: string, where: string, cause?: unknown): Error {
  if (code === "AbortError" && cause instanceof Error) return cause;
  const message = `${where}: ${describe(code)} (${code})`;
  const options = cause === undefined ? undefined : { cause: redactedCause(cause) };
  if (NOT_FOUND.has(code)) return new SecretNotFoundError(message, options);
  if (THROTTLED.has(code)) return new ThrottledError(message, undefined, options);
  if (DENIED.has(code)) return new AccessDeniedError(message, options);
  if (INVALID.has(code)) return new InvalidSpecError(message, options);
  return new BackendUnavailableError(message, options);
}

function describe(code: string): string {
  if (NOT_FOUND.has(code)) return "not found";
  if (THROTTLED.has(code)) return "throttled by AWS after the SDK's retries";
  if (code === "CredentialsProviderError") return "no AWS credentials could be resolved";
  if (DENIED.has(code)) return "access denied";
  if (INVALID.has(code)) return "rejected as invalid";
  return "AWS is unavailable";
}

/**
 * Keeps the cause's code and HTTP status for debugging but drops the SDK
 * error object itself: it carries the request, whose body may hold a value
 * being written.
 */
function redactedCause(cause: unknown): Error {
  const status = (cause as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  const error = new Error(`${errorCode(cause)}${status ? ` (HTTP ${status})` : ""}`);
  error.name = errorCode(cause);
  return error;
}
