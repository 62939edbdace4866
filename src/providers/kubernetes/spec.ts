/**
 * `spec.provider.kubernetes` of a store, shaped as External Secrets
 * Operator's Kubernetes provider:
 *
 *   remoteNamespace: shared-secrets   # default: the namespace the store acts for
 *   server:                           # default: the controller's own cluster
 *     url: https://other-cluster:6443
 *     caBundle: <base64 PEM>          # or caProvider: { type: Secret|ConfigMap, name, key, namespace }
 *   auth:                             # exactly one; required with server
 *     serviceAccount: { name: reader, audiences: [...] }   # token via TokenRequest (local cluster)
 *     token: { bearerToken: { name, key } }                 # a token kept in a Secret
 *     cert: { clientCert: { name, key }, clientKey: { name, key } }
 *   authRef: { name, key }            # instead of server and auth: a kubeconfig kept in a Secret
 *
 * Without server, auth and authRef the controller reads as itself, and a
 * SecretStore then only its own namespace.
 */
import { z } from "zod";
import { onFirstUse } from "../../api/on-first-use.ts";
import { caProvider, parseProviderSpec, secretKeySelector, serviceAccountSelector } from "../spec.ts";

/** The schema of `spec.provider.kubernetes`, built on first use (see onFirstUse). */
export const kubernetesSpecSchema = onFirstUse(() => {
  const name = z.string().min(1);

  const server = z
    .strictObject({
      url: z
        .url({ protocol: /^https$/, error: "must be an https:// URL" })
        .describe("URL of the other cluster's API server, https://."),
      /** Base64-encoded PEM of the CA(s) that signed the API server's certificate; unset: system roots. */
      caBundle: z
        .base64()
        .optional()
        .describe(
          "Base64-encoded PEM of the CA(s) that signed the API server's certificate. Unset: the system's roots.",
        ),
      caProvider: caProvider.optional(),
    })
    .refine((s) => s.caBundle === undefined || s.caProvider === undefined, {
      message: "set at most one of caBundle and caProvider",
    });

  const auth = z
    .strictObject({
      serviceAccount: serviceAccountSelector
        .optional()
        .describe(
          "A service-account token requested through the TokenRequest API (this cluster's accounts).",
        ),
      token: z
        .strictObject({ bearerToken: secretKeySelector.describe("The Secret key holding the bearer token.") })
        .optional()
        .describe("A bearer token kept in a Secret."),
      cert: z
        .strictObject({
          clientCert: secretKeySelector.describe("The Secret key holding the client certificate (PEM)."),
          clientKey: secretKeySelector.describe("The Secret key holding the client's private key (PEM)."),
        })
        .optional()
        .describe("A client certificate and key kept in Secrets."),
    })
    .refine((a) => Object.values(a).filter((method) => method !== undefined).length === 1, {
      message: "set exactly one of serviceAccount, token, cert",
    });

  return (
    z
      .strictObject({
        remoteNamespace: name
          .optional()
          .describe("Namespace to read Secrets from. Unset: the namespace the store acts for."),
        server: server
          .optional()
          .describe("The API server of another cluster. Unset: the controller's own cluster."),
        auth: auth
          .optional()
          .describe("Who to read as: set exactly one of serviceAccount, token, cert. Required with server."),
        authRef: secretKeySelector
          .optional()
          .describe("A kubeconfig kept in a Secret, instead of server and auth."),
      })
      .refine((s) => s.authRef === undefined || (s.server === undefined && s.auth === undefined), {
        message: "set authRef or server/auth, not both (a kubeconfig names its own server and credentials)",
        path: ["authRef"],
      })
      // The controller's own credentials are for its own cluster only.
      .refine((s) => s.server === undefined || s.auth !== undefined, {
        message: "required with server",
        path: ["auth"],
      })
      .describe(
        "Kubernetes Secrets of another namespace or cluster. Without server, auth and authRef the controller reads as itself (a SecretStore: its own namespace only).",
      )
  );
});

export type KubernetesProviderSpec = z.output<ReturnType<typeof kubernetesSpecSchema>>;
/** Which cluster a store reads and as whom; all unset: the local cluster, as the controller. */
export type KubernetesConnection = Omit<KubernetesProviderSpec, "remoteNamespace">;

/** Parses `spec.provider.kubernetes`; throws InvalidSpecError naming the fields. */
export function parseKubernetesSpec(spec: unknown): KubernetesProviderSpec {
  return parseProviderSpec(kubernetesSpecSchema(), spec ?? {}, "kubernetes");
}
