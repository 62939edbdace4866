/**
 * A KubernetesSecretReader on @kubernetes/client-node, with the API's errors
 * mapped to the provider errors (404 → not found, 401/403 → denied, 429 →
 * throttled, anything else → unavailable). Messages name namespace and
 * Secret, never data.
 */
import { ApiException, CoreV1Api, KubeConfig } from "@kubernetes/client-node";
import {
  AccessDeniedError,
  BackendUnavailableError,
  SecretNotFoundError,
  ThrottledError,
  type RefsyncError,
} from "../../errors.ts";
import type { KubernetesSecretReader } from "../types.ts";

/** Kubeconfig from a file path, else $KUBECONFIG / ~/.kube/config, else the in-cluster service account. */
export function loadKubeConfig(path?: string): KubeConfig {
  const kc = new KubeConfig();
  if (path !== undefined) kc.loadFromFile(path);
  else kc.loadFromDefault();
  return kc;
}

function mapError(err: unknown, what: string): RefsyncError {
  if (err instanceof ApiException) {
    const code = (err as ApiException<unknown>).code;
    if (code === 404) return new SecretNotFoundError(`${what} not found`);
    if (code === 401 || code === 403) return new AccessDeniedError(`${what}: access denied (HTTP ${code})`);
    if (code === 429) {
      const retryAfter = Number((err as ApiException<unknown>).headers["retry-after"]);
      return new ThrottledError(`${what}: throttled`, Number.isFinite(retryAfter) ? retryAfter : undefined);
    }
    return new BackendUnavailableError(`${what}: Kubernetes API answered HTTP ${code}`);
  }
  return new BackendUnavailableError(`${what}: ${(err as Error).message}`, { cause: err });
}

export function kubernetesSecretReader(kc: KubeConfig): KubernetesSecretReader {
  const api = kc.makeApiClient(CoreV1Api);
  return {
    async readSecret(namespace, name, signal) {
      signal?.throwIfAborted();
      try {
        const secret = await api.readNamespacedSecret({ name, namespace });
        const data: Record<string, Uint8Array> = {};
        for (const [k, v] of Object.entries(secret.data ?? {}))
          data[k] = new Uint8Array(Buffer.from(v, "base64"));
        return {
          data,
          resourceVersion: secret.metadata?.resourceVersion,
          labels: secret.metadata?.labels ?? {},
        };
      } catch (err) {
        throw mapError(err, `Secret ${namespace}/${name}`);
      }
    },
    async listSecrets(namespace, labelSelector, signal) {
      signal?.throwIfAborted();
      try {
        const list = await api.listNamespacedSecret({ namespace, labelSelector });
        return list.items.map((s) => ({ name: s.metadata?.name ?? "", labels: s.metadata?.labels ?? {} }));
      } catch (err) {
        throw mapError(err, `Secrets in ${namespace}`);
      }
    },
  };
}
