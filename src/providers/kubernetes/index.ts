/**
 * The Kubernetes provider: reads Secrets of another namespace.
 *
 *   spec.provider.kubernetes:
 *     remoteNamespace: shared-secrets   # default: the namespace the store acts for
 *     auth:                             # optional: whose identity reads
 *       serviceAccount: { name: reader }
 *
 * A reference's key is the Secret's name and its property one key of the
 * Secret's data. Kubernetes keeps no versions: the version reported is the
 * Secret's resourceVersion (inline-mode freshness polls it), and a reference
 * pinned to a version is rejected. The provider reads through the narrow
 * `KubernetesSecretReader` it is given; `./client.ts` implements one on
 * @kubernetes/client-node, and whoever builds the context decides the
 * identity (see `kubernetesAuth`).
 */
import { z } from "zod";
import { BackendUnavailableError, InvalidSpecError } from "../errors.ts";
import { parseProviderSpec } from "../spec.ts";
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

const specSchema = z.object({
  remoteNamespace: z.string().min(1).optional(),
  auth: z
    .object({
      serviceAccount: z.object({ name: z.string().min(1), namespace: z.string().min(1).optional() }),
    })
    .optional(),
});

export type KubernetesProviderSpec = z.output<typeof specSchema>;

/** The service account whose identity a store asks to read with, for the builder of the reader. */
export function kubernetesAuth(spec: unknown): KubernetesProviderSpec["auth"] {
  return parseProviderSpec(specSchema, spec ?? {}, "kubernetes").auth;
}

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
  create(spec: unknown, context: ProviderContext): ProviderClient {
    const parsed = parseProviderSpec(specSchema, spec ?? {}, "kubernetes");
    const namespace = parsed.remoteNamespace ?? context.namespace;
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
    return new KubernetesClient(context.kubernetes, namespace, context.storeName);
  },
};
