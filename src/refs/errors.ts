import { RefsyncError } from "../errors.ts";

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
