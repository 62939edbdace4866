/**
 * The ProviderContext the controller hands to providers: credentials from
 * Secrets, CA bundles from ConfigMaps, service-account tokens through the
 * TokenRequest API, service account annotations, call metrics, and a Secret
 * reader for the Kubernetes provider. A namespaced SecretStore reaches only
 * its own namespace; a ClusterSecretStore acts for the ExternalSecret's
 * namespace unless a reference names another one (a ConfigMap's must be named).
 */
import { KubeConfig } from "@kubernetes/client-node";
import type { SecretStore } from "../api/v1alpha1.ts";
import { configMapType } from "../controller/freshness/checker.ts";
import type { KubeClient, ResourceType } from "../controller/kube/client.ts";
import { resourceTypes } from "../controller/kube/client.ts";
import { AccessDeniedError, InvalidSpecError, SecretNotFoundError } from "../providers/errors.ts";
import { kubernetesSecretReader } from "../providers/kubernetes/client.ts";
import type { CallResult, KubernetesSecretReader, ProviderContext } from "../providers/types.ts";
import { storeId } from "./resolve.ts";

export interface ContextDeps {
  kube: KubeClient;
  /** The controller's own kubeconfig (cluster address and CA for per-identity clients). */
  kc: KubeConfig;
  onCall(provider: string, store: string, call: string, result: CallResult, seconds: number): void;
}

const TOKEN_SECONDS = 600;

export function buildProviderContext(
  deps: ContextDeps,
  store: SecretStore,
  actingNamespace: string | undefined,
  provider: string,
): ProviderContext {
  const id = storeId(store);
  const clusterScoped = store.kind === "ClusterSecretStore";
  /**
   * The namespace a reference may use: a SecretStore's own, always; for a ClusterSecretStore the
   * one it names, else (`orActing`) the ExternalSecret's.
   */
  const namespaceFor = (requested: string | undefined, field: string, orActing = true): string => {
    if (!clusterScoped) {
      const own = store.metadata.namespace as string;
      if (requested !== undefined && requested !== own) {
        throw new AccessDeniedError(
          `${id}: ${field} may not name namespace "${requested}" (a SecretStore reaches only its own)`,
        );
      }
      return own;
    }
    const ns = requested ?? (orActing ? actingNamespace : undefined);
    if (!ns) throw new InvalidSpecError(`${id}: ${field}.namespace is required for a ClusterSecretStore`);
    return ns;
  };

  const requestServiceAccountToken: NonNullable<ProviderContext["requestServiceAccountToken"]> = async (
    ref,
    signal,
  ) => {
    const namespace = namespaceFor(ref.namespace, "serviceAccountRef");
    const res = await deps.kube
      .request<{ status: { token: string } }>(
        "POST",
        deps.kube.path(resourceTypes.serviceAccount, namespace, ref.name, "token"),
        {
          body: {
            apiVersion: "authentication.k8s.io/v1",
            kind: "TokenRequest",
            spec: { audiences: ref.audiences ?? [], expirationSeconds: TOKEN_SECONDS },
          },
          signal,
        },
      )
      .catch((err: unknown) => {
        throw mapKubeError(err, `${id}: ServiceAccount ${namespace}/${ref.name} token`);
      });
    return res.status.token;
  };

  return {
    storeName: id,
    namespace: clusterScoped ? actingNamespace : store.metadata.namespace,
    async readCredential(ref, signal) {
      const namespace = namespaceFor(ref.namespace, "secretRef");
      const what = `${id}: credentials Secret ${namespace}/${ref.name}`;
      const value = await readKey(deps.kube, resourceTypes.secret, namespace, ref, what, signal);
      return Buffer.from(value, "base64").toString("utf8");
    },
    async readConfigMap(ref, signal) {
      // Not the ExternalSecret's namespace: trust in the backend is the store's, not a tenant's.
      const namespace = namespaceFor(ref.namespace, ref.field, false);
      const what = `${id}: ${ref.field}: ConfigMap ${namespace}/${ref.name}`;
      return readKey(deps.kube, configMapType, namespace, ref, what, signal);
    },
    requestServiceAccountToken,
    async serviceAccountAnnotations(ref, signal) {
      const namespace = namespaceFor(ref.namespace, "serviceAccountRef");
      const sa = await deps.kube
        .get<{
          metadata: { annotations?: Record<string, string> };
        }>(resourceTypes.serviceAccount, namespace, ref.name, signal)
        .catch((err: unknown) => {
          throw mapKubeError(err, `${id}: ServiceAccount ${namespace}/${ref.name}`);
        });
      if (!sa) throw new SecretNotFoundError(`${id}: ServiceAccount ${namespace}/${ref.name} not found`);
      return sa.metadata.annotations ?? {};
    },
    onCall(call, result, seconds) {
      deps.onCall(provider, id, call, result, seconds);
    },
    kubernetes: kubernetesReaderFor(deps, store, id, namespaceFor, requestServiceAccountToken),
  };
}

