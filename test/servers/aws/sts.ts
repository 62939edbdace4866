// STS over the query protocol: form-encoded `Action=...` in, XML out.
// AssumeRoleWithWebIdentity checks the token through a TokenReview callback
// (the real Kubernetes API in tests) and the role's trust in service accounts.
import { randomUUID } from "node:crypto";
import { AwsError } from "./errors.ts";
import type { Credentials, Iam, Principal } from "./iam.ts";

export const STS_AUDIENCE = "sts.amazonaws.com";
const XMLNS = "https://sts.amazonaws.com/doc/2011-06-15/";

/** Verifies a web-identity token; resolves the `system:serviceaccount:<ns>:<name>` subject, or undefined when invalid. */
export type TokenReviewer = (token: string, audience: string) => Promise<string | undefined>;

export interface StsContext {
  iam: Iam;
  reviewToken?: TokenReviewer;
  /** Lifetime of issued credentials, unless the request asks for less. */
  sessionSeconds: number;
  /** The signed caller; undefined for AssumeRoleWithWebIdentity (which is unsigned). */
  caller?: Principal;
}

export const UNSIGNED_ACTIONS = new Set(["AssumeRoleWithWebIdentity"]);

type Operation = (params: URLSearchParams, ctx: StsContext) => Promise<string>;

export const operations: Record<string, Operation> = {
  async AssumeRoleWithWebIdentity(params, ctx) {
    const roleArn = roleArnParam(params);
    const sessionName = required(params, "RoleSessionName");
    const token = required(params, "WebIdentityToken");
    const subject = ctx.reviewToken ? await ctx.reviewToken(token, STS_AUDIENCE) : undefined;
    if (!subject) {
      throw new AwsError(
        "InvalidIdentityToken",
        "The web identity token that was passed could not be validated by AWS.",
      );
    }
    const serviceAccount = /^system:serviceaccount:([^:]+):([^:]+)$/.exec(subject);
    const role = ctx.iam.role(roleArn);
    const trusted =
      serviceAccount !== null &&
      (role?.serviceAccounts ?? []).some((entry) => {
        const [ns, name] = entry.split("/");
        return ns === serviceAccount[1] && (name === "*" || name === serviceAccount[2]);
      });
    if (!trusted)
      throw new AwsError("AccessDenied", "Not authorized to perform sts:AssumeRoleWithWebIdentity", 403);
    const { credentials, principal } = ctx.iam.issueSession(roleArn, sessionName, duration(params, ctx));
    return respond(
      "AssumeRoleWithWebIdentity",
      `<SubjectFromWebIdentityToken>${xml(subject)}</SubjectFromWebIdentityToken>` +
        `<Audience>${STS_AUDIENCE}</Audience>` +
        assumedRoleUser(principal) +
        credentialsXml(credentials) +
        `<Provider>kubernetes</Provider>`,
    );
  },

  async AssumeRole(params, ctx) {
    const roleArn = roleArnParam(params);
    const sessionName = required(params, "RoleSessionName");
    const caller = ctx.caller;
    const role = ctx.iam.role(roleArn);
    const denied = new AwsError(
      "AccessDenied",
      `User: ${caller?.arn ?? "anonymous"} is not authorized to perform: sts:AssumeRole on resource: ${roleArn}`,
      403,
    );
    if (!caller || !role || !(role.principals ?? []).some((p) => p === caller.arn || p === caller.policyArn))
      throw denied;
    if (role.externalId !== undefined && params.get("ExternalId") !== role.externalId) throw denied;
    const tags = sessionTags(params, caller, roleArn, role.tagSession === true);
    // Role chaining (a role session assuming a role) caps the session at one hour.
    const chained = caller.arn.includes(":assumed-role/");
    const asked = params.get("DurationSeconds");
    if (chained && asked !== null && Number(asked) > 3600) {
      throw new AwsError(
        "ValidationError",
        "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.",
      );
    }
    const { credentials, principal } = ctx.iam.issueSession(
      roleArn,
      sessionName,
      duration(params, ctx),
      tags,
    );
    return respond(
      "AssumeRole",
      assumedRoleUser(principal) +
        credentialsXml(credentials) +
        (tags.tags ? `<PackedPolicySize>${packedPercent(tags.tags)}</PackedPolicySize>` : ""),
    );
  },

  async GetCallerIdentity(_params, ctx) {
    const caller = ctx.caller;
    if (!caller)
      throw new AwsError("MissingAuthenticationToken", "Request is missing Authentication Token", 403);
    return respond(
      "GetCallerIdentity",
      `<Arn>${xml(caller.arn)}</Arn><UserId>${xml(caller.userId)}</UserId><Account>${ctx.iam.account}</Account>`,
    );
  },
};

