/**
 * A KubernetesSecretReader on refsync's Kubernetes transport (kube/client.ts:
 * one keep-alive agent, requests that time out, the one error mapping: 404 →
 * not found, 401/403 → denied, 429 → throttled, anything else → unavailable).
 * Messages name namespace and Secret, never data.
 */
import { KubeConfig } from "@kubernetes/client-node";
import { SecretNotFoundError } from "../../errors.ts";
import { KubeClient, kubeError } from "../../kube/client.ts";
import { resourceTypes } from "../../kube/resources.ts";
import type { KubernetesSecretReader } from "../types.ts";

/** Kubeconfig from a file path, else $KUBECONFIG / ~/.kube/config, else the in-cluster service account. */
export function loadKubeConfig(path?: string): KubeConfig {
  const kc = new KubeConfig();
  if (path !== undefined) kc.loadFromFile(path);
  else kc.loadFromDefault();
  return kc;
}

/** What the reader needs of a KubeClient. */
export type SecretReaderClient = Pick<KubeClient, "get" | "list">;

interface SecretObject {
  metadata: {
    name: string;
    resourceVersion?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  data?: Record<string, string>;
}

/** Reads Secrets through `client` (the controller's own, or one for another cluster or identity). */
export function secretReader(
  client: SecretReaderClient | Promise<SecretReaderClient>,
): KubernetesSecretReader {
  return {
    async readSecret(namespace, name, signal) {
      signal?.throwIfAborted();
      const what = `Secret ${namespace}/${name}`;
      let secret: SecretObject | undefined;
      try {
        secret = await (await client).get<SecretObject>(resourceTypes.secret, namespace, name, signal);
      } catch (err) {
        throw kubeError(err, what);
      }
      if (!secret) throw new SecretNotFoundError(`${what} not found`);
      const data: Record<string, Uint8Array> = {};
      for (const [k, v] of Object.entries(secret.data ?? {}))
        data[k] = new Uint8Array(Buffer.from(v, "base64"));
      const { labels, annotations } = secret.metadata;
      return {
        data,
        resourceVersion: secret.metadata.resourceVersion,
        labels: labels ?? {},
        metadata: { ...(labels && { labels }), ...(annotations && { annotations }) },
      };
    },
    async listSecrets(namespace, labelSelector, signal) {
      signal?.throwIfAborted();
      try {
        const list = await (
          await client
        ).list<SecretObject>(resourceTypes.secret, { namespace, labelSelector, signal });
        return list.items.map((s) => ({ name: s.metadata.name, labels: s.metadata.labels ?? {} }));
      } catch (err) {
        throw kubeError(err, `Secrets in ${namespace}`);
      }
    },
  };
}

/**
 * A reader with a client of its own for `kc` (the plugin's kubeconfig, or a
 * store's cluster and identity); `close` frees its connections.
 */
export function kubernetesSecretReader(kc: KubeConfig): KubernetesSecretReader & { close(): void } {
  const client = KubeClient.fromKubeConfig(kc);
  // A kubeconfig that fails here fails the first read instead, as a typed error.
  client.catch(() => undefined);
  return {
    ...secretReader(client),
    close() {
      void client.then((c) => c.close()).catch(() => undefined);
    },
  };
}
