/**
 * Every typed error of refsync, in one module at the bottom of the import
 * graph, so any layer can throw and recognise them without importing the
 * layer that first needed them.
 *
 * The RefsyncError family carries the condition reason the controller
 * reports, and a message that names the store and path but never a value or
 * a credential. The other classes are each one module's own failure (a
 * usage mistake, a bad plugin configuration, an API server answer…); their
 * names say which.
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

/** --audit-required and the audit sink cannot write: backend calls wait until it recovers. */
export class AuditSinkError extends RefsyncError {
  override readonly name = "AuditSinkError";
  readonly reason = "BackendUnavailable";
  readonly retryable = true;
}

/** A store spec or ExternalSecret field that no retry will fix. */
export class InvalidSpecError extends RefsyncError {
  override readonly name = "InvalidSpecError";
  readonly reason = "InvalidSpec";
  readonly retryable = false;
}

/** The store an ExternalSecret names does not exist, or is not usable yet. */
export class StoreNotReadyError extends RefsyncError {
  override readonly name = "StoreNotReadyError";
  readonly reason = "StoreNotReady";
  readonly retryable = true;
}

/** Where a reference was found, so an error can say so. */
export interface RefLocation {
  file?: string;
  /** 0-based index of the document in its file or stream. */
  document?: number;
  /** `Kind/name` of the object, when known. */
  object?: string;
  /** YAML path such as `stringData.password` or `spec.template.spec.containers[0].env[1].value`. */
  path?: string;
  /** 0-based character offset inside the string value. */
  offset?: number;
}

/**
 * `file: document N: Kind/name: path: offset N`, the parts that are known.
 * Here rather than in refs/ because InvalidReferenceError's message is made
 * of it; refs/ re-exports it for the renderers.
 */
export function formatLocation(loc: RefLocation): string {
  const parts: string[] = [];
  if (loc.file !== undefined) parts.push(loc.file);
  if (loc.document !== undefined) parts.push(`document ${loc.document}`);
  if (loc.object !== undefined) parts.push(loc.object);
  if (loc.path !== undefined) parts.push(loc.path);
  if (loc.offset !== undefined) parts.push(`offset ${loc.offset}`);
  return parts.join(": ");
}

/** A malformed reference. The message says where and what; it never quotes a secret value. */
export class InvalidReferenceError extends RefsyncError {
  override readonly name = "InvalidReferenceError";
  readonly reason = "InvalidReference";
  readonly retryable = false;
  readonly location: RefLocation;
  readonly problem: string;
  constructor(problem: string, location: RefLocation = {}, options?: ErrorOptions) {
    const where = formatLocation(location);
    super(where ? `${where}: ${problem}` : problem, options);
    this.location = location;
    this.problem = problem;
  }
}

/** An error response of the Kubernetes API server; `reason` is the Status reason (Conflict, NotFound, Expired…). */
export class KubeApiError extends Error {
  override readonly name = "KubeApiError";
  readonly status: number;
  readonly reason: string;
  /** Seconds of the response's Retry-After header (429), when it had one. */
  readonly retryAfterSeconds: number | undefined;
  constructor(status: number, reason: string, message: string, retryAfterSeconds?: number) {
    super(message);
    this.status = status;
    this.reason = reason;
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** What http.request's `signal` option fails a request with: the reason is the cause. */
export class AbortError extends Error {
  override readonly name = "AbortError";
  readonly code = "ABORT_ERR";
  constructor(cause: unknown) {
    super("The operation was aborted", { cause });
  }
}

/** A mistake in how a command was called. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

/** The plugin's configuration file is invalid. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

/** A backend write `refsync migrate` made. */
export interface WriteRecord {
  key: string;
  outcome: "created" | "updated" | "unchanged";
}

export class MigrateError extends Error {
  override readonly name = "MigrateError";
  /** Backend writes that succeeded before the failure. */
  readonly writes: WriteRecord[];
  constructor(message: string, writes: WriteRecord[] = [], options?: ErrorOptions) {
    super(message, options);
    this.writes = writes;
  }
}

/** An AVP modifier (`| base64encode`, `| jsonPath …`) that cannot apply to its value. */
export class ModifierError extends Error {
  override readonly name = "ModifierError";
}

/** A kubectl-style JSONPath expression that does not parse or evaluate. */
export class JsonPathError extends Error {
  override readonly name = "JsonPathError";
}

/** A template helper called with what it cannot take. */
export class HelperError extends Error {
  override readonly name = "HelperError";
}

/** A key the read secret does not hold (or holds as null), in inline rendering. */
export class MissingKeyError extends SecretNotFoundError {}

/** The version a reference names exists but cannot be read: disabled or destroyed (Google Secret Manager). */
export class SecretVersionStateError extends SecretNotFoundError {
  readonly state: "DISABLED" | "DESTROYED";
  constructor(message: string, state: "DISABLED" | "DESTROYED", options?: ErrorOptions) {
    super(message, options);
    this.state = state;
  }
}

/** A value that cannot go where its reference is; the message says why, never the value. */
export class PlacementError extends Error {
  override readonly name = "PlacementError";
}

/** The target Secret exists and belongs to someone else. */
export class TargetConflictError extends Error {
  override readonly name = "TargetConflictError";
}

/** A dashboard API query parameter out of range. */
export class QueryError extends Error {
  override readonly name = "QueryError";
}
