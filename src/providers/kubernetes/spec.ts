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
import { parseProviderSpec } from "../spec.ts";

const name = z.string().min(1);

const secretKeySelector = z.strictObject({ name, key: name, namespace: name.optional() });

const server = z
  .strictObject({
    url: z.url({ protocol: /^https$/, error: "must be an https:// URL" }),
    /** Base64-encoded PEM of the CA(s) that signed the API server's certificate; unset: system roots. */
    caBundle: z.base64().optional(),
    caProvider: z
      .strictObject({ type: z.enum(["Secret", "ConfigMap"]), name, key: name, namespace: name.optional() })
      .optional(),
  })
  .refine((s) => s.caBundle === undefined || s.caProvider === undefined, {
    message: "set at most one of caBundle and caProvider",
  });

const auth = z
  .strictObject({
    serviceAccount: z
      .strictObject({ name, namespace: name.optional(), audiences: z.array(name).optional() })
      .optional(),
    token: z.strictObject({ bearerToken: secretKeySelector }).optional(),
    cert: z.strictObject({ clientCert: secretKeySelector, clientKey: secretKeySelector }).optional(),
  })
  .refine((a) => Object.values(a).filter((method) => method !== undefined).length === 1, {
    message: "set exactly one of serviceAccount, token, cert",
  });

export const kubernetesSpecSchema = z
  .strictObject({
    remoteNamespace: name.optional(),
    server: server.optional(),
    auth: auth.optional(),
    authRef: secretKeySelector.optional(),
  })
  .refine((s) => s.authRef === undefined || (s.server === undefined && s.auth === undefined), {
    message: "set authRef or server/auth, not both (a kubeconfig names its own server and credentials)",
    path: ["authRef"],
  })
  // The controller's own credentials are for its own cluster only.
  .refine((s) => s.server === undefined || s.auth !== undefined, {
    message: "required with server",
    path: ["auth"],
  });

export type KubernetesProviderSpec = z.output<typeof kubernetesSpecSchema>;
/** Which cluster a store reads and as whom; all unset: the local cluster, as the controller. */
export type KubernetesConnection = Omit<KubernetesProviderSpec, "remoteNamespace">;
export type KubernetesSecretKeySelector = z.output<typeof secretKeySelector>;

/** Parses `spec.provider.kubernetes`; throws InvalidSpecError naming the fields. */
export function parseKubernetesSpec(spec: unknown): KubernetesProviderSpec {
  return parseProviderSpec(kubernetesSpecSchema, spec ?? {}, "kubernetes");
}