/**
 * The Kubernetes provider reads as the service account its store names
 * (`auth.serviceAccount`, token via TokenRequest, so RBAC decides), or
 * without one as the controller but then only in the store's own namespace.
 */
function kubernetesReaderFor(
  deps: ContextDeps,
  store: SecretStore,
  id: string,
  namespaceFor: (requested: string | undefined, field: string) => string,
  requestToken: NonNullable<ProviderContext["requestServiceAccountToken"]>,
): KubernetesSecretReader | undefined {
  const spec = store.spec.provider.kubernetes as
    | { auth?: { serviceAccount?: { name: string; namespace?: string } } }
    | undefined;
  if (!spec) return undefined;
  const sa = spec.auth?.serviceAccount;
  if (!sa) {
    const reader = kubernetesSecretReader(deps.kc);
    const guard = (namespace: string) => {
      if (store.kind === "SecretStore" && namespace !== store.metadata.namespace) {
        throw new AccessDeniedError(
          `reading namespace "${namespace}" needs auth.serviceAccount (without it a SecretStore reads only its own namespace)`,
        );
      }
    };
    return {
      readSecret: (namespace, name, signal) => (guard(namespace), reader.readSecret(namespace, name, signal)),
      listSecrets: (namespace, selector, signal) => (
        guard(namespace),
        reader.listSecrets(namespace, selector, signal)
      ),
    };
  }
  let cached: { reader: KubernetesSecretReader; at: number } | undefined;
  const readerAs = async (signal?: AbortSignal): Promise<KubernetesSecretReader> => {
    if (cached && Date.now() - cached.at < (TOKEN_SECONDS / 2) * 1000) return cached.reader;
    const token = await requestToken(
      { name: sa.name, namespace: namespaceFor(sa.namespace, "auth.serviceAccount") },
      signal,
    );
    const cluster = deps.kc.getCurrentCluster();
    if (!cluster) throw new Error("kubeconfig has no current cluster");
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [cluster],
      users: [{ name: "sa", token }],
      contexts: [{ name: "sa", cluster: cluster.name, user: "sa" }],
      currentContext: "sa",
    });
    cached = { reader: kubernetesSecretReader(kc), at: Date.now() };
    return cached.reader;
  };
  return {
    readSecret: async (namespace, name, signal) =>
      (await readerAs(signal)).readSecret(namespace, name, signal),
    listSecrets: async (namespace, selector, signal) =>
      (await readerAs(signal)).listSecrets(namespace, selector, signal),
  };
}

/** `data[key]` of a Secret (base64) or ConfigMap; `what` names the object in errors. */
async function readKey(
  kube: KubeClient,
  type: ResourceType,
  namespace: string,
  ref: { name: string; key: string },
  what: string,
  signal?: AbortSignal,
): Promise<string> {
  const object = await kube
    .get<{ data?: Record<string, string> }>(type, namespace, ref.name, signal)
    .catch((err: unknown) => {
      throw mapKubeError(err, what);
    });
  if (!object) throw new SecretNotFoundError(`${what} not found`);
  const value = object.data?.[ref.key];
  if (value === undefined) throw new SecretNotFoundError(`${what} has no key "${ref.key}"`);
  return value;
}

function mapKubeError(err: unknown, what: string): Error {
  const status = (err as { status?: number }).status;
  if (status === 401 || status === 403)
    return new AccessDeniedError(`${what}: access denied (HTTP ${status})`);
  if (status === 404) return new SecretNotFoundError(`${what} not found`);
  return err as Error;
}
