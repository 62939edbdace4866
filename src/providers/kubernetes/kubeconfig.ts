/**
 * A kubeconfig kept in a Secret (`spec.provider.kubernetes.authRef`), read
 * strictly: its current context's server (https), CA and either a token or a
 * client certificate, all inline. Anything else is refused rather than
 * ignored, and above all what would make the controller run a command (`exec`,
 * `auth-provider`) or read its own files (`tokenFile`, `certificate-authority`,
 * `client-key`: the controller's service-account token is a file too).
 */
import { KubeConfig } from "@kubernetes/client-node";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { describeIssues } from "../../api/validate.ts";
import { InvalidSpecError } from "../../errors.ts";

const name = z.string().min(1);

const kubeconfigSchema = z.strictObject({
  apiVersion: z.literal("v1").optional(),
  kind: z.literal("Config").optional(),
  /** kubectl writes `preferences: {}`. */
  preferences: z.strictObject({}).optional(),
  "current-context": name,
  clusters: z.array(
    z.strictObject({
      name,
      cluster: z.strictObject({
        server: z.url({ protocol: /^https$/, error: "must be an https:// URL" }),
        "certificate-authority-data": z.base64().optional(),
      }),
    }),
  ),
  contexts: z.array(
    z.strictObject({
      name,
      // No namespace: remoteNamespace says where to read.
      context: z.strictObject({ cluster: name, user: name }),
    }),
  ),
  users: z.array(
    z.strictObject({
      name,
      user: z
        .strictObject({
          token: name.optional(),
          "client-certificate-data": z.base64().optional(),
          "client-key-data": z.base64().optional(),
        })
        .refine(
          (u) =>
            (u.token !== undefined) !==
            (u["client-certificate-data"] !== undefined && u["client-key-data"] !== undefined),
          "set token, or client-certificate-data and client-key-data",
        ),
    }),
  ),
});

/**
 * The KubeConfig of `text`; `what` names the Secret in errors (`spec.provider.kubernetes.authRef:
 * Secret ns/name`), which never quote the kubeconfig.
 */
export function kubeConfigFromSecret(text: string, what: string): KubeConfig {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch {
    throw new InvalidSpecError(`${what}: not a kubeconfig (invalid YAML)`);
  }
  const result = kubeconfigSchema.safeParse(doc);
  if (!result.success) {
    throw new InvalidSpecError(
      `${what}: only an inline https server, CA, token or client certificate are supported: ${describeIssues(result.error, "kubeconfig")}`,
    );
  }
  const config = result.data;
  const context = config.contexts.find((c) => c.name === config["current-context"])?.context;
  const cluster = config.clusters.find((c) => c.name === context?.cluster)?.cluster;
  const user = config.users.find((u) => u.name === context?.user)?.user;
  if (!context || !cluster || !user) {
    throw new InvalidSpecError(
      `${what}: kubeconfig: current-context "${config["current-context"]}" or its cluster or user is missing`,
    );
  }
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [
      {
        name: "authRef",
        server: cluster.server,
        caData: cluster["certificate-authority-data"],
        skipTLSVerify: false,
      },
    ],
    users: [
      {
        name: "authRef",
        token: user.token,
        certData: user["client-certificate-data"],
        keyData: user["client-key-data"],
      },
    ],
    contexts: [{ name: "authRef", cluster: "authRef", user: "authRef" }],
    currentContext: "authRef",
  });
  return kc;
}
