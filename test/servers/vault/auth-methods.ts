/**
 * The login side of the auth methods the provider uses: AppRole, Kubernetes
 * (JWT checked by the cluster's real TokenReview API, then bound service
 * account names/namespaces), JWT (signature against a JWKS, then bound
 * audiences/subject), userpass and LDAP (a password per user: the test
 * server is its own directory) and TLS certificates (the client certificate
 * of the TLS handshake, checked against each role's trusted certificate).
 * Each login returns the token options for the new token.
 */
import { X509Certificate, type JsonWebKey } from "node:crypto";
import { request as httpRequest } from "node:http";
import { badRequest, permissionDenied, VaultHttpError } from "./http-error.ts";
import { audiences, verifyJwt } from "./jwt.ts";
import type { TokenOptions } from "./tokens.ts";

export interface TokenReviewResult {
  authenticated: boolean;
  /** `system:serviceaccount:<namespace>:<name>` */
  username?: string;
  audiences?: string[];
  error?: string;
}

/** Asks the cluster whether `jwt` is valid for `audiences` (empty: the API server's own). */
export type TokenReviewer = (jwt: string, audiences: string[]) => Promise<TokenReviewResult>;

export interface AppRoleRole extends TokenOptions {
  roleId: string;
  secretIds: string[];
}

export interface KubernetesRole extends TokenOptions {
  boundServiceAccountNames: string[];
  boundServiceAccountNamespaces: string[];
  /** The audience the service-account token must carry (Vault's `audience` role field). */
  audience?: string;
}

export interface JwtRole extends TokenOptions {
  boundAudiences: string[];
  boundSubject?: string;
  /** Claim used as the token's display name; default `sub`. */
  userClaim?: string;
}

/** A userpass user, or an LDAP user of the directory the test server stands in for. */
export interface PasswordUser extends TokenOptions {
  password: string;
}

/** A cert auth role (Vault's `auth/cert/certs/:name`). */
export interface CertRole extends TokenOptions {
  /** PEM: a CA that must have issued the client certificate, or the client certificate itself. */
  certificate: string;
  /** Common names allowed (`*` globs); empty: any. */
  allowedCommonNames?: string[];
}

/** A role of the AWS auth method, iam type (Vault's `auth/aws/role/:role` with auth_type iam). */
export interface AwsIamRole extends TokenOptions {
  /** IAM user or role ARNs (a trailing `*` matches any rest) whose signed requests may log in. */
  boundIamPrincipalArns: string[];
}

export type AuthMethod =
  | { type: "approle"; roles: Map<string, AppRoleRole> }
  | {
      type: "aws";
      /** Where Vault sends the signed sts:GetCallerIdentity request (its sts_endpoint). */
      stsEndpoint: string;
      /** Vault's iam_server_id_header_value: the X-Vault-AWS-IAM-Server-ID the request must sign. */
      serverIdHeader?: string;
      roles: Map<string, AwsIamRole>;
    }
  | { type: "userpass"; users: Map<string, PasswordUser> }
  | { type: "ldap"; users: Map<string, PasswordUser> }
  | { type: "cert"; roles: Map<string, CertRole> }
  | { type: "kubernetes"; tokenReviewer: TokenReviewer; roles: Map<string, KubernetesRole> }
  | { type: "jwt"; keys: () => JsonWebKey[] | Promise<JsonWebKey[]>; roles: Map<string, JwtRole> };

export interface LoginResult {
  options: TokenOptions;
  displayName: string;
  meta: Record<string, string>;
}

const stringField = (body: Record<string, unknown>, field: string): string | undefined =>
  typeof body[field] === "string" && body[field] !== "" ? body[field] : undefined;

const bound = (allowed: string[], value: string): boolean => allowed.includes("*") || allowed.includes(value);

/** What a login request carries besides its JSON body. */
export interface LoginRequest {
  body: Record<string, unknown>;
  /** `auth/<mount>/login/<user>`: the user, for userpass and LDAP. */
  user?: string;
  /** The client certificate of the TLS handshake, if any. */
  peerCertificate?: X509Certificate;
}

