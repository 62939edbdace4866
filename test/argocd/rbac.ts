/**
 * The controller's access, checked with SelfSubjectAccessReviews as its own service account:
 * what it needs is allowed, everything else asked about is denied. Used for the Kustomize
 * install (manifests.test.ts) and the Helm chart's (chart.test.ts).
 */
import assert from "node:assert/strict";
import { AuthorizationV1Api, CoreV1Api } from "@kubernetes/client-node";
import type { Cluster } from "../cluster/index.ts";

export async function assertControllerAccess(
  cluster: Pick<Cluster, "kc" | "kubeConfigForToken">,
  namespace: string,
): Promise<void> {
  const core = cluster.kc.makeApiClient(CoreV1Api);
  const token = await core.createNamespacedServiceAccountToken({
    name: "refsync-controller",
    namespace: namespace,
    body: { spec: { audiences: [], expirationSeconds: 600 } },
  });
  const asController = cluster.kubeConfigForToken(token.status?.token ?? "", "refsync-controller");
  const authz = asController.makeApiClient(AuthorizationV1Api);
  const can = async (
    verb: string,
    resource: string,
    opts: { group?: string; namespace?: string; subresource?: string } = {},
  ) => {
    const review = await authz.createSelfSubjectAccessReview({
      body: {
        spec: {
          resourceAttributes: {
            verb,
            resource,
            group: opts.group ?? "",
            namespace: opts.namespace,
            subresource: opts.subresource,
          },
        },
      },
    });
    return review.status?.allowed === true;
  };
  const allowed: [string, string, Parameters<typeof can>[2]?][] = [
    ["watch", "externalsecrets", { group: "refsync.dev", namespace: "team-a" }],
    ["patch", "externalsecrets", { group: "refsync.dev", namespace: "team-a", subresource: "status" }],
    ["list", "clustersecretstores", { group: "refsync.dev" }],
    // ClusterExternalSecrets: the ExternalSecrets they control are created and deleted.
    ["watch", "clusterexternalsecrets", { group: "refsync.dev" }],
    ["patch", "clusterexternalsecrets", { group: "refsync.dev", subresource: "status" }],
    ["update", "clusterexternalsecrets", { group: "refsync.dev", subresource: "finalizers" }],
    ["create", "externalsecrets", { group: "refsync.dev", namespace: "team-a" }],
    ["delete", "externalsecrets", { group: "refsync.dev", namespace: "team-a" }],
    ["watch", "namespaces"],
    ["create", "secrets", { namespace: "team-a" }],
    ["delete", "secrets", { namespace: "team-a" }],
    ["create", "serviceaccounts", { namespace: "team-a", subresource: "token" }],
    ["create", "events", { namespace: "team-a" }],
    ["update", "leases", { group: "coordination.k8s.io", namespace: namespace }],
    ["patch", "deployments", { group: "apps", namespace: "team-a" }],
    ["patch", "applications", { group: "argoproj.io", namespace: "argocd" }],
    ["patch", "kustomizations", { group: "kustomize.toolkit.fluxcd.io", namespace: "flux-system" }],
    ["list", "configmaps", { namespace: "team-a" }],
    // A Vault store's caProvider of type ConfigMap.
    ["get", "configmaps", { namespace: "team-a" }],
  ];
  const denied: [string, string, Parameters<typeof can>[2]?][] = [
    ["update", "leases", { group: "coordination.k8s.io", namespace: "team-a" }],
    ["create", "pods", { namespace: "team-a" }],
    ["watch", "configmaps", { namespace: "team-a" }],
    ["update", "configmaps", { namespace: "team-a" }],
    ["create", "configmaps", { namespace: "team-a" }],
    ["delete", "configmaps", { namespace: "team-a" }],
    ["create", "serviceaccounts", { namespace: "team-a" }],
    ["impersonate", "serviceaccounts", { namespace: "team-a" }],
    ["escalate", "clusterroles", { group: "rbac.authorization.k8s.io" }],
    ["create", "rolebindings", { group: "rbac.authorization.k8s.io", namespace: "team-a" }],
    ["create", "tokenreviews", { group: "authentication.k8s.io" }],
    ["create", "clusterexternalsecrets", { group: "refsync.dev" }],
    ["delete", "clusterexternalsecrets", { group: "refsync.dev" }],
    ["update", "namespaces"],
    ["delete", "customresourcedefinitions", { group: "apiextensions.k8s.io" }],
  ];
  for (const [verb, resource, opts] of allowed)
    assert.equal(await can(verb, resource, opts), true, `may ${verb} ${resource} ${JSON.stringify(opts)}`);
  for (const [verb, resource, opts] of denied)
    assert.equal(
      await can(verb, resource, opts),
      false,
      `may not ${verb} ${resource} ${JSON.stringify(opts)}`,
    );
}
