// Secrets Manager operations over the awsJson1_1 protocol: JSON in, JSON out,
// blobs as base64 and timestamps as epoch seconds.
import { AwsError, invalidParameter } from "./errors.ts";
import type { Action, Iam, Principal } from "./iam.ts";
import {
  matchesFilters,
  type ListFilter,
  type SecretContent,
  type SecretsModel,
  type StoredSecret,
  type SecretVersion,
  type Tag,
} from "./secrets.ts";

type Input = Record<string, unknown>;
type Output = Record<string, unknown>;

export interface SecretsManagerContext {
  model: SecretsModel;
  iam: Iam;
  principal: Principal;
  /** Called with every secret name an operation touched, for the request log. */
  touched(name: string): void;
}

type Operation = (input: Input, ctx: SecretsManagerContext) => Output;

export const operations: Record<string, Operation> = {
  GetSecretValue(input, ctx) {
    const secretId = secretIdOf(input);
    const secret = authorize(ctx, "read", "GetSecretValue", secretId);
    const version = ctx.model.version(
      secret,
      optionalString(input, "VersionId"),
      optionalString(input, "VersionStage"),
    );
    return secretValueEntry(secret, version);
  },

  BatchGetSecretValue(input, ctx) {
    if (!ctx.iam.allowsBatchGet(ctx.principal)) throw accessDenied(ctx, "BatchGetSecretValue");
    const ids = input["SecretIdList"];
    const filters = input["Filters"];
    if ((ids === undefined) === (filters === undefined)) {
      throw invalidParameter("Either 'SecretIdList' or 'Filters' must be provided, but not both.");
    }
    if (ids !== undefined) {
      if (!Array.isArray(ids) || ids.length === 0 || ids.length > 20) {
        throw invalidParameter("SecretIdList must contain between 1 and 20 secret ids.");
      }
      const values: Output[] = [];
      const errors: Output[] = [];
      for (const id of ids) {
        const secretId = String(id);
        try {
          validateSecretId(secretId);
          const secret = authorize(ctx, "read", "GetSecretValue", secretId);
          values.push(secretValueEntry(secret, ctx.model.version(secret)));
        } catch (error) {
          if (!(error instanceof AwsError)) throw error;
          errors.push({ SecretId: secretId, ErrorCode: error.type, Message: error.message });
        }
      }
      return { SecretValues: values, Errors: errors };
    }
    // With Filters the call lists secrets first: it needs secretsmanager:ListSecrets as well.
    if (!ctx.iam.allowsList(ctx.principal)) throw accessDenied(ctx, "ListSecrets");
    const page = paginate(
      ctx.model.all().filter((s) => matchesFilters(s, parseFilters(filters))),
      input,
      20,
    );
    const values: Output[] = [];
    const errors: Output[] = [];
    for (const secret of page.items) {
      if (ctx.iam.allows(ctx.principal, "read", secret.name)) {
        ctx.touched(secret.name);
        values.push(secretValueEntry(secret, ctx.model.version(secret)));
      } else {
        errors.push({
          SecretId: secret.arn,
          ErrorCode: "AccessDeniedException",
          Message: denial(ctx, "GetSecretValue", secret.name),
        });
      }
    }
    return { SecretValues: values, Errors: errors, ...page.next };
  },

  DescribeSecret(input, ctx) {
    const secret = authorize(ctx, "read", "DescribeSecret", secretIdOf(input));
    return { ...listEntry(secret), VersionIdsToStages: versionsToStages(secret) };
  },

  ListSecretVersionIds(input, ctx) {
    const secret = authorize(ctx, "read", "ListSecretVersionIds", secretIdOf(input));
    // A version without a staging label is deprecated: listed only on request.
    const versions = [...secret.versions.values()].filter(
      (v) => input["IncludeDeprecated"] === true || v.stages.size > 0,
    );
    const page = paginate(versions, input, 100);
    return {
      Versions: page.items.map((v) => ({
        VersionId: v.id,
        ...(v.stages.size > 0 ? { VersionStages: [...v.stages] } : {}),
        CreatedDate: epoch(v.created),
      })),
      ARN: secret.arn,
      Name: secret.name,
      ...page.next,
    };
  },

  /** Lists every secret of the account (names, tags, no values): needs secretsmanager:ListSecrets, granted on `*` only. */
  ListSecrets(input, ctx) {
    if (!ctx.iam.allowsList(ctx.principal)) throw accessDenied(ctx, "ListSecrets");
    const filters = input["Filters"] === undefined ? [] : parseFilters(input["Filters"]);
    const sorted = ctx.model.all().filter((s) => matchesFilters(s, filters));
    if (input["SortOrder"] === "desc") sorted.reverse();
    const page = paginate(sorted, input, 100);
    return {
      SecretList: page.items.map((s) => ({ ...listEntry(s), SecretVersionsToStages: versionsToStages(s) })),
      ...page.next,
    };
  },

  CreateSecret(input, ctx) {
    const name = requiredString(input, "Name");
    validateName(name);
    if (!ctx.iam.allows(ctx.principal, "write", name)) throw accessDenied(ctx, "CreateSecret", name);
    ctx.touched(name);
    const { secret, version } = ctx.model.create(name, content(input), {
      versionId: optionalString(input, "ClientRequestToken"),
      description: optionalString(input, "Description"),
      tags: input["Tags"] as Tag[] | undefined,
    });
    return { ARN: secret.arn, Name: secret.name, ...(version ? { VersionId: version.id } : {}) };
  },

  PutSecretValue(input, ctx) {
    const secret = authorize(ctx, "write", "PutSecretValue", secretIdOf(input));
    const version = ctx.model.put(secret.name, content(input), {
      versionId: optionalString(input, "ClientRequestToken"),
      stages: input["VersionStages"] as string[] | undefined,
    });
    return { ARN: secret.arn, Name: secret.name, VersionId: version.id, VersionStages: [...version.stages] };
  },
};