export async function login(method: AuthMethod, mount: string, request: LoginRequest): Promise<LoginResult> {
  const { body } = request;
  switch (method.type) {
    case "userpass":
    case "ldap": {
      const username = request.user ?? "";
      const password = stringField(body, "password");
      if (!password) throw badRequest("missing password");
      const user = method.users.get(username);
      if (!user || user.password !== password) {
        throw badRequest(
          method.type === "ldap"
            ? "ldap operation failed: failed to bind as user"
            : "invalid username or password",
        );
      }
      return { options: user, displayName: `${mount}-${username}`, meta: { username } };
    }
    case "cert":
      return certLogin(method.roles, mount, body, request.peerCertificate);
    case "aws":
      return awsIamLogin(method, mount, body);
    case "approle": {
      const roleId = stringField(body, "role_id");
      if (!roleId) throw badRequest("missing role_id");
      const secretId = stringField(body, "secret_id");
      const entry = [...method.roles.entries()].find(([, role]) => role.roleId === roleId);
      if (!entry || !secretId || !entry[1].secretIds.includes(secretId))
        throw badRequest("invalid role or secret ID");
      return { options: entry[1], displayName: `${mount}-${entry[0]}`, meta: { role_name: entry[0] } };
    }
    case "kubernetes": {
      const { role, jwt } = roleAndJwt(body);
      const definition = method.roles.get(role);
      if (!definition) throw badRequest(`invalid role name "${role}"`);
      const review = await method.tokenReviewer(jwt, definition.audience ? [definition.audience] : []);
      if (!review.authenticated || !review.username) {
        throw permissionDenied();
      }
      const [, , namespace = "", name = ""] = review.username.split(":");
      if (!bound(definition.boundServiceAccountNames, name))
        throw new VaultHttpError(403, ["service account name not authorized"]);
      if (!bound(definition.boundServiceAccountNamespaces, namespace))
        throw new VaultHttpError(403, ["namespace not authorized"]);
      return {
        options: definition,
        displayName: `${mount}-${namespace}-${name}`,
        meta: { role, service_account_name: name, service_account_namespace: namespace },
      };
    }
    case "jwt": {
      const { role, jwt } = roleAndJwt(body);
      const definition = method.roles.get(role);
      if (!definition) throw badRequest(`role "${role}" could not be found`);
      let claims;
      try {
        claims = verifyJwt(jwt, await method.keys());
      } catch (error) {
        throw badRequest((error as Error).message);
      }
      const tokenAudiences = audiences(claims);
      if (
        definition.boundAudiences.length > 0 &&
        !tokenAudiences.some((aud) => definition.boundAudiences.includes(aud))
      ) {
        throw badRequest(
          "error validating claims: invalid audience (aud) claim: audience claim does not match any expected audience",
        );
      }
      if (definition.boundSubject !== undefined && claims.sub !== definition.boundSubject) {
        throw badRequest("error validating claims: sub claim does not match bound subject");
      }
      const user = claims[definition.userClaim ?? "sub"];
      if (typeof user !== "string")
        throw badRequest(`claim "${definition.userClaim ?? "sub"}" not found in token`);
      return { options: definition, displayName: `${mount}-${user}`, meta: { role } };
    }
  }
}

function roleAndJwt(body: Record<string, unknown>): { role: string; jwt: string } {
  const role = stringField(body, "role");
  if (!role) throw badRequest("missing role");
  const jwt = stringField(body, "jwt");
  if (!jwt) throw badRequest("missing jwt");
  return { role, jwt };
}

const INVALID_CERT = "invalid certificate or no client certificate supplied";

/** Whether `role` trusts `client`: it is the role's certificate, or the role's CA issued and signed it. */
function trusts(role: CertRole, client: X509Certificate): boolean {
  let trusted: X509Certificate;
  try {
    trusted = new X509Certificate(role.certificate);
  } catch {
    return false;
  }
  const now = Date.now();
  if (now < Date.parse(client.validFrom) || now > Date.parse(client.validTo)) return false;
  const same = trusted.fingerprint256 === client.fingerprint256;
  if (!same && (!trusted.ca || !client.checkIssued(trusted) || !client.verify(trusted.publicKey)))
    return false;
  const cn = /(?:^|\n)CN=([^\n]*)/.exec(client.subject)?.[1] ?? "";
  const names = role.allowedCommonNames ?? [];
  return (
    names.length === 0 ||
    names.some((name) =>
      new RegExp(
        `^${name
          .split("*")
          .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, "\\$&"))
          .join(".*")}$`,
      ).test(cn),
    )
  );
}

