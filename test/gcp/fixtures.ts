// Objects the Google Secret Manager integration suites share: stores pointed
// at the test server, and the cluster's issuer for workload identity providers.
import type { SecretStore } from "../../src/api/v1alpha1.ts";
import type { GcpTestServer } from "../servers/gcp/index.ts";

/** The service-account issuer of the test cluster (test/cluster/index.ts). */
export const CLUSTER_ISSUER = "https://kubernetes.default.svc.cluster.local";

/** `provider.gcpsm` reaching the test server's Secret Manager, plus `extra`: plugin stores and provider clients. */
export function gcpsmSpec(gcp: GcpTestServer, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    projectID: gcp.projectID,
    endpoints: { secretManager: gcp.secretManager },
    caBundle: gcp.caBundle,
    ...extra,
  };
}

/** A SecretStore (namespace set) or ClusterSecretStore whose `spec.provider.gcpsm` talks to the test server. */
export function gcpStore(
  gcp: GcpTestServer,
  metadata: { name: string; namespace?: string },
  provider: Record<string, unknown> = {},
): SecretStore {
  return {
    apiVersion: "refsync.dev/v1alpha1",
    kind: metadata.namespace ? "SecretStore" : "ClusterSecretStore",
    metadata: { ...metadata, generation: 1 },
    spec: {
      provider: {
        gcpsm: {
          projectID: gcp.projectID,
          endpoints: { secretManager: gcp.secretManager, sts: gcp.sts, iamCredentials: gcp.iamCredentials },
          caBundle: gcp.caBundle,
          ...provider,
        },
      },
    },
  };
}

/** `auth` of a store federating the ServiceAccount `name` through `audience`. */
export function federation(
  audience: string,
  serviceAccount: { name: string; namespace?: string },
  gcpServiceAccountEmail?: string,
): Record<string, unknown> {
  return {
    workloadIdentityFederation: {
      serviceAccountRef: serviceAccount,
      audience,
      ...(gcpServiceAccountEmail ? { gcpServiceAccountEmail } : {}),
    },
  };
}