/** Checks the caller's policy before existence, as IAM does, so a denied caller learns nothing. */
function authorize(
  ctx: SecretsManagerContext,
  action: Action,
  operation: string,
  secretId: string,
): StoredSecret {
  const name = ctx.model.nameOf(secretId);
  if (!ctx.iam.allows(ctx.principal, action, name)) throw accessDenied(ctx, operation, name);
  ctx.touched(name);
  return ctx.model.get(secretId);
}

/** IAM's wording; an action granted only on `*` (ListSecrets, BatchGetSecretValue) names no resource. */
function denial(ctx: SecretsManagerContext, operation: string, name?: string): string {
  const resource = name === undefined ? "" : ` on resource: ${name}`;
  return `User: ${ctx.principal.arn} is not authorized to perform: secretsmanager:${operation}${resource} because no identity-based policy allows the secretsmanager:${operation} action`;
}

function accessDenied(ctx: SecretsManagerContext, operation: string, name?: string): AwsError {
  return new AwsError("AccessDeniedException", denial(ctx, operation, name));
}

/**
 * Secret names (CreateSecret `Name`, NameType in the API model): 1 to 512 ASCII letters, digits
 * and `/_+=.@-`. Anything else is refused with ValidationException, as AWS does.
 */
const NAME = /^[A-Za-z0-9/_+=.@-]{1,512}$/;
/** A SecretId given as a name may also hold `!`: secrets managed by other services are named `rds!...`. */
const SECRET_ID_NAME = /^[A-Za-z0-9/_+=.@!-]+$/;
/** SecretIdType: at most 2048 characters. */
const SECRET_ID_MAX = 2048;

function validateName(name: string): void {
  if (!NAME.test(name)) {
    throw new AwsError(
      "ValidationException",
      "Invalid name. A secret name is 1 to 512 characters: ASCII letters, digits and /_+=.@-",
    );
  }
}

