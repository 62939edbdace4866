/**
 * The ProviderContext the controller hands to providers: credentials from
 * Secrets, CA bundles from ConfigMaps, service-account tokens through the
 * TokenRequest API, service account annotations, call metrics, and a Secret
 * reader for the Kubernetes provider (this cluster or the one its store
 * names). A namespaced SecretStore reaches only
 * its own namespace; a ClusterSecretStore acts for the ExternalSecret's
 * namespace unless a reference names another one (a ConfigMap's must be named).
 */
import { KubeConfig, type User } from "@kubernetes/client-node";
import type { SecretStore } from "../../api/v1alpha1.ts";
import { kubeError, REQUEST_TIMEOUT_MS, type KubeClient } from "../../kube/client.ts";
import type { ResourceType } from "../../kube/resources.ts";
import { resourceTypes } from "../../kube/resources.ts";
import { AccessDeniedError, InvalidSpecError, SecretNotFoundError } from "../../errors.ts";
import { kubernetesSecretReader, secretReader } from "../../providers/kubernetes/client.ts";
import { kubeConfigFromSecret } from "../../providers/kubernetes/kubeconfig.ts";
import type { KubernetesConnection } from "../../providers/kubernetes/spec.ts";
import type { CallResult, KubernetesSecretReader, ProviderContext } from "../../providers/types.ts";
import { currentSubjects, noteRequest, type Auditor } from "../../store/audit.ts";
import { storeId } from "./resolve.ts";

export interface ContextDeps {
  kube: KubeClient;
  /** The controller's own kubeconfig (cluster address and CA for per-identity clients). */
  kc: KubeConfig;
  onCall(provider: string, store: string, call: string, result: CallResult, seconds: number): void;
  /** Audit records of the calls providers report themselves (logins, AWS requests). */
  audit?: Auditor;
}

const TOKEN_SECONDS = 600;

/** `id` names the store in messages and metrics (default: storeId); a generator names itself. */
export function buildProviderContext(
  deps: ContextDeps,
  store: Pick<SecretStore, "kind" | "metadata">,
  actingNamespace: string | undefined,
  provider: string,
  id = storeId(store),
): ProviderContext {
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
            spec: {
              audiences: ref.audiences ?? [],
              expirationSeconds: ref.expirationSeconds ?? TOKEN_SECONDS,
            },
          },
          signal,
        },
      )
      .catch((err: unknown) => {
        throw kubeError(err, `${id}: ServiceAccount ${namespace}/${ref.name} token`);
      });
    return res.status.token;
  };

  const readCredential: ProviderContext["readCredential"] = async (ref, signal) => {
    const namespace = namespaceFor(ref.namespace, "secretRef");
    const what = `${id}: credentials Secret ${namespace}/${ref.name}`;
    const value = await readKey(deps.kube, resourceTypes.secret, namespace, ref, what, signal);
    return Buffer.from(value, "base64").toString("utf8");
  };
  const readConfigMap: NonNullable<ProviderContext["readConfigMap"]> = (ref, signal) => {
    // Not the ExternalSecret's namespace: trust in the backend is the store's, not a tenant's.
    const namespace = namespaceFor(ref.namespace, ref.field, false);
    const what = `${id}: ${ref.field}: ConfigMap ${namespace}/${ref.name}`;
    return readKey(deps.kube, resourceTypes.configMap, namespace, ref, what, signal);
  };

  return {
    storeName: id,
    namespace: clusterScoped ? actingNamespace : store.metadata.namespace,
    readCredential,
    readConfigMap,
    requestServiceAccountToken,
    async serviceAccountAnnotations(ref, signal) {
      const namespace = namespaceFor(ref.namespace, "serviceAccountRef");
      const sa = await deps.kube
        .get<{
          metadata: { annotations?: Record<string, string> };
        }>(resourceTypes.serviceAccount, namespace, ref.name, signal)
        .catch((err: unknown) => {
          throw kubeError(err, `${id}: ServiceAccount ${namespace}/${ref.name}`);
        });
      if (!sa) throw new SecretNotFoundError(`${id}: ServiceAccount ${namespace}/${ref.name} not found`);
      return sa.metadata.annotations ?? {};
    },
    onCall(call, result, seconds, detail) {
      deps.onCall(provider, id, call, result, seconds);
      deps.audit?.recordCall({ store: id, provider, operation: call, result, seconds }, detail);
    },
    noteRequest,
    subject: currentSubjects,
    kubernetes: (connection) =>
      kubernetesReader(deps, store, connection, {
        readCredential,
        readConfigMap,
        requestServiceAccountToken,
      }),
  };
}

type CredentialSources = Pick<ProviderContext, "readCredential"> &
  Required<Pick<ProviderContext, "readConfigMap" | "requestServiceAccountToken">>;

