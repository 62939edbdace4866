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
    const roleArn = required(params, "RoleArn");
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
    const roleArn = required(params, "RoleArn");
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
    const { credentials, principal } = ctx.iam.issueSession(roleArn, sessionName, duration(params, ctx));
    return respond("AssumeRole", assumedRoleUser(principal) + credentialsXml(credentials));
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
