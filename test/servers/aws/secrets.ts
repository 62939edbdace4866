// The Secrets Manager data model of the test server: secrets with versions,
// staging labels (AWSCURRENT / AWSPREVIOUS / custom) and tags. Pure data, no HTTP.
import { randomBytes, randomUUID } from "node:crypto";
import { isDeepStrictEqual } from "node:util";
import { AwsError, invalidParameter, notFound } from "./errors.ts";

export const CURRENT = "AWSCURRENT";
export const PREVIOUS = "AWSPREVIOUS";

export interface Tag {
  Key: string;
  Value: string;
}

export interface SecretVersion {
  id: string;
  string?: string;
  binary?: Uint8Array;
  created: Date;
  stages: Set<string>;
}

export interface StoredSecret {
  name: string;
  arn: string;
  description?: string;
  tags: Tag[];
  created: Date;
  lastChanged: Date;
  versions: Map<string, SecretVersion>;
}

export interface SecretContent {
  string?: string;
  binary?: Uint8Array;
}

export interface ListFilter {
  Key: string;
  Values: string[];
}

/** The `-XXXXXX` Secrets Manager appends to a secret's name in its ARN. */
export const ARN_SUFFIX = /-[A-Za-z0-9]{6}$/;

export class SecretsModel {
  readonly #secrets = new Map<string, StoredSecret>();
  readonly #arnPrefix: string;

  constructor(region: string, account: string) {
    this.#arnPrefix = `arn:aws:secretsmanager:${region}:${account}:secret:`;
  }