const TAG_CHARS = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;

/** A list parameter of the query protocol: `Name.member.1`, `Name.member.2`, … */
function members(params: URLSearchParams, name: string): string[] {
  const values: string[] = [];
  for (let i = 1; params.has(`${name}.member.${i}`); i++)
    values.push(params.get(`${name}.member.${i}`) ?? "");
  return values;
}

function invalid(field: string, value: string, constraint: string): AwsError {
  return new AwsError(
    "ValidationError",
    `1 validation error detected: Value '${value}' at '${field}' failed to satisfy constraint: ${constraint}`,
  );
}

/**
 * Tags and TransitiveTagKeys of AssumeRole, checked as STS documents them: at most 50 of each,
 * keys of 1–128 and values of 0–256 characters from its set, keys unique without regard to case,
 * the role's trust allowing sts:TagSession. A caller that is itself a role session passes its
 * transitive tags on, and a tag may not reuse one of their keys.
 */
function sessionTags(
  params: URLSearchParams,
  caller: Principal,
  roleArn: string,
  tagSession: boolean,
): { tags?: Record<string, string>; transitiveTagKeys?: string[] } {
  const passed: [string, string][] = [];
  for (let i = 1; params.has(`Tags.member.${i}.Key`); i++) {
    passed.push([params.get(`Tags.member.${i}.Key`) ?? "", params.get(`Tags.member.${i}.Value`) ?? ""]);
  }
  const transitive = members(params, "TransitiveTagKeys");
  const atMost50 = "Member must have length less than or equal to 50";
  if (passed.length > 50) throw invalid("tags", `${passed.length} tags`, atMost50);
  if (transitive.length > 50) throw invalid("transitiveTagKeys", `${transitive.length} keys`, atMost50);
  const keyOk = (key: string): boolean => key.length >= 1 && key.length <= 128 && TAG_CHARS.test(key);
  for (const [i, [key, value]] of passed.entries()) {
    if (!keyOk(key)) throw invalid(`tags.${i + 1}.member.key`, key, "Member must be 1 to 128 tag characters");
    if (value.length > 256 || !TAG_CHARS.test(value))
      throw invalid(`tags.${i + 1}.member.value`, value, "Member must be 0 to 256 tag characters");
  }
  for (const [i, key] of transitive.entries()) {
    if (!keyOk(key))
      throw invalid(`transitiveTagKeys.${i + 1}.member`, key, "Member must be 1 to 128 tag characters");
  }
  const lower = passed.map(([key]) => key.toLowerCase());
  if (new Set(lower).size !== lower.length) {
    throw new AwsError(
      "InvalidParameterValue",
      "Duplicate tag keys found. Please note that Tag keys are case insensitive.",
    );
  }
  if ((passed.length > 0 || transitive.length > 0) && !tagSession) {
    throw new AwsError(
      "AccessDenied",
      `User: ${caller.arn} is not authorized to perform: sts:TagSession on resource: ${roleArn}`,
      403,
    );
  }
  const inherited = Object.entries(caller.tags ?? {}).filter(([key]) =>
    (caller.transitiveTagKeys ?? []).some((t) => t.toLowerCase() === key.toLowerCase()),
  );
  for (const [key] of inherited) {
    if (lower.includes(key.toLowerCase())) {
      throw new AwsError(
        "InvalidParameterValue",
        `The session tag key ${key} is a transitive tag of the calling session and cannot be passed again.`,
      );
    }
  }
  const all = [...inherited, ...passed];
  if (all.length === 0) return {};
  return {
    tags: Object.fromEntries(all),
    transitiveTagKeys: [...inherited.map(([key]) => key), ...transitive],
  };
}

