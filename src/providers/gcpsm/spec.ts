// `spec.provider.gcpsm` of a SecretStore, shaped as ESO's gcpsm provider:
// validated once, errors name the field.
import { z } from "zod";
import { onFirstUse } from "../../api/on-first-use.ts";
import { caProvider, parseProviderSpec, secretKeySelector, serviceAccountSelector } from "../spec.ts";

/** The schema of `spec.provider.gcpsm`, built on first use (see onFirstUse). */
export const gcpsmSpecSchema = onFirstUse(() => {
  const projectID = z
    .string()
    .regex(/^[a-z][a-z0-9-]{4,28}[a-z0-9]$/, "must be a Google Cloud project ID such as my-project-123");
  const location = z.string().regex(/^[a-z]+(-[a-z0-9]+)+$/, "must be a location such as europe-west1");
  const serviceAccountEmail = z
    .string()
    .regex(/^[^@\s]+@[^@\s]+\.iam\.gserviceaccount\.com$/, "must be a Google service account email")
    .describe(
      "Email of the Google service account to impersonate (IAM Credentials generateAccessToken) with the federated token.",
    );

  const workloadIdentityFederation = z
    .strictObject({
      serviceAccountRef: serviceAccountSelector.describe(
        "The ServiceAccount whose token (TokenRequest API) is exchanged at Google's STS. Its audiences default to the workload identity provider's: https: followed by audience.",
      ),
      audience: z
        .string()
        .regex(
          /^\/\/iam\.googleapis\.com\/(projects\/\d+\/locations\/global\/workloadIdentityPools\/[^/]+\/providers\/[^/]+|locations\/global\/workforcePools\/[^/]+\/providers\/[^/]+)$/,
          "must be //iam.googleapis.com/projects/<number>/locations/global/workloadIdentityPools/<pool>/providers/<provider>",
        )
        .describe(
          "The STS audience: //iam.googleapis.com/projects/<number>/locations/global/workloadIdentityPools/<pool>/providers/<provider>.",
        ),
      gcpServiceAccountEmail: serviceAccountEmail.optional(),
    })
    .describe(
      "Workload Identity Federation: a service-account token exchanged at Google's STS (RFC 8693), then, with gcpServiceAccountEmail, for that service account's token.",
    );

  const workloadIdentity = z
    .strictObject({
      serviceAccountRef: serviceAccountSelector.describe(
        "The ServiceAccount whose token is exchanged; a Google service account named in its iam.gke.io/gcp-service-account annotation is impersonated.",
      ),
      clusterLocation: location
        .optional()
        .describe(
          "Location of the GKE cluster. Unset (as ESO): the metadata server's instance/attributes/cluster-location.",
        ),
      clusterName: z
        .string()
        .min(1)
        .optional()
        .describe(
          "Name of the GKE cluster. Unset (as ESO): the metadata server's instance/attributes/cluster-name.",
        ),
      clusterProjectID: projectID
        .optional()
        .describe(
          "Project of the GKE cluster (its workload identity pool <project>.svc.id.goog). Unset (as ESO): the metadata server's project/project-id.",
        ),
    })
    .describe(
      "GKE Workload Identity: the ServiceAccount's token exchanged for the cluster's identity namespace <project>.svc.id.goog.",
    );

  return (
    z
      .strictObject({
        projectID: projectID
          .optional()
          .describe(
            "Project holding the secrets. Unset (as ESO): workloadIdentity's clusterProjectID, else the environment's project (GOOGLE_CLOUD_PROJECT, then the GKE metadata server); required with auth.secretRef.",
          ),
        projectNumber: z
          .string()
          .regex(/^[1-9][0-9]{0,19}$/, "must be a Google Cloud project number such as 123456789012")
          .optional()
          .describe(
            "The number of projectID's project. Set, a key may also be a full resource name by number (projects/<number>/secrets/<id>, as Secret Manager names its resources and AVP's placeholders often do); validation checks it against the number Secret Manager reports. Unset: such names are refused as outside the store's project.",
          ),
        location: location
          .optional()
          .describe(
            "Location of regional secrets (and of the regional endpoint secretmanager.<location>.rep.googleapis.com). Unset: global secrets.",
          ),
        secretVersionSelectionPolicy: z
          .enum(["LatestOrFail", "LatestOrFetch"])
          .optional()
          .describe(
            "How a key without version is read when its latest version is disabled or destroyed: LatestOrFail (the default) fails; LatestOrFetch reads the most recently created enabled version instead (needs secretmanager.versions.list), as ESO does.",
          ),
        endpoints: z
          .strictObject({
            secretManager: z
              .string()
              .regex(/^[A-Za-z0-9.-]+(:\d+)?$/, "must be host or host:port")
              .optional()
              .describe("host[:port] of the Secret Manager gRPC endpoint (TLS)."),
            pubsub: z
              .string()
              .regex(/^[A-Za-z0-9.-]+(:\d+)?$/, "must be host or host:port")
              .optional()
              .describe(
                "host[:port] of the Pub/Sub gRPC endpoint (TLS, the same CA) that spec.events.gcpPubSub pulls from. Unset: pubsub.googleapis.com.",
              ),
            sts: z
              .url({ protocol: /^https?$/ })
              .optional()
              .describe("URL of the STS token endpoint (default https://sts.googleapis.com/v1/token)."),
            iamCredentials: z
              .url({ protocol: /^https?$/ })
              .optional()
              .describe(
                "Base URL of the IAM Credentials API (default https://iamcredentials.googleapis.com).",
              ),
          })
          .optional()
          .describe("Endpoint overrides, for Private Service Connect or tests. Unset: Google's."),
        caBundle: z
          .base64()
          .optional()
          .describe(
            "Base64-encoded PEM of the CA(s) that signed the Secret Manager endpoint's certificate. Unset: the system's roots.",
          ),
        caProvider: caProvider.optional(),
        auth: z
          .strictObject({
            workloadIdentityFederation: workloadIdentityFederation.optional(),
            workloadIdentity: workloadIdentity.optional(),
            secretRef: z
              .strictObject({
                secretAccessKeySecretRef: secretKeySelector.describe(
                  "The Secret key holding the service account's JSON key file.",
                ),
              })
              .optional()
              .describe(
                "A service-account key file kept in a Secret (the store reports a StaticCredentials warning).",
              ),
          })
          .refine(
            (auth) => Object.values(auth).filter((v) => v !== undefined).length <= 1,
            "set at most one of auth.workloadIdentityFederation, auth.workloadIdentity and auth.secretRef",
          )
          .optional()
          .describe(
            "Credentials: at most one of workloadIdentityFederation, workloadIdentity and secretRef. Unset: the controller's Application Default Credentials.",
          ),
      })
      .refine((spec) => !(spec.caBundle && spec.caProvider), "set at most one of caBundle and caProvider")
      // As ESO: a key file's project is never looked up.
      .refine((spec) => spec.projectID !== undefined || !spec.auth?.secretRef, {
        message: "set projectID: a store with auth.secretRef does not look its project up",
        path: ["projectID"],
      })
      .describe("Google Cloud Secret Manager.")
  );
});

export type GcpsmSpec = z.infer<ReturnType<typeof gcpsmSpecSchema>>;
/** A spec whose project is known: set, or found by projectOf (credentials.ts). */
export type ProjectGcpsmSpec = GcpsmSpec & { projectID: string };
type Auth = NonNullable<GcpsmSpec["auth"]>;
export type FederationSpec = NonNullable<Auth["workloadIdentityFederation"]>;
export type GkeIdentitySpec = NonNullable<Auth["workloadIdentity"]>;

/** Parses `spec.provider.gcpsm`, throwing InvalidSpecError that names the offending field. */
export function parseGcpsmSpec(spec: unknown): GcpsmSpec {
  return parseProviderSpec(gcpsmSpecSchema(), spec, "gcpsm");
}
