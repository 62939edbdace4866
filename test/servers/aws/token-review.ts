// Web-identity verification for the test STS through the real TokenReview API
// of a Kubernetes API server, as IAM's OIDC provider would verify an IRSA token.
import { AuthenticationV1Api, type KubeConfig } from "@kubernetes/client-node";
import type { TokenReviewer } from "./sts.ts";

export function kubeTokenReviewer(adminConfig: KubeConfig): TokenReviewer {
  const api = adminConfig.makeApiClient(AuthenticationV1Api);
  return async (token, audience) => {
    const review = await api.createTokenReview({
      body: {
        apiVersion: "authentication.k8s.io/v1",
        kind: "TokenReview",
        spec: { token, audiences: [audience] },
      },
    });
    const status = review.status;
    if (!status?.authenticated || !(status.audiences ?? []).includes(audience)) return undefined;
    return status.user?.username;
  };
}
