/**
 * The Google Cloud Secret Manager provider (`ref+gcpsm://`, `spec.provider.gcpsm`).
 *
 *   spec.provider.gcpsm:
 *     projectID: my-project                      # optional but with auth.secretRef: see projectOf
 *     projectNumber: "123456789012"              # optional: also accept projects/<number>/… names
 *     location: europe-west1                     # optional: regional secrets and endpoint
 *     auth:                                      # optional; default: Application Default Credentials
 *       workloadIdentityFederation:              # per-namespace identity through Google's STS
 *         serviceAccountRef: { name: app }
 *         audience: //iam.googleapis.com/projects/123/locations/global/workloadIdentityPools/k8s/providers/cluster
 *         gcpServiceAccountEmail: reader@my-project.iam.gserviceaccount.com   # optional impersonation
 *       # or workloadIdentity: { serviceAccountRef, clusterLocation?, clusterName?, clusterProjectID? }   (GKE; unset: metadata server)
 *       # or secretRef: { secretAccessKeySecretRef: { name, key } }                                    (key file)
 *
 * remoteRef.key is a secret id of the project (or projects/<id or number>/secrets/<id>); version is
 * `latest` (default), a version number or an alias.
 */
import { lazyClient } from "../lazy.ts";
import type { ProviderFactory } from "../types.ts";
import { gcpsmSpecSchema, parseGcpsmSpec } from "./spec.ts";

export const gcpsmProvider: ProviderFactory = {
  name: "gcpsm",
  specKey: "gcpsm",
  specSchema: gcpsmSpecSchema,
  create(spec, context) {
    const parsed = parseGcpsmSpec(spec);
    // The gRPC client loads when a store of this provider is first used.
    return lazyClient(
      { provider: "gcpsm", methods: ["currentVersion", "write"], metersOwnRequests: true },
      async () => {
        const [{ GcpsmClient }, { projectOf }] = await Promise.all([
          import("./client.ts"),
          import("./credentials.ts"),
        ]);
        return new GcpsmClient({ ...parsed, projectID: await projectOf(parsed, context) }, context);
      },
    );
  },
};
