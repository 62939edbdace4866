/**
 * Maps what node-vault throws (an ApiResponseError with Vault's status and
 * `errors`, or an axios network error) to refsync's typed errors. Messages
 * name the store, the operation and the path; they never carry the request
 * (whose headers hold the token) or a response body (which may hold values).
 */
import {
  AccessDeniedError,
  BackendUnavailableError,
  InvalidSpecError,
  SecretNotFoundError,
  ThrottledError,
} from "../../errors.ts";

interface VaultApiError {
  response: { statusCode: number; body: unknown };
}

export function vaultStatus(error: unknown): number | undefined {
  const response = (error as Partial<VaultApiError> | null)?.response;
  return typeof response?.statusCode === "number" ? response.statusCode : undefined;
}

/**
 * Vault's first error message on one line, shortened; Vault's messages name paths and reasons,
 * never values. Vault renders some errors as a Go multierror ("1 error occurred:\n\t* permission
 * denied\n\n", e.g. a policy denial): its items are joined with "; ", so the message stays one
 * line (the plugin prints one line per error for Argo CD).
 */
function vaultMessage(error: unknown): string {
  const body = (error as VaultApiError).response.body as { errors?: unknown } | undefined;
  const first = Array.isArray(body?.errors) ? body.errors[0] : undefined;
  if (typeof first !== "string") return "";
  const items = /^\s*\d+ errors? occurred:/.exec(first)
    ? first
        .replace(/^\s*\d+ errors? occurred:/, "")
        .split(/\n\s*\*\s*/)
        .map((item) => item.trim())
        .filter(Boolean)
    : [first];
  return items.join("; ").replace(/\s+/g, " ").trim().slice(0, 200);
}

const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "ECONNABORTED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EPIPE",
  "EHOSTUNREACH",
  "ERR_SOCKET_CONNECTION_TIMEOUT",
]);

/** Node's certificate verification failures (UNABLE_TO_VERIFY_LEAF_SIGNATURE, SELF_SIGNED_CERT_IN_CHAIN, ERR_TLS_CERT_ALTNAME_INVALID…). */
const TLS_CODE = /CERT|SIGNATURE|^ERR_TLS|^ERR_SSL/;

/**
 * @param where e.g. `SecretStore/team-a/vault: read secret/data/team-a/db`
 * @param secrets strings that must never appear in the message (credentials sent with the request)
 */
export function toTypedError(error: unknown, where: string, secrets: readonly string[] = []): Error {
  if (error instanceof Error && "reason" in error && "retryable" in error) return error;
  const redact = (text: string): string =>
    secrets.reduce((out, secret) => (secret.length >= 4 ? out.split(secret).join("[redacted]") : out), text);
  const status = vaultStatus(error);
  if (status !== undefined) {
    const detail = redact(vaultMessage(error));
    const suffix = detail === "" ? "" : `: ${detail}`;
    if (status === 403) return new AccessDeniedError(`${where}: permission denied (403)${suffix}`);
    if (status === 404) return new SecretNotFoundError(`${where}: not found (404)`);
    if (status === 429) return new ThrottledError(`${where}: throttled by Vault (429)${suffix}`);
    // A performance standby without the X-Vault-Index state asked for (readYourWrites): it catches up.
    if (status === 412)
      return new BackendUnavailableError(`${where}: Vault's standby has not caught up yet (412)${suffix}`);
    if (status === 503 && /sealed/i.test(detail))
      return new BackendUnavailableError(`${where}: Vault is sealed (503)`);
    if (status >= 500) return new BackendUnavailableError(`${where}: Vault answered ${status}${suffix}`);
    return new InvalidSpecError(`${where}: Vault rejected the request (${status})${suffix}`);
  }
  const code = (error as { code?: unknown } | null)?.code;
  // Vault's listener refused the handshake: it requires a client certificate (spec tls) it trusts.
  if (
    typeof code === "string" &&
    /^ERR_SSL_.*ALERT_(CERTIFICATE|UNKNOWN_CA|BAD_CERTIFICATE|HANDSHAKE)/.test(code)
  ) {
    return new BackendUnavailableError(
      `${where}: Vault refused the TLS client certificate (${code}); check the store's tls certificate`,
    );
  }
  if (typeof code === "string" && TLS_CODE.test(code)) {
    return new BackendUnavailableError(
      `${where}: Vault's TLS certificate is not trusted (${code}); set caBundle or caProvider`,
    );
  }
  if (typeof code === "string" && NETWORK_CODES.has(code)) {
    return new BackendUnavailableError(`${where}: Vault unreachable (${code})`);
  }
  const message = error instanceof Error ? redact(error.message).slice(0, 200) : String(error);
  return new BackendUnavailableError(`${where}: Vault request failed: ${message}`);
}
