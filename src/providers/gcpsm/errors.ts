// Maps gRPC status codes of Secret Manager to refsync's typed errors. The
// message names the store, the call and the secret, and carries the status
// code; never a value or a token. Google's own text is kept only for the
// version state (DISABLED, DESTROYED), which it reports in FAILED_PRECONDITION.
import {
  AccessDeniedError,
  BackendUnavailableError,
  InvalidSpecError,
  SecretNotFoundError,
  SecretVersionStateError,
  ThrottledError,
} from "../../errors.ts";
import type { CallResult } from "../types.ts";

/** gRPC status codes (google.rpc.Code). */
export const Code = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;

const NAMES = Object.fromEntries(Object.entries(Code).map(([name, code]) => [code, name])) as Record<
  number,
  string
>;

export function codeName(code: number | undefined): string {
  return code === undefined ? "UNKNOWN" : (NAMES[code] ?? `CODE_${code}`);
}

/** The gRPC status code of an error from the client, if it has one. */
export function statusCode(error: unknown): number | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "number" ? code : undefined;
}

export function callResult(code: number | undefined): CallResult {
  if (code === Code.NOT_FOUND) return "not_found";
  if (code === Code.RESOURCE_EXHAUSTED) return "throttled";
  if (code === Code.PERMISSION_DENIED || code === Code.UNAUTHENTICATED) return "denied";
  return "error";
}

/** The typed error for a failed call; `where` says what failed (`SecretStore/a/gcp: AccessSecretVersion "db"`). */
export function toProviderError(error: unknown, where: string): Error {
  const code = statusCode(error);
  const name = codeName(code);
  const cause = new Error(name);
  cause.name = name;
  const options = { cause };
  const details = (error as { details?: unknown } | null)?.details;
  if (code === Code.FAILED_PRECONDITION && typeof details === "string") {
    const state = /\b(DISABLED|DESTROYED) state\b/.exec(details)?.[1] as "DISABLED" | "DESTROYED" | undefined;
    if (state) {
      return new SecretVersionStateError(
        `${where}: the version is ${state}; enable it or read another version (${name})`,
        state,
        options,
      );
    }
  }
  const message = (text: string) => `${where}: ${text} (${name})`;
  switch (code) {
    case Code.NOT_FOUND:
      return new SecretNotFoundError(message("not found, or the secret has no versions"), options);
    case Code.PERMISSION_DENIED: {
      const missing = deniedPermission(error);
      const what = missing ? `permission denied: needs ${missing}` : "permission denied";
      return new AccessDeniedError(message(`${what} (or the secret does not exist)`), options);
    }
    case Code.UNAUTHENTICATED:
      return new AccessDeniedError(message("the access token was not accepted"), options);
    case Code.RESOURCE_EXHAUSTED:
      return new ThrottledError(message("quota exhausted after the client's retries"), undefined, options);
    case Code.INVALID_ARGUMENT:
    case Code.OUT_OF_RANGE:
      return new InvalidSpecError(message("rejected as invalid"), options);
    case Code.FAILED_PRECONDITION:
      return new InvalidSpecError(message("failed precondition"), options);
    default:
      return new BackendUnavailableError(message("Secret Manager is unavailable"), options);
  }
}

/**
 * The IAM permission a PERMISSION_DENIED names in its google.rpc.ErrorInfo
 * (`metadata.permission`, as google-gax decodes the status details), when it
 * looks like one (`secretmanager.versions.access`); never other metadata.
 */
function deniedPermission(error: unknown): string | undefined {
  const e = error as { reason?: unknown; errorInfoMetadata?: Record<string, unknown> } | null;
  if (e?.reason !== "IAM_PERMISSION_DENIED") return undefined;
  const permission = e.errorInfoMetadata?.["permission"];
  return typeof permission === "string" && /^[a-z][a-zA-Z]*(\.[a-zA-Z]+){2}$/.test(permission)
    ? permission
    : undefined;
}