  /**
   * Finds a secret by SecretId as AWS resolves it: a name, a complete ARN, or
   * a partial ARN (one without the `-XXXXXX` suffix Secrets Manager adds to
   * the name). An ARN whose name part ends in `-` and six letters or digits
   * is taken as a complete ARN, as AWS documents ("those characters cause
   * Secrets Manager to assume that you're specifying a complete ARN"): for a
   * secret whose own name ends that way, a partial ARN finds nothing.
   */
  find(secretId: string): StoredSecret | undefined {
    if (!secretId.startsWith("arn:")) return this.#secrets.get(secretId);
    if (!secretId.startsWith(this.#arnPrefix)) return undefined;
    for (const secret of this.#secrets.values()) if (secret.arn === secretId) return secret;
    const name = secretId.slice(this.#arnPrefix.length);
    return ARN_SUFFIX.test(name) ? undefined : this.#secrets.get(name);
  }

  get(secretId: string): StoredSecret {
    const secret = this.find(secretId);
    if (!secret) throw notFound();
    return secret;
  }

  /** The name a SecretId refers to, for policy checks (an unknown ARN keeps its name part). */
  nameOf(secretId: string): string {
    const secret = this.find(secretId);
    if (secret) return secret.name;
    if (secretId.startsWith(this.#arnPrefix))
      return secretId.slice(this.#arnPrefix.length).replace(ARN_SUFFIX, "");
    return secretId;
  }

  all(): StoredSecret[] {
    return [...this.#secrets.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  create(
    name: string,
    content: SecretContent,
    options: { versionId?: string; tags?: Tag[]; description?: string } = {},
  ): { secret: StoredSecret; version?: SecretVersion } {
    if (this.#secrets.has(name)) {
      throw new AwsError(
        "ResourceExistsException",
        `The operation failed because the secret ${name} already exists.`,
      );
    }
    const now = new Date();
    const suffix = randomBytes(6).toString("base64url").replace(/[-_]/g, "x").slice(0, 6);
    const secret: StoredSecret = {
      name,
      arn: `${this.#arnPrefix}${name}-${suffix}`,
      description: options.description,
      tags: options.tags ?? [],
      created: now,
      lastChanged: now,
      versions: new Map(),
    };
    this.#secrets.set(name, secret);
    if (content.string === undefined && content.binary === undefined) return { secret };
    const version = this.put(name, content, { versionId: options.versionId });
    return { secret, version };
  }

  /**
   * Adds a version (PutSecretValue). The new version takes the given stages
   * (default AWSCURRENT); when AWSCURRENT moves, the old current becomes AWSPREVIOUS.
   * Repeating a request with the same version id and content is a no-op.
   */
  put(
    secretId: string,
    content: SecretContent,
    options: { versionId?: string; stages?: string[] } = {},
  ): SecretVersion {
    const secret = this.get(secretId);
    if ((content.string === undefined) === (content.binary === undefined)) {
      throw invalidParameter("You must provide either SecretString or SecretBinary, but not both.");
    }
    const versionId = options.versionId ?? randomUUID();
    const existing = secret.versions.get(versionId);
    if (existing) {
      if (existing.string === content.string && isDeepStrictEqual(existing.binary, content.binary))
        return existing;
      throw new AwsError(
        "ResourceExistsException",
        "You can't modify an existing version, you can only create a new version.",
      );
    }
    const stages = options.stages ?? [CURRENT];
    const version: SecretVersion = { id: versionId, ...content, created: new Date(), stages: new Set() };
    secret.versions.set(versionId, version);
    for (const stage of stages) this.moveStage(secret, stage, version);
    secret.lastChanged = version.created;
    return version;
  }

  /** Puts `stage` on `target`, removing it from whichever version held it. */
  moveStage(secret: StoredSecret, stage: string, target: SecretVersion): void {
    const holder = [...secret.versions.values()].find((v) => v.stages.has(stage));
    if (holder === target) return;
    holder?.stages.delete(stage);
    target.stages.add(stage);
    if (stage === CURRENT && holder) this.moveStage(secret, PREVIOUS, holder);
  }

  /** The version GetSecretValue returns: by id, by stage, or AWSCURRENT. */
  version(secret: StoredSecret, versionId?: string, stage?: string): SecretVersion {
    if (versionId !== undefined) {
      const version = secret.versions.get(versionId);
      if (!version || (stage !== undefined && !version.stages.has(stage))) {
        throw new AwsError(
          "ResourceNotFoundException",
          `Secrets Manager can't find the specified secret value for VersionId: ${versionId}`,
        );
      }
      return version;
    }
    const wanted = stage ?? CURRENT;
    const version = [...secret.versions.values()].find((v) => v.stages.has(wanted));
    if (!version) {
      throw new AwsError(
        "ResourceNotFoundException",
        `Secrets Manager can't find the specified secret value for staging label: ${wanted}`,
      );
    }
    return version;
  }

  setTags(secretId: string, tags: Tag[]): void {
    this.get(secretId).tags = tags;
  }

  delete(secretId: string): void {
    this.#secrets.delete(this.get(secretId).name);
  }
}

/**
 * ListSecrets filters: every filter must match (AND), any value of a filter
 * may match (OR); matching is by prefix, case-sensitive except `description`
 * and `all`; a value starting with `!` negates.
 */
export function matchesFilters(secret: StoredSecret, filters: ListFilter[]): boolean {
  return filters.every((filter) => {
    const positives = filter.Values.filter((v) => !v.startsWith("!"));
    const negatives = filter.Values.filter((v) => v.startsWith("!")).map((v) => v.slice(1));
    const hit = (value: string) =>
      attributeValues(secret, filter.Key).some((a) => prefixMatch(filter.Key, a, value));
    if (negatives.some(hit)) return false;
    return positives.length === 0 || positives.some(hit);
  });
}

function attributeValues(secret: StoredSecret, key: string): string[] {
  switch (key) {
    case "name":
      return [secret.name];
    case "description":
      return secret.description === undefined ? [] : [secret.description];
    case "tag-key":
      return secret.tags.map((t) => t.Key);
    case "tag-value":
      return secret.tags.map((t) => t.Value);
    case "all":
      return [secret.name, secret.description ?? "", ...secret.tags.flatMap((t) => [t.Key, t.Value])];
    case "primary-region":
    case "owning-service":
      return [];
    default:
      throw invalidParameter(`Invalid filter key: ${key}`);
  }
}

function prefixMatch(key: string, attribute: string, value: string): boolean {
  if (key === "description" || key === "all") return attribute.toLowerCase().startsWith(value.toLowerCase());
  return attribute.startsWith(value);
}