function validateSecretId(secretId: string): void {
  if (secretId.length > SECRET_ID_MAX) {
    throw new AwsError(
      "ValidationException",
      `1 validation error detected: Value at 'secretId' failed to satisfy constraint: Member must have length less than or equal to ${SECRET_ID_MAX}`,
    );
  }
  if (!secretId.startsWith("arn:") && !SECRET_ID_NAME.test(secretId)) {
    throw new AwsError(
      "ValidationException",
      "Invalid name. A secret name holds only ASCII letters, digits and /_+=.@!-",
    );
  }
}

function secretIdOf(input: Input): string {
  const secretId = requiredString(input, "SecretId");
  validateSecretId(secretId);
  return secretId;
}

function secretValueEntry(secret: StoredSecret, version: SecretVersion): Output {
  return {
    ARN: secret.arn,
    Name: secret.name,
    VersionId: version.id,
    ...(version.string !== undefined ? { SecretString: version.string } : {}),
    ...(version.binary !== undefined ? { SecretBinary: Buffer.from(version.binary).toString("base64") } : {}),
    VersionStages: [...version.stages],
    CreatedDate: epoch(version.created),
  };
}

function listEntry(secret: StoredSecret): Output {
  return {
    ARN: secret.arn,
    Name: secret.name,
    ...(secret.description !== undefined ? { Description: secret.description } : {}),
    Tags: secret.tags,
    CreatedDate: epoch(secret.created),
    LastChangedDate: epoch(secret.lastChanged),
  };
}

function versionsToStages(secret: StoredSecret): Record<string, string[]> {
  const map: Record<string, string[]> = {};
  for (const version of secret.versions.values())
    if (version.stages.size > 0) map[version.id] = [...version.stages];
  return map;
}

function paginate<T>(
  items: T[],
  input: Input,
  maxPage: number,
): { items: T[]; next: { NextToken?: string } } {
  const maxResults = input["MaxResults"] === undefined ? maxPage : Number(input["MaxResults"]);
  if (!Number.isInteger(maxResults) || maxResults < 1 || maxResults > maxPage) {
    throw invalidParameter(`MaxResults must be between 1 and ${maxPage}.`);
  }
  let start = 0;
  const token = optionalString(input, "NextToken");
  if (token !== undefined) {
    start = Number(
      Buffer.from(token, "base64url")
        .toString("utf8")
        .replace(/^offset:/, ""),
    );
    if (!Number.isInteger(start) || start < 0 || start > items.length) {
      throw new AwsError("InvalidNextTokenException", "The NextToken value is invalid.");
    }
  }
  const end = start + maxResults;
  const next = end < items.length ? { NextToken: Buffer.from(`offset:${end}`).toString("base64url") } : {};
  return { items: items.slice(start, end), next };
}

function parseFilters(value: unknown): ListFilter[] {
  if (!Array.isArray(value)) throw invalidParameter("Filters must be a list.");
  return value.map((f: { Key?: unknown; Values?: unknown }) => {
    if (typeof f.Key !== "string" || !Array.isArray(f.Values))
      throw invalidParameter("Each filter needs Key and Values.");
    return { Key: f.Key, Values: f.Values.map(String) };
  });
}

function content(input: Input): SecretContent {
  const string = optionalString(input, "SecretString");
  const binary = optionalString(input, "SecretBinary");
  return {
    ...(string !== undefined ? { string } : {}),
    ...(binary !== undefined ? { binary: new Uint8Array(Buffer.from(binary, "base64")) } : {}),
  };
}

function requiredString(input: Input, field: string): string {
  const value = input[field];
  if (typeof value !== "string" || value === "")
    throw invalidParameter(`Missing required parameter ${field}.`);
  return value;
}

function optionalString(input: Input, field: string): string | undefined {
  const value = input[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string") throw invalidParameter(`${field} must be a string.`);
  return value;
}

const epoch = (date: Date): number => date.getTime() / 1000;
