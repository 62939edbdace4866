/** A Vault API error: the status code and the `{"errors":[...]}` body Vault sends. */
export class VaultHttpError extends Error {
  readonly status: number;
  readonly errors: string[];
  /** Extra top-level fields Vault sends on some errors (KV v2 soft-deleted reads carry `data`). */
  readonly body: Record<string, unknown> | undefined;
  constructor(status: number, errors: string[], body?: Record<string, unknown>) {
    super(errors.join("; ") || `status ${status}`);
    this.status = status;
    this.errors = errors;
    this.body = body;
  }
}

/** A missing, unknown or expired token: Vault's plain `permission denied`. */
export const permissionDenied = (): VaultHttpError => new VaultHttpError(403, ["permission denied"]);
/**
 * A token whose policies do not grant the path: Vault appends ErrPermissionDenied to a multierror
 * (request_handling.go), which renders as below. Clients (and refsync) must branch on the 403.
 */
export const policyDenied = (): VaultHttpError =>
  new VaultHttpError(403, ["1 error occurred:\n\t* permission denied\n\n"]);
export const notFound = (): VaultHttpError => new VaultHttpError(404, []);
export const badRequest = (message: string): VaultHttpError => new VaultHttpError(400, [message]);