/** A rough PackedPolicySize: the percentage of the packed limit the tags use. */
function packedPercent(tags: Record<string, string>): number {
  const bytes = Object.entries(tags).reduce((sum, [k, v]) => sum + k.length + v.length + 2, 0);
  return Math.min(100, Math.ceil((bytes / 2048) * 100));
}

export function errorXml(error: AwsError): string {
  const type = error.status >= 500 ? "Receiver" : "Sender";
  return (
    `<ErrorResponse xmlns="${XMLNS}"><Error><Type>${type}</Type><Code>${xml(error.type)}</Code>` +
    `<Message>${xml(error.message)}</Message></Error><RequestId>${randomUUID()}</RequestId></ErrorResponse>`
  );
}

function respond(action: string, result: string): string {
  return (
    `<${action}Response xmlns="${XMLNS}"><${action}Result>${result}</${action}Result>` +
    `<ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata></${action}Response>`
  );
}

function assumedRoleUser(principal: Principal): string {
  return `<AssumedRoleUser><Arn>${xml(principal.arn)}</Arn><AssumedRoleId>${xml(principal.userId)}</AssumedRoleId></AssumedRoleUser>`;
}

function credentialsXml(c: Credentials): string {
  return (
    `<Credentials><AccessKeyId>${c.accessKeyId}</AccessKeyId><SecretAccessKey>${xml(c.secretAccessKey)}</SecretAccessKey>` +
    `<SessionToken>${xml(c.sessionToken ?? "")}</SessionToken><Expiration>${c.expiration?.toISOString() ?? ""}</Expiration></Credentials>`
  );
}

function duration(params: URLSearchParams, ctx: StsContext): number {
  const asked = params.get("DurationSeconds");
  return asked === null ? ctx.sessionSeconds : Math.min(Number(asked), ctx.sessionSeconds);
}

/**
 * RoleArn as STS's API validates it: 20 to 2048 characters of its pattern, nothing more (a
 * malformed or unknown ARN is AccessDenied when the call is authorized). The message leaves the
 * value out, where STS quotes it.
 */
function roleArnParam(params: URLSearchParams): string {
  const arn = required(params, "RoleArn");
  const length = [...arn].length;
  const problem =
    length < 20
      ? "Member must have length greater than or equal to 20"
      : length > 2048
        ? "Member must have length less than or equal to 2048"
        : !/^[\t\n\r\u0020-\u007e\u0085\u00a0-\ud7ff\ue000-\ufffd\u{10000}-\u{10ffff}]+$/u.test(arn)
          ? "Member must satisfy regular expression pattern: [\\u0009\\u000A\\u000D\\u0020-\\u007E\\u0085\\u00A0-\\uD7FF\\uE000-\\uFFFD\\u10000-\\u10FFFF]+"
          : undefined;
  if (problem)
    throw new AwsError(
      "ValidationError",
      `1 validation error detected: Value at 'roleArn' failed to satisfy constraint: ${problem}`,
    );
  return arn;
}

function required(params: URLSearchParams, name: string): string {
  const value = params.get(name);
  if (!value)
    throw new AwsError(
      "ValidationError",
      `1 validation error detected: Value null at '${name}' failed to satisfy constraint: Member must not be null`,
    );
  return value;
}

function xml(value: string): string {
  return value.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}
