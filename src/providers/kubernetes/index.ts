/**
 * The Kubernetes provider: reads Secrets of another namespace, of this
 * cluster or of another one (spec: `./spec.ts`).
 *
 * A reference's key is the Secret's name and its property one key of the
 * Secret's data. Kubernetes keeps no versions: the version reported is the
 * Secret's resourceVersion (inline-mode freshness polls it), and a reference
 * pinned to a version is rejected. The provider reads through the narrow
 * `KubernetesSecretReader` that the context builds for the store's cluster
 * and identity (`server`, `auth`, `authRef`); `./client.ts` implements one on
 * refsync's Kubernetes transport (kube/client.ts).
 */
import { BackendUnavailableError, InvalidSpecError } from "../../errors.ts";
import type {
  FindQuery,
  KubernetesSecretReader,
  ProviderClient,
  ProviderContext,
  ProviderFactory,
  ReadRequest,
  SecretValue,
  ValidationResult,
} from "../types.ts";
import { kubernetesSpecSchema, parseKubernetesSpec } from "./spec.ts";
import { goMetadataJson } from "../extract.ts";

class KubernetesClient implements ProviderClient {
  readonly provider = "k8s" as const;
  readonly #reader: KubernetesSecretReader;
  readonly #namespace: string;
  readonly #store: string;

  constructor(reader: KubernetesSecretReader, namespace: string, store: string) {
    this.#reader = reader;
    this.#namespace = namespace;
    this.#store = store;
  }

  #checkUnversioned(request: ReadRequest): void {
    if (request.version !== undefined) {
      throw new InvalidSpecError(
        `${this.#store}: key "${request.key}": Kubernetes Secrets have no versions; remove version "${request.version}"`,
      );
    }
  }

  async read(request: ReadRequest, signal?: AbortSignal): Promise<SecretValue> {
    this.#checkUnversioned(request);
    const secret = await this.#reader.readSecret(this.#namespace, request.key, signal);
    if (request.metadata) {
      // ESO: the JSON of {annotations, labels} (null when the Secret has none), without HTML escapes.
      const { labels = null, annotations = null } = secret.metadata ?? {};
      return {
        data: goMetadataJson({ annotations, labels }, false),
        version: secret.resourceVersion,
        metadata: { shape: "labels", escapeHtml: false },
      };
    }
    return { data: secret.data, version: secret.resourceVersion };
  }

  async list(query: FindQuery, signal?: AbortSignal): Promise<string[]> {
    const selector = Object.entries(query.tags ?? {})
      .map(([k, v]) => `${k}=${v}`)
      .join(",");
    const secrets = await this.#reader.listSecrets(this.#namespace, selector || undefined, signal);
    const name = query.name ? new RegExp(query.name.regexp) : undefined;
    return secrets
      .map((s) => s.name)
      .filter((n) => (query.path === undefined || n.startsWith(query.path)) && (!name || name.test(n)))
      .sort();
  }

  async currentVersion(request: ReadRequest, signal?: AbortSignal): Promise<string | undefined> {
    this.#checkUnversioned(request);
    return (await this.#reader.readSecret(this.#namespace, request.key, signal)).resourceVersion;
  }

  async validate(signal?: AbortSignal): Promise<ValidationResult> {
    try {
      await this.#reader.listSecrets(this.#namespace, undefined, signal);
      return { status: "Ready" };
    } catch (err) {
      // A spec the reader refuses (e.g. authRef's kubeconfig) is the store's InvalidSpec, not a failed check.
      if (err instanceof InvalidSpecError) throw err;
      return { status: "Error", message: `${this.#store}: ${(err as Error).message}` };
    }
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

export const kubernetesProvider: ProviderFactory = {
  name: "k8s",
  specKey: "kubernetes",
  specSchema: kubernetesSpecSchema,
  create(spec: unknown, context: ProviderContext): ProviderClient {
    const { remoteNamespace, ...connection } = parseKubernetesSpec(spec);
    const namespace = remoteNamespace ?? context.namespace;
    if (namespace === undefined) {
      throw new InvalidSpecError(
        "spec.provider.kubernetes.remoteNamespace: required for a store without a namespace",
      );
    }
    if (!context.kubernetes) {
      throw new BackendUnavailableError(
        `${context.storeName}: no Kubernetes client available to read Secrets`,
      );
    }
    return new KubernetesClient(context.kubernetes(connection), namespace, context.storeName);
  },
};
