/**
 * The login data of Vault's AWS auth method, iam type: an sts:GetCallerIdentity
 * request signed (SigV4) with the store's AWS credentials, which Vault sends
 * to STS itself to learn who signed it. The request is built and signed by
 * the AWS SDK's own STS client and never sent from here. Credentials come as
 * for an AWS store (./../aws/credentials.ts): keys from a Secret, web identity
 * of a ServiceAccount, or the controller's own chain; then `role` is assumed,
 * as ESO's Vault provider does.
 */
import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { credentialChain } from "../aws/credentials.ts";
import type { AwsProviderSpec } from "../aws/spec.ts";
import type { ProviderContext } from "../types.ts";
import type { VaultAuthSpec } from "./spec.ts";

export type IamAuthSpec = NonNullable<VaultAuthSpec["iam"]>;

/** Where the captured request leaves the SDK's middleware stack instead of being sent. */
class Captured extends Error {
  readonly request: { method: string; url: string; headers: Record<string, string>; body: string };
  constructor(request: Captured["request"]) {
    super("captured");
    this.request = request;
  }
}

/** The AWS store spec that yields the same credentials (region, role, externalID, auth). */
function awsSpec(iam: IamAuthSpec): AwsProviderSpec {
  return {
    region: iam.region,
    ...(iam.role !== undefined ? { role: iam.role } : {}),
    ...(iam.externalID !== undefined ? { externalID: iam.externalID } : {}),
    ...(iam.stsEndpoint !== undefined ? { endpoints: { sts: iam.stsEndpoint } } : {}),
    ...(iam.secretRef ? { auth: { secretRef: iam.secretRef } } : iam.jwt ? { auth: { jwt: iam.jwt } } : {}),
  };
}

export interface IamLoginData {
  /** The body of `POST auth/<path>/login`. */
  body: Record<string, string>;
  /** What must never appear in a message: the session token and the encoded headers carrying it. */
  secrets: string[];
}

export async function iamLoginData(iam: IamAuthSpec, context: ProviderContext): Promise<IamLoginData> {
  const chain = credentialChain({ spec: awsSpec(iam), context, maxAttempts: 3 });
  const credentials = chain.credentials;
  const client = new STSClient({
    region: iam.region,
    maxAttempts: 1,
    ...(iam.stsEndpoint !== undefined ? { endpoint: iam.stsEndpoint } : {}),
    ...(credentials ? { credentials } : {}),
  });
  client.middlewareStack.addRelativeTo(
    () => (args: { request: unknown }) => {
      const request = args.request as {
        method: string;
        protocol: string;
        hostname: string;
        port?: number;
        path: string;
        headers: Record<string, string>;
        body?: unknown;
      };
      const port = request.port ? `:${request.port}` : "";
      throw new Captured({
        method: request.method,
        url: `${request.protocol}//${request.hostname}${port}${request.path}`,
        headers: request.headers,
        body: typeof request.body === "string" ? request.body : "",
      });
    },
    { relation: "after", toMiddleware: "httpSigningMiddleware", name: "refsyncCaptureSignedRequest" },
  );
  const serverId = iam.vaultAwsIamServerID;
  if (serverId) {
    // Signed with the request, so that Vault knows it was meant for this server.
    client.middlewareStack.add(
      (next) => (args) => {
        (args.request as { headers: Record<string, string> }).headers["x-vault-aws-iam-server-id"] = serverId;
        return next(args);
      },
      { step: "build", name: "refsyncVaultServerId" },
    );
  }
  try {
    await client.send(new GetCallerIdentityCommand({}));
    throw new Error("the signed request was not captured");
  } catch (error) {
    if (!(error instanceof Captured)) throw error;
    const { request } = error;
    // Vault reads the headers as Go's http.Header: each name to a list of values.
    const headers = Buffer.from(
      JSON.stringify(Object.fromEntries(Object.entries(request.headers).map(([k, v]) => [k, [v]]))),
    ).toString("base64");
    const token = request.headers["x-amz-security-token"];
    return {
      body: {
        role: iam.vaultRole,
        iam_http_request_method: request.method,
        iam_request_url: Buffer.from(request.url).toString("base64"),
        iam_request_body: Buffer.from(request.body).toString("base64"),
        iam_request_headers: headers,
      },
      secrets: [headers, ...(token ? [token] : [])],
    };
  } finally {
    client.destroy();
    chain.close();
  }
}
