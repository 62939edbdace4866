// Maps Azure SDK errors to refsync's typed errors. Key Vault errors (RestError)
// are named by HTTP status and Key Vault's error code; Entra ID errors by
// their OAuth error and description (AADSTS codes say which federated
// credential, tenant or client was refused). Never a value, a token or a
// request body: the SDK's error objects carry the request, so they are not
// kept as causes.
import {
  AccessDeniedError,
  BackendUnavailableError,
  InvalidSpecError,
  RefsyncError,
  SecretNotFoundError,
  ThrottledError,
} from "../../errors.ts";
import type { CallResult } from "../types.ts";

interface SdkError {
  name?: string;
  message?: string;
  statusCode?: number;
  code?: string;
  response?: { headers?: { get(name: string): string | undefined } };
  details?: unknown;
  errorResponse?: { error?: string; errorDescription?: string };
}

/** The Key Vault error code of a RestError's body (`{"error":{"code":…,"innererror":{"code":…}}}`). */
function vaultCodes(error: SdkError): { code?: string; inner?: string } {
  type Inner = { code?: string };
  const details = error.details as
    | { error?: { code?: string; innererror?: Inner; innerError?: Inner } }
    | undefined;
  const inner = details?.error?.innerError ?? details?.error?.innererror;
  return { code: details?.error?.code ?? error.code, inner: inner?.code };
}

/** Seconds of a Retry-After header (delta-seconds or an HTTP date). */
export function retryAfterSeconds(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - Date.now()) / 1000));
}

export function callResultOfStatus(status: number): CallResult {
  if (status < 400) return "success";
  if (status === 404) return "not_found";
  if (status === 401 || status === 403) return "denied";
  if (status === 429) return "throttled";
  return "error";
}

/** The typed error for a Key Vault call; `where` says what failed (`SecretStore/ns/kv: get secret "db"`). */
export function toProviderError(error: unknown, where: string): Error {
  if (error instanceof RefsyncError) return error;
  const e = (error ?? {}) as SdkError;
  if (e.name === "AbortError" && error instanceof Error) return error;
  if (isEntraError(e)) return entraError(error, where);
  const status = e.statusCode;
  const { code, inner } = vaultCodes(e);
  const codes = [code, inner].filter(Boolean).join("/");
  const label =
    status === undefined ? (codes ? ` (${codes})` : "") : ` (HTTP ${status}${codes ? ` ${codes}` : ""})`;
  if (status === 404) return new SecretNotFoundError(`${where}: not found${label}`);
  if (status === 429) {
    return new ThrottledError(
      `${where}: throttled by Key Vault after the SDK's retries${label}`,
      retryAfterSeconds(e.response?.headers?.get("retry-after")),
    );
  }
  if (status === 401 || status === 403) {
    const why =
      inner === "SecretDisabled" || code === "SecretDisabled" ? "the secret is disabled" : "access denied";
    return new AccessDeniedError(`${where}: ${why}${label}`);
  }
  if (status === 409)
    return new InvalidSpecError(`${where}: conflict${label}: ${conflictHint(inner ?? code)}`);
  if (status === 400) return new InvalidSpecError(`${where}: rejected as invalid${label}`);
  return new BackendUnavailableError(`${where}: Key Vault is unavailable${label}`);
}

function conflictHint(code: string | undefined): string {
  return code === "ObjectIsDeletedButRecoverable"
    ? "a deleted secret of that name is kept for recovery; recover or purge it first"
    : "the vault refused the change";
}

function isEntraError(e: SdkError): boolean {
  return (
    e.name === "AuthenticationError" ||
    e.name === "CredentialUnavailableError" ||
    e.name === "AuthenticationRequiredError" ||
    e.name === "AggregateAuthenticationError" ||
    e.errorResponse !== undefined
  );
}

/**
 * An Entra ID refusal as AccessDeniedError with its OAuth error and the
 * first line of its description (which names the subject, issuer, audience,
 * client or tenant that did not match); other identity failures (an
 * unreachable endpoint) as BackendUnavailableError.
 */
export function entraError(error: unknown, where: string): Error {
  if (error instanceof RefsyncError) return error;
  const e = (error ?? {}) as SdkError;
  if (e.name === "AbortError" && error instanceof Error) return error;
  const oauth = e.errorResponse;
  const description = firstLine(oauth?.errorDescription ?? e.message ?? String(error));
  const what = oauth?.error ? `${oauth.error}: ${description}` : description;
  const unreachable = /ECONNREFUSED|ENOTFOUND|ETIMEDOUT|ECONNRESET|socket hang up|fetch failed/i.test(what);
  if (unreachable) return new BackendUnavailableError(`${where}: Entra ID is unreachable: ${what}`);
  if (e.name === "CredentialUnavailableError" && !oauth) {
    return new AccessDeniedError(`${where}: no credential available: ${what}`);
  }
  return new AccessDeniedError(`${where}: Entra ID refused: ${what}`);
}

/** Entra's AADSTS sentence (else the first line), without trace and correlation ids, bounded. */
function firstLine(text: string): string {
  const aadsts = /AADSTS\d+:[^\r\n]*/.exec(text)?.[0];
  const line = aadsts ?? (text.split(/\r?\n/).find((l) => l.trim()) ?? "").trim();
  return line.replace(/\s*-?\s*(Trace ID|Correlation ID|Timestamp):.*$/i, "").slice(0, 400);
}
