/**
 * JWT verification for the test server's `jwt` auth method: RS256/ES256
 * signatures checked with node:crypto against a JWKS (as Vault does with
 * `jwks_url` or `jwt_validation_pubkeys`), then expiry and audience.
 */
import { createPublicKey, sign, verify, type JsonWebKey, type KeyObject } from "node:crypto";

export interface JwtClaims {
  iss?: string;
  sub?: string;
  aud?: string | string[];
  exp?: number;
  nbf?: number;
  [claim: string]: unknown;
}

function decodePart(part: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(part, "base64url").toString("utf8")) as Record<string, unknown>;
}

/** Returns the verified claims, or throws an Error whose message is Vault-like. */
export function verifyJwt(
  jwt: string,
  keys: readonly JsonWebKey[],
  nowSeconds = Date.now() / 1000,
): JwtClaims {
  const parts = jwt.split(".");
  if (parts.length !== 3) throw new Error("error validating token: invalid format");
  const [headerPart, payloadPart, signaturePart] = parts as [string, string, string];
  const header = decodePart(headerPart);
  const alg = header.alg;
  if (alg !== "RS256" && alg !== "ES256")
    throw new Error(`error validating token: unsupported alg ${String(alg)}`);
  const candidates = keys.filter(
    (key) => header.kid === undefined || key.kid === undefined || key.kid === header.kid,
  );
  const signed = Buffer.from(`${headerPart}.${payloadPart}`);
  const signature = Buffer.from(signaturePart, "base64url");
  const valid = candidates.some((jwk) =>
    verify(
      "sha256",
      signed,
      alg === "ES256"
        ? { key: createPublicKey({ key: jwk, format: "jwk" }), dsaEncoding: "ieee-p1363" }
        : createPublicKey({ key: jwk, format: "jwk" }),
      signature,
    ),
  );
  if (!valid) throw new Error("error validating token: failed to verify id token signature");
  const claims = decodePart(payloadPart) as JwtClaims;
  if (typeof claims.exp === "number" && claims.exp < nowSeconds)
    throw new Error("error validating claims: token is expired");
  if (typeof claims.nbf === "number" && claims.nbf > nowSeconds + 5)
    throw new Error("error validating claims: token not yet valid");
  return claims;
}

export function audiences(claims: JwtClaims): string[] {
  return claims.aud === undefined ? [] : Array.isArray(claims.aud) ? claims.aud : [claims.aud];
}

/** Signs `claims` with an RSA private key (RS256), as an identity provider would; for tests. */
export function signJwt(claims: JwtClaims, privateKey: KeyObject, kid: string): string {
  const header = Buffer.from(JSON.stringify({ alg: "RS256", typ: "JWT", kid })).toString("base64url");
  const payload = Buffer.from(JSON.stringify(claims)).toString("base64url");
  const signature = sign("sha256", Buffer.from(`${header}.${payload}`), privateKey).toString("base64url");
  return `${header}.${payload}.${signature}`;
}
