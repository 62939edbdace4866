// Objects the AWS suites share: stores pointed at the test server, static
// keys kept in a real Secret, and a provider client on static keys.
import { CoreV1Api, type KubeConfig } from "@kubernetes/client-node";
import type { SecretStore } from "../../src/api/v1alpha1.ts";
import { awsProvider } from "../../src/providers/aws/index.ts";
import type { ProviderClient } from "../../src/providers/types.ts";
import type { AwsTestServer, Credentials } from "../servers/aws/index.ts";

/** `spec.provider.aws` (or a plugin store's `provider.aws`) reaching the test server, plus `extra`. */
export function awsProviderSpec(
  aws: AwsTestServer,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return { region: aws.region, endpoints: { secretsManager: aws.endpoint, sts: aws.endpoint }, ...extra };
}

/** The `auth` of static keys kept in Secret `name` (keys `id`, `secret`), in `namespace` when given. */
export function staticKeysRef(name: string, namespace?: string): Record<string, unknown> {
  const ref = (key: string) => ({ name, key, ...(namespace !== undefined && { namespace }) });
  return { secretRef: { accessKeyIDSecretRef: ref("id"), secretAccessKeySecretRef: ref("secret") } };
}

/** A SecretStore (namespace set) or ClusterSecretStore whose `spec.provider.aws` talks to the test server. */
export function awsStore(
  aws: AwsTestServer,
  metadata: { name: string; namespace?: string },
  provider: Record<string, unknown> = {},
): SecretStore {
  return {
    apiVersion: "refsync.dev/v1alpha1",
    kind: metadata.namespace ? "SecretStore" : "ClusterSecretStore",
    metadata: { ...metadata, generation: 1 },
    spec: {
      provider: { aws: awsProviderSpec(aws, provider) },
    },
  };
}

/** Stores `keys` in Secret `namespace/name` (keys `id`, `secret`); returns the matching `auth` of a store. */
export async function staticKeysAuth(
  kc: KubeConfig,
  namespace: string,
  name: string,
  keys: Credentials,
): Promise<Record<string, unknown>> {
  await kc.makeApiClient(CoreV1Api).createNamespacedSecret({
    namespace,
    body: { metadata: { name }, stringData: { id: keys.accessKeyId, secret: keys.secretAccessKey } },
  });
  return staticKeysRef(name);
}

/** The store the provider tests' clients belong to. */
export const TEST_STORE = "SecretStore/team-a/aws";

/**
 * A provider client of TEST_STORE on the test server (`spec` added to its `spec.provider.aws`),
 * signing with `keys` as if read from Secret `aws` (keys `id`, `secret`).
 */
export function staticKeysClient(
  aws: AwsTestServer,
  keys: Credentials,
  spec: Record<string, unknown> = {},
): ProviderClient {
  const values: Record<string, string> = { id: keys.accessKeyId, secret: keys.secretAccessKey };
  return awsProvider.create(awsProviderSpec(aws, { auth: staticKeysRef("aws"), ...spec }), {
    storeName: TEST_STORE,
    namespace: "team-a",
    readCredential: (ref) => Promise.resolve(values[ref.key] ?? ""),
  });
}
