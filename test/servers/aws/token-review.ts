// Web-identity verification for the test STS through the real TokenReview API
// of a Kubernetes API server, as IAM's OIDC provider would verify an IRSA
// token: authenticated, issued for the STS audience, and whose subject.
import type { KubeConfig } from "@kubernetes/client-node";
import { clusterTokenReviewer } from "../vault/kubernetes.ts";
import type { TokenReviewer } from "./sts.ts";

export function kubeTokenReviewer(adminConfig: KubeConfig): TokenReviewer {
  const review = clusterTokenReviewer(adminConfig);
  return async (token, audience) => {
    const result = await review(token, [audience]);
    return result.authenticated && (result.audiences ?? []).includes(audience) ? result.username : undefined;
  };
}
