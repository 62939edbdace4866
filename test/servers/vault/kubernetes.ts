/**
 * How the test Vault talks to the test cluster, as a real Vault's Kubernetes
 * and JWT auth methods do: TokenReview for `auth/kubernetes/login`, the
 * service-account issuer's JWKS for `auth/jwt/login` with Kubernetes tokens.
 */
import type { JsonWebKey } from "node:crypto";
import { AuthenticationV1Api, OpenidApi, type KubeConfig } from "@kubernetes/client-node";
import type { TokenReviewer } from "./auth-methods.ts";

export function clusterTokenReviewer(kc: KubeConfig): TokenReviewer {
  const api = kc.makeApiClient(AuthenticationV1Api);
  return async (jwt, audiences) => {
    const review = await api.createTokenReview({
      body: {
        apiVersion: "authentication.k8s.io/v1",
        kind: "TokenReview",
        spec: { token: jwt, ...(audiences.length > 0 ? { audiences } : {}) },
      },
    });
    return {
      authenticated: review.status?.authenticated === true,
      ...(review.status?.user?.username !== undefined ? { username: review.status.user.username } : {}),
      ...(review.status?.audiences !== undefined ? { audiences: review.status.audiences } : {}),
      ...(review.status?.error !== undefined ? { error: review.status.error } : {}),
    };
  };
}

/** The cluster's service-account signing keys (GET /openid/v1/jwks). */
export function clusterJwks(kc: KubeConfig): () => Promise<JsonWebKey[]> {
  const api = kc.makeApiClient(OpenidApi);
  return async () => {
    const keyset: unknown = await api.getServiceAccountIssuerOpenIDKeyset();
    const parsed = (typeof keyset === "string" ? JSON.parse(keyset) : keyset) as { keys: JsonWebKey[] };
    return parsed.keys;
  };
}