/** POST auth/<mount>/login: the role named in the body, or the first role that trusts the certificate. */
function certLogin(
  roles: Map<string, CertRole>,
  mount: string,
  body: Record<string, unknown>,
  client: X509Certificate | undefined,
): LoginResult {
  if (!client) throw badRequest(INVALID_CERT);
  const name = stringField(body, "name");
  const candidates = name !== undefined ? [[name, roles.get(name)] as const] : [...roles.entries()];
  for (const [roleName, role] of candidates) {
    if (role && trusts(role, client)) {
      // Vault's cert auth metadata (subject_key_id and authority_key_id left out).
      const meta = {
        cert_name: roleName,
        common_name: /(?:^|\n)CN=([^\n]*)/.exec(client.subject)?.[1] ?? "",
        serial_number: BigInt(`0x${client.serialNumber}`).toString(),
      };
      return { options: role, displayName: `${mount}-${roleName}`, meta };
    }
  }
  throw badRequest(INVALID_CERT);
}

function decoded(body: Record<string, unknown>, field: string): string {
  const value = stringField(body, field);
  if (value === undefined) throw badRequest(`missing ${field}`);
  return Buffer.from(value, "base64").toString("utf8");
}

/** Sends the signed request to the STS endpoint, with the Host it was signed for; resolves status and body. */
function forward(
  endpoint: string,
  signedUrl: URL,
  headers: Record<string, string>,
  body: string,
): Promise<{ status: number; body: string }> {
  const target = new URL(signedUrl.pathname + signedUrl.search, endpoint);
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      target,
      { method: "POST", headers: { ...headers, host: signedUrl.host } },
      (response) => {
        const chunks: Buffer[] = [];
        response.on("data", (chunk: Buffer) => chunks.push(chunk));
        response.on("end", () =>
          resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }),
        );
        response.on("error", reject);
      },
    );
    request.on("error", reject);
    request.end(body);
  });
}

/**
 * POST auth/<mount>/login with iam_* fields, as Vault's AWS auth method (iam type) handles it: the
 * signed sts:GetCallerIdentity request goes to STS, the caller's ARN (an assumed role's session as its
 * role's ARN) must be bound to the role, and the server-ID header, when configured, must be signed.
 */
async function awsIamLogin(
  method: Extract<AuthMethod, { type: "aws" }>,
  mount: string,
  body: Record<string, unknown>,
): Promise<LoginResult> {
  const roleName = stringField(body, "role");
  if (!roleName) throw badRequest("missing role");
  const role = method.roles.get(roleName);
  if (!role) throw badRequest(`entry for role ${roleName} not found`);
  if (stringField(body, "iam_http_request_method") !== "POST")
    throw badRequest("invalid iam_http_request_method; currently only 'POST' is supported");
  const url = new URL(decoded(body, "iam_request_url"));
  const requestBody = decoded(body, "iam_request_body");
  let parsed: unknown;
  try {
    parsed = JSON.parse(decoded(body, "iam_request_headers"));
  } catch {
    throw badRequest("failed to parse iam_request_headers");
  }
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(parsed as Record<string, unknown>)) {
    headers[name.toLowerCase()] = Array.isArray(value) ? value.map(String).join(",") : String(value);
  }
  if (method.serverIdHeader !== undefined) {
    const signed = /SignedHeaders=([^,]+)/.exec(headers.authorization ?? "")?.[1]?.split(";") ?? [];
    if (headers["x-vault-aws-iam-server-id"] !== method.serverIdHeader)
      throw badRequest("expected X-Vault-AWS-IAM-Server-ID header value does not match the configured one");
    if (!signed.includes("x-vault-aws-iam-server-id")) throw badRequest("vault header wasn't signed");
  }
  const answer = await forward(method.stsEndpoint, url, headers, requestBody);
  if (answer.status !== 200)
    throw badRequest(`error making upstream request: received error code ${answer.status} from STS`);
  const callerArn = /<Arn>([^<]+)<\/Arn>/.exec(answer.body)?.[1] ?? "";
  const assumed = /^arn:(aws[a-z-]*):sts::(\d{12}):assumed-role\/([^/]+)\/.+$/.exec(callerArn);
  const canonical = assumed ? `arn:${assumed[1]}:iam::${assumed[2]}:role/${assumed[3]}` : callerArn;
  const bound = role.boundIamPrincipalArns.some((arn) =>
    arn.endsWith("*") ? canonical.startsWith(arn.slice(0, -1)) : arn === canonical,
  );
  if (!bound) throw badRequest(`IAM Principal "${callerArn}" does not belong to the role "${roleName}"`);
  const account = /::(\d{12}):/.exec(canonical)?.[1] ?? "";
  return {
    options: role,
    displayName: `${mount}-${canonical.split("/").at(-1) ?? ""}`,
    meta: { auth_type: "iam", account_id: account, canonical_arn: canonical, client_arn: callerArn },
  };
}
