// Verifies an incoming request's SigV4 `Authorization` header by re-signing
// the signed parts of the request with @smithy/signature-v4 and the secret the
// server issued for that access key.
import { createHash } from "node:crypto";
import { Hash } from "@smithy/hash-node";
import { SignatureV4 } from "@smithy/signature-v4";
import { AwsError } from "./errors.ts";
import type { Iam, Principal } from "./iam.ts";

export interface IncomingSigned {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: Record<string, string>;
  body: Buffer;
}

/** The protocol-specific error codes for each way a signature can be wrong. */
export interface SignatureErrorCodes {
  missing: [string, number];
  badSignature: [string, number];
  unknownKey: [string, number];
  expired: [string, number];
}

export const jsonErrorCodes: SignatureErrorCodes = {
  missing: ["MissingAuthenticationTokenException", 400],
  badSignature: ["InvalidSignatureException", 400],
  unknownKey: ["UnrecognizedClientException", 400],
  expired: ["ExpiredTokenException", 400],
};

export const queryErrorCodes: SignatureErrorCodes = {
  missing: ["MissingAuthenticationToken", 403],
  badSignature: ["SignatureDoesNotMatch", 403],
  unknownKey: ["InvalidClientTokenId", 403],
  expired: ["ExpiredToken", 400],
};

const AUTH_PATTERN =
  /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/;

/** AWS refuses requests signed more than 5 minutes away from its clock. */
const MAX_SKEW_MS = 5 * 60_000;

const BAD_SIGNATURE =
  "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.";

export async function verifySignature(
  request: IncomingSigned,
  iam: Iam,
  expected: { region: string; service: string },
  codes: SignatureErrorCodes,
): Promise<Principal> {
  const fail = ([type, status]: [string, number], message: string) => new AwsError(type, message, status);
  const auth = request.headers["authorization"];
  if (!auth) throw fail(codes.missing, "Missing Authentication Token");
  const match = AUTH_PATTERN.exec(auth);
  const amzDate = request.headers["x-amz-date"];
  if (!match || !amzDate) {
    throw new AwsError(
      "IncompleteSignatureException",
      "Authorization header requires Credential, SignedHeaders and Signature.",
    );
  }
  const [, accessKeyId = "", shortDate, region, service, signedHeaderList = "", signature = ""] = match;
  if (region !== expected.region || service !== expected.service || !amzDate.startsWith(shortDate ?? "")) {
    throw fail(
      codes.badSignature,
      `Credential should be scoped to a valid region and service '${expected.service}'.`,
    );
  }
  const signedAt = parseAmzDate(amzDate);
  if (Math.abs(signedAt.getTime() - Date.now()) > MAX_SKEW_MS) {
    const earliest = amzDateOf(new Date(Date.now() - MAX_SKEW_MS));
    const now = amzDateOf(new Date());
    throw fail(
      codes.badSignature,
      `Signature expired: ${amzDate} is now earlier than ${earliest} (${now} - 5 min.)`,
    );
  }
  const issued = iam.lookup(accessKeyId);
  if (!issued) throw fail(codes.unknownKey, "The security token included in the request is invalid.");
  const { credentials } = issued;
  if (credentials.sessionToken !== request.headers["x-amz-security-token"]) {
    throw fail(codes.unknownKey, "The security token included in the request is invalid.");
  }
  if (credentials.expiration && credentials.expiration.getTime() <= Date.now()) {
    throw fail(codes.expired, "The security token included in the request is expired");
  }
  const bodyHash = createHash("sha256").update(request.body).digest("hex");
  const claimedHash = request.headers["x-amz-content-sha256"];
  if (claimedHash !== undefined && claimedHash !== bodyHash) throw fail(codes.badSignature, BAD_SIGNATURE);

  const signedHeaders = signedHeaderList.split(";");
  const headers: Record<string, string> = {};
  for (const name of signedHeaders) {
    const value = request.headers[name];
    if (value === undefined) throw fail(codes.badSignature, BAD_SIGNATURE);
    headers[name] = value;
  }
  const signer = new SignatureV4({
    credentials,
    region,
    service,
    sha256: Hash.bind(null, "sha256"),
    applyChecksum: false,
  });
  const resigned = await signer.sign(
    {
      method: request.method,
      protocol: "http:",
      hostname: headers["host"] ?? "",
      path: request.path,
      query: request.query,
      headers,
      body: request.body,
    },
    { signingDate: signedAt, signableHeaders: new Set(signedHeaders) },
  );
  const expectedSignature =
    /Signature=([0-9a-f]{64})$/.exec(String(resigned.headers["authorization"]))?.[1] ?? "";
  if (expectedSignature !== signature) {
    throw fail(codes.badSignature, BAD_SIGNATURE);
  }
  return issued.principal;
}

function amzDateOf(date: Date): string {
  return date.toISOString().replace(/[-:]|\.\d{3}/g, "");
}

function parseAmzDate(value: string): Date {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  if (!m) throw new AwsError("IncompleteSignatureException", "X-Amz-Date must be in ISO 8601 basic format.");
  return new Date(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}Z`);
}
