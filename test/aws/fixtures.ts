// Objects the AWS suites share: stores pointed at the test server, static
// keys kept in a real Secret, and a provider client on static keys.
import { CoreV1Api, type KubeConfig } from "@kubernetes/client-node";
import type { SecretStore } from "../../src/api/v1alpha1.ts";
import { awsProvider } from "../../src/providers/aws/index.ts";
import type { ProviderClient } from "../../src/providers/types.ts";
import type { AwsTestServer, Credentials } from "../servers/aws/index.ts";

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
      provider: {
        aws: {
          region: aws.region,
          endpoints: { secretsManager: aws.endpoint, sts: aws.endpoint },
          ...provider,
        },
      },
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
  return {
    secretRef: {
      accessKeyIDSecretRef: { name, key: "id" },
      secretAccessKeySecretRef: { name, key: "secret" },
    },
  };
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
  return awsProvider.create(
    {
      region: aws.region,
      endpoints: { secretsManager: aws.endpoint, sts: aws.endpoint },
      auth: {
        secretRef: {
          accessKeyIDSecretRef: { name: "aws", key: "id" },
          secretAccessKeySecretRef: { name: "aws", key: "secret" },
        },
      },
      ...spec,
    },
    {
      storeName: TEST_STORE,
      namespace: "team-a",
      readCredential: (ref) => Promise.resolve(values[ref.key] ?? ""),
    },
  );
}