/**
 * The Kubernetes provider's reader. Without `server`, `auth` and `authRef` it
 * reads as the controller, but then a SecretStore only in its own namespace.
 * Otherwise as the identity the store names (a service account's token via
 * TokenRequest, a bearer token or client certificate kept in Secrets, or a
 * kubeconfig in a Secret) on the cluster it names (default: this one), so
 * RBAC there decides. Credentials are read again every few minutes, so
 * rotated ones and service-account tokens are taken up before they expire.
 */
function kubernetesReader(
  deps: ContextDeps,
  store: Pick<SecretStore, "kind" | "metadata">,
  connection: KubernetesConnection,
  sources: CredentialSources,
): KubernetesSecretReader {
  if (!connection.server && !connection.auth && !connection.authRef) {
    // As the controller: its own client, connections and metrics.
    const reader = secretReader(deps.kube);
    const guard = (namespace: string) => {
      if (store.kind === "SecretStore" && namespace !== store.metadata.namespace) {
        throw new AccessDeniedError(
          `reading namespace "${namespace}" needs auth.serviceAccount, auth.token or auth.cert (without one a SecretStore reads only its own namespace)`,
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
  let cached: { reader: ReturnType<typeof kubernetesSecretReader>; at: number } | undefined;
  const current = async (signal?: AbortSignal): Promise<KubernetesSecretReader> => {
    if (cached && Date.now() - cached.at < (TOKEN_SECONDS / 2) * 1000) return cached.reader;
    const kc = await connectionKubeConfig(deps.kc, storeId(store), connection, sources, signal);
    const previous = cached?.reader;
    cached = { reader: kubernetesSecretReader(kc), at: Date.now() };
    // Reads still in flight on the old credentials finish (or time out) first.
    if (previous) setTimeout(() => previous.close(), REQUEST_TIMEOUT_MS).unref();
    return cached.reader;
  };
  return {
    readSecret: async (namespace, name, signal) =>
      (await current(signal)).readSecret(namespace, name, signal),
    listSecrets: async (namespace, selector, signal) =>
      (await current(signal)).listSecrets(namespace, selector, signal),
  };
}

/** A KubeConfig for the cluster and identity of `connection` (which sets at least one field). */
async function connectionKubeConfig(
  local: KubeConfig,
  id: string,
  connection: KubernetesConnection,
  sources: CredentialSources,
  signal?: AbortSignal,
): Promise<KubeConfig> {
  const { server, auth, authRef } = connection;
  if (authRef) {
    const text = await sources.readCredential(authRef, signal);
    return kubeConfigFromSecret(text, `${id}: spec.provider.kubernetes.authRef: Secret ${authRef.name}`);
  }
  // The spec schema requires auth with server or without authRef.
  if (!auth) throw new InvalidSpecError(`${id}: spec.provider.kubernetes.auth: required`);
  let cluster = local.getCurrentCluster();
  if (server) {
    const ca = server.caProvider ? await caFromProvider(server.caProvider, sources, signal) : server.caBundle;
    cluster = { name: "remote", server: server.url, caData: ca, skipTLSVerify: false };
  }
  if (!cluster) throw new Error("kubeconfig has no current cluster");
  const user = { name: "store", ...(await credentials(auth, sources, signal)) };
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [cluster],
    users: [user],
    contexts: [{ name: "store", cluster: cluster.name, user: user.name }],
    currentContext: "store",
  });
  return kc;
}

/** The token or client certificate (base64 PEM, as in a kubeconfig) of the one method `auth` sets. */
async function credentials(
  auth: NonNullable<KubernetesConnection["auth"]>,
  sources: CredentialSources,
  signal?: AbortSignal,
): Promise<Pick<User, "token" | "certData" | "keyData">> {
  if (auth.serviceAccount)
    return { token: await sources.requestServiceAccountToken(auth.serviceAccount, signal) };
  if (auth.token) return { token: (await sources.readCredential(auth.token.bearerToken, signal)).trim() };
  if (!auth.cert)
    throw new InvalidSpecError(
      "spec.provider.kubernetes.auth: set exactly one of serviceAccount, token, cert",
    );
  const [cert, key] = await Promise.all([
    sources.readCredential(auth.cert.clientCert, signal),
    sources.readCredential(auth.cert.clientKey, signal),
  ]);
  return { certData: Buffer.from(cert).toString("base64"), keyData: Buffer.from(key).toString("base64") };
}

/** Base64 PEM of the CA bundle in the Secret or ConfigMap `server.caProvider` names. */
async function caFromProvider(
  caProvider: NonNullable<NonNullable<KubernetesConnection["server"]>["caProvider"]>,
  sources: CredentialSources,
  signal?: AbortSignal,
): Promise<string> {
  const { type, ...ref } = caProvider;
  const pem =
    type === "Secret"
      ? await sources.readCredential(ref, signal)
      : await sources.readConfigMap({ ...ref, field: "server.caProvider" }, signal);
  return Buffer.from(pem).toString("base64");
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
      throw kubeError(err, what);
    });
  if (!object) throw new SecretNotFoundError(`${what} not found`);
  const value = object.data?.[ref.key];
  if (value === undefined) throw new SecretNotFoundError(`${what} has no key "${ref.key}"`);
  return value;
}
