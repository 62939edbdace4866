/**
 * A provider client for a store of the plugin configuration (refsync.yaml),
 * as inline rendering and `refsync migrate` use it: credentials in
 * Kubernetes Secrets, and the k8s provider's reads, go through a reader that
 * is built on first use.
 */
import { InvalidSpecError } from "../errors.ts";
import { createProviderClient, providerForSpec } from "../providers/registry.ts";
import {
  auditedClient,
  currentSubjects,
  noteRequest,
  type AuditSubject,
  type Auditor,
} from "../store/audit.ts";
import type { KubernetesConnection } from "../providers/kubernetes/spec.ts";
import type { KubernetesSecretReader, ProviderClient } from "../providers/types.ts";
import type { PluginConfig } from "./config.ts";

export function storeClient(
  config: PluginConfig,
  store: string,
  kubernetes?: () => Promise<KubernetesSecretReader>,
  /** Audit records of the client's backend calls, naming whom they serve. */
  audit?: { auditor: Auditor; subjects: readonly AuditSubject[] },
): ProviderClient {
  const spec = config.stores[store]?.provider;
  if (!spec) throw new InvalidSpecError(`store "${store}" is not defined in the configuration's stores`);
  const client = createProviderClient(spec, {
    storeName: `store "${store}"`,
    ...(audit && {
      noteRequest,
      subject: currentSubjects,
      onCall: (operation, result, seconds, detail) =>
        audit.auditor.recordCall(
          { store, provider: providerForSpec(spec).factory.name, operation, result, seconds },
          detail,
        ),
    }),
    readCredential: async (ref, signal) => {
      if (!kubernetes || ref.namespace === undefined) {
        throw new InvalidSpecError(`store "${store}": a credential Secret reference needs a namespace`);
      }
      const secret = await (await kubernetes()).readSecret(ref.namespace, ref.name, signal);
      const bytes = secret.data[ref.key];
      if (!bytes)
        throw new InvalidSpecError(
          `store "${store}": key "${ref.key}" missing in Secret ${ref.namespace}/${ref.name}`,
        );
      return Buffer.from(bytes).toString("utf8");
    },
    ...(kubernetes ? { kubernetes: (connection) => pluginReader(store, connection, kubernetes) } : {}),
  });
  return audit ? auditedClient(client, audit.auditor, store, audit.subjects) : client;
}

/** The plugin reads with its own kubeconfig only: a store that names another cluster or identity is refused. */
function pluginReader(
  store: string,
  connection: KubernetesConnection,
  make: () => Promise<KubernetesSecretReader>,
): KubernetesSecretReader {
  const named = (["server", "auth", "authRef"] as const).filter((field) => connection[field] !== undefined);
  if (named.length) {
    throw new InvalidSpecError(
      `store "${store}": ${named.map((f) => `spec.provider.kubernetes.${f}`).join(", ")}: not supported by the plugin, which reads with its own kubeconfig`,
    );
  }
  return lazyReader(make);
}

function lazyReader(make: () => Promise<KubernetesSecretReader>): KubernetesSecretReader {
  return {
    readSecret: async (namespace, name, signal) => (await make()).readSecret(namespace, name, signal),
    listSecrets: async (namespace, selector, signal) =>
      (await make()).listSecrets(namespace, selector, signal),
  };
}
