// Subject-token verification for the test STS through the real TokenReview API
// of a Kubernetes API server, as a workload identity provider verifies a
// service-account token: authenticated, for one of the allowed audiences.
import type { KubeConfig } from "@kubernetes/client-node";
import { clusterTokenReviewer } from "../vault/kubernetes.ts";
import type { TokenReviewer } from "./identity.ts";

export function kubeTokenReviewer(adminConfig: KubeConfig): TokenReviewer {
  const review = clusterTokenReviewer(adminConfig);
  return async (token, audiences) => {
    const result = await review(token, audiences);
    const matched = (result.audiences ?? []).some((a) => audiences.includes(a));
    return result.authenticated && matched ? result.username : undefined;
  };
}
