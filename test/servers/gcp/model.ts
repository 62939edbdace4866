// Secrets of the test Secret Manager: secrets under a parent (`projects/<p>` or
// `projects/<p>/locations/<l>`), labels, and numbered versions with a state, as
// the API documents them: `latest` is the most recently created version
// whatever its state, accessing a DISABLED or DESTROYED version fails with
// FAILED_PRECONDITION, and a destroyed version's payload is gone.
import { status as Status } from "@grpc/grpc-js";

export type VersionState = "ENABLED" | "DISABLED" | "DESTROYED";

export interface Version {
  number: number;
  state: VersionState;
  payload?: Buffer;
  createTime: Date;
}

export interface Secret {
  /** `projects/<p>[/locations/<l>]/secrets/<id>` */
  name: string;
  id: string;
  parent: string;
  labels: Record<string, string>;
  /** Annotations (no filter reads them): what ESO's metadataPolicy Fetch returns besides labels. */
  annotations?: Record<string, string>;
  versions: Version[];
  createTime: Date;
}

/** An error with a gRPC status code and Google's wording. */
/** A google.rpc error detail: its message type (`google.rpc.ErrorInfo`) and fields. */
export interface ErrorDetail {
  type: "google.rpc.ErrorInfo" | "google.rpc.RetryInfo" | "google.rpc.ResourceInfo";
  value: Record<string, unknown>;
}

export class RpcError extends Error {
  readonly code: Status;
  readonly details: ErrorDetail[];
  constructor(code: Status, message: string, details: ErrorDetail[] = []) {
    super(message);
    this.code = code;
    this.details = details;
  }
}

const SECRET_ID = /^[A-Za-z0-9_-]{1,255}$/;

/** A change Secret Manager notifies a secret's topics of. */
export interface SecretEvent {
  /** SECRET_CREATE, SECRET_VERSION_ADD, SECRET_VERSION_ENABLE, SECRET_VERSION_DISABLE, SECRET_VERSION_DESTROY. */
  type: string;
  secret: Secret;
  version?: Version;
}

export class SecretsModel {
  readonly #secrets = new Map<string, Secret>();
  /** Told about every change (the server's Pub/Sub notifications). */
  onChange: (event: SecretEvent) => void = () => undefined;

  create(parent: string, id: string, labels: Record<string, string> = {}): Secret {
    if (!SECRET_ID.test(id)) throw new RpcError(Status.INVALID_ARGUMENT, `Invalid secret ID: ${id}`);
    const name = `${parent}/secrets/${id}`;
    if (this.#secrets.has(name))
      throw new RpcError(Status.ALREADY_EXISTS, `Secret [${name}] already exists.`);
    const secret: Secret = { name, id, parent, labels: { ...labels }, versions: [], createTime: new Date() };
    this.#secrets.set(name, secret);
    this.onChange({ type: "SECRET_CREATE", secret });
    return secret;
  }

  find(name: string): Secret | undefined {
    return this.#secrets.get(name);
  }

  get(name: string): Secret {
    const secret = this.#secrets.get(name);
    if (!secret) throw new RpcError(Status.NOT_FOUND, `Secret [${name}] not found.`);
    return secret;
  }

  add(name: string, payload: Buffer): Version {
    const secret = this.get(name);
    const version: Version = {
      number: (secret.versions.at(-1)?.number ?? 0) + 1,
      state: "ENABLED",
      payload,
      createTime: new Date(),
    };
    secret.versions.push(version);
    this.onChange({ type: "SECRET_VERSION_ADD", secret, version });
    return version;
  }

  /** The version a `…/versions/<v>` name points at (`latest`: the newest, whatever its state). */
  version(versionName: string): { secret: Secret; version: Version } {
    const match = /^(.+\/secrets\/[^/]+)\/versions\/([^/]+)$/.exec(versionName);
    if (!match) throw new RpcError(Status.INVALID_ARGUMENT, `Invalid resource field value in the request.`);
    const [, secretName, ref] = match as unknown as [string, string, string];
    const secret = this.#secrets.get(secretName);
    const version =
      ref === "latest" ? secret?.versions.at(-1) : secret?.versions.find((v) => String(v.number) === ref);
    if (!secret || !version) {
      throw new RpcError(
        Status.NOT_FOUND,
        ref === "latest"
          ? `Secret [${secretName}] not found or has no versions.`
          : `Secret Version [${versionName}] not found.`,
      );
    }
    return { secret, version };
  }

  setState(versionName: string, state: VersionState): void {
    const { secret, version } = this.version(versionName);
    version.state = state;
    if (state === "DESTROYED") delete version.payload;
    const type = {
      ENABLED: "SECRET_VERSION_ENABLE",
      DISABLED: "SECRET_VERSION_DISABLE",
      DESTROYED: "SECRET_VERSION_DESTROY",
    }[state];
    this.onChange({ type, secret, version });
  }

  /**
   * The versions of a secret matching a ListSecretVersions filter, newest first as the API
   * lists them; the filter is terms `state:<STATE>` or `state=<STATE>` (what refsync sends).
   */
  listVersions(name: string, filter: string): Version[] {
    const secret = this.get(name);
    const states = filter
      .trim()
      .split(/\s+(?:AND\s+)?/)
      .filter(Boolean)
      .map((term) => {
        const m = /^state[:=]"?(ENABLED|DISABLED|DESTROYED)"?$/.exec(term);
        if (!m) throw new RpcError(Status.INVALID_ARGUMENT, `Invalid filter: ${filter}`);
        return m[1];
      });
    return secret.versions.filter((v) => states.every((state) => v.state === state)).reverse();
  }

  /** Secrets of a parent, by name, matching a ListSecrets filter. */
  list(parent: string, filter: string): Secret[] {
    const match = compileFilter(filter);
    return [...this.#secrets.values()]
      .filter((s) => s.parent === parent && match(s))
      .sort((a, b) => a.name.localeCompare(b.name));
  }
}

/**
 * The subset of the list-filter syntax refsync and its tests use: terms joined
 * by AND (or white space), each `labels.<key>=<value>`, `labels.<key>:<value>`,
 * `labels.<key>:*` or `name:<substring>`; values bare or double-quoted.
 */
export function compileFilter(filter: string): (secret: Secret) => boolean {
  const terms: ((s: Secret) => boolean)[] = [];
  const re = /\s*(?:AND\s+)?([A-Za-z_][\w.-]*)\s*([=:])\s*("(?:[^"\\]|\\.)*"|[^\s"]+)/gy;
  let pos = 0;
  const source = filter.trim();
  while (pos < source.length) {
    re.lastIndex = pos;
    const m = re.exec(source);
    if (!m) throw new RpcError(Status.INVALID_ARGUMENT, `Invalid filter: ${filter}`);
    pos = re.lastIndex;
    const [, field, op, raw] = m as unknown as [string, string, string, string];
    const value = raw.startsWith('"') ? raw.slice(1, -1).replace(/\\(.)/g, "$1") : raw;
    if (field === "name" && op === ":") terms.push((s) => s.id.includes(value));
    else if (field.startsWith("labels.")) {
      const key = field.slice("labels.".length);
      terms.push((s) =>
        op === ":" && value === "*" ? Object.hasOwn(s.labels, key) : s.labels[key] === value,
      );
    } else throw new RpcError(Status.INVALID_ARGUMENT, `Invalid filter: unknown field ${field}`);
  }
  return (s) => terms.every((t) => t(s));
}
