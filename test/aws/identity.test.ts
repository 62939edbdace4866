// AWS provider identities on the real API server: per-namespace web identity
// through serviceAccountRef (TokenRequest → AssumeRoleWithWebIdentity, the
// test STS verifying the token with the real TokenReview API), IRSA through
// the SDK's default chain, and static keys from a real Secret. The
// ProviderContext is the controller's own (src/store/context.ts).
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { CoreV1Api } from "@kubernetes/client-node";
import type { SecretStore } from "../../src/api/v1alpha1.ts";
import { awsStore, staticKeysAuth } from "./fixtures.ts";
import { KubeClient } from "../../src/kube/client.ts";
import { AccessDeniedError } from "../../src/errors.ts";
import { createProviderClient } from "../../src/providers/registry.ts";
import type { ProviderClient } from "../../src/providers/types.ts";
import { buildProviderContext } from "../../src/controller/secretstore/provider-context.ts";
import { startCluster, type Cluster } from "../cluster/index.ts";
import { startAwsServer, STS_AUDIENCE, type AwsTestServer } from "../servers/aws/index.ts";
import { kubeTokenReviewer } from "../servers/aws/token-review.ts";

let cluster: Cluster;
let kube: KubeClient;
let core: CoreV1Api;
let aws: AwsTestServer;
let nsA: string;
let nsB: string;
let roleA: string;
let roleB: string;
const clients: ProviderClient[] = [];

before(async () => {
  cluster = await startCluster({ crds: true });
  kube = await KubeClient.fromKubeConfig(cluster.kc);
  core = cluster.kc.makeApiClient(CoreV1Api);
  aws = await startAwsServer({ reviewToken: kubeTokenReviewer(cluster.kc) });
  [nsA, nsB] = await Promise.all([cluster.createNamespace("aws-a"), cluster.createNamespace("aws-b")]);
  roleA = aws.addRole({ name: "reader-a", read: [`${nsA}/*`], serviceAccounts: [`${nsA}/app`] });
  roleB = aws.addRole({ name: "reader-b", read: [`${nsB}/*`], serviceAccounts: [`${nsB}/app`] });
  aws.putSecret(`${nsA}/db`, JSON.stringify({ password: "a-password" }));
  aws.putSecret(`${nsB}/db`, JSON.stringify({ password: "b-password" }));
  for (const [namespace, role] of [
    [nsA, roleA],
    [nsB, roleB],
  ] as const) {
    await core.createNamespacedServiceAccount({
      namespace,
      body: { metadata: { name: "app", annotations: { "eks.amazonaws.com/role-arn": role } } },
    });
  }
});

after(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await aws?.close();
  await cluster?.stop();
});

function clientFor(secretStore: SecretStore, actingNamespace?: string): ProviderClient {
  const context = buildProviderContext(
    { kube, kc: cluster.kc, onCall: () => {} },
    secretStore,
    actingNamespace,
    "awssecrets",
  );
  const client = createProviderClient(secretStore.spec.provider, context);
  clients.push(client);
  return client;
}

const password = async (client: ProviderClient, key: string) =>
  (JSON.parse((await client.read({ key })).data as string) as { password: string }).password;

void test("ClusterSecretStore with jwt.serviceAccountRef: each namespace reads only its own secrets", async () => {
  const shared = awsStore(
    aws,
    { name: "aws" },
    {
      auth: { jwt: { serviceAccountRef: { name: "app" } } },
    },
  );
  const asA = clientFor(shared, nsA);
  const asB = clientFor(shared, nsB);
  assert.equal(await password(asA, `${nsA}/db`), "a-password");
  assert.equal(await password(asB, `${nsB}/db`), "b-password");
  const crossed = await asA.read({ key: `${nsB}/db` }).catch((e: unknown) => e);
  assert.ok(crossed instanceof AccessDeniedError, String(crossed));
  assert.doesNotMatch(crossed.message, /b-password/);
  assert.equal((await asA.validate()).status, "Ready");
  const exchanges = aws.requests.filter(
    (r) => r.operation === "AssumeRoleWithWebIdentity" && r.status === 200,
  );
  assert.ok(exchanges.length >= 2);
  assert.ok(aws.requests.some((r) => r.principal?.includes(`assumed-role/reader-a/refsync-${nsA}`)));
});

void test("a namespace cannot borrow another namespace's role or service account", async () => {
  // A SecretStore in A naming B's service account is refused before any token is requested.
  const borrowing = clientFor(
    awsStore(
      aws,
      { name: "aws", namespace: nsA },
      { auth: { jwt: { serviceAccountRef: { name: "app", namespace: nsB } } } },
    ),
  );
  await assert.rejects(borrowing.read({ key: `${nsB}/db` }), AccessDeniedError);
  // A's service account presenting B's role: STS refuses, B's role trusts only B's service account.
  const hijack = clientFor(
    awsStore(
      aws,
      { name: "aws", namespace: nsA },
      { role: roleB, auth: { jwt: { serviceAccountRef: { name: "unannotated" } } } },
    ),
  );
  await core.createNamespacedServiceAccount({ namespace: nsA, body: { metadata: { name: "unannotated" } } });
  const denied = await hijack.read({ key: `${nsB}/db` }).catch((e: unknown) => e);
  assert.ok(denied instanceof AccessDeniedError, String(denied));
  assert.match(denied.message, /AssumeRoleWithWebIdentity/);
});

void test("a token for another audience is rejected by STS", async () => {
  const wrongAudience = clientFor(
    awsStore(
      aws,
      { name: "aws", namespace: nsA },
      {
        auth: { jwt: { serviceAccountRef: { name: "app", audiences: ["vault"] } } },
      },
    ),
  );
  await assert.rejects(wrongAudience.read({ key: `${nsA}/db` }), AccessDeniedError);
  assert.equal(aws.requests.at(-1)?.error, "InvalidIdentityToken");
});

void test("static keys from a Secret work, with the StaticCredentials warning", async () => {
  const keys = aws.addUser({ name: "static-a", read: [`${nsA}/*`] });
  const auth = await staticKeysAuth(cluster.kc, nsA, "aws-keys", keys);
  const client = clientFor(awsStore(aws, { name: "aws", namespace: nsA }, { auth }));
  assert.equal(await password(client, `${nsA}/db`), "a-password");
  const validation = await client.validate();
  assert.equal(validation.status, "Ready");
  assert.deepEqual(
    validation.warnings?.map((w) => w.type),
    ["StaticCredentials"],
  );
  assert.doesNotMatch(JSON.stringify(validation), new RegExp(keys.accessKeyId));
});

void test("default chain with IRSA: web identity token file and role from the environment", async () => {
  const { status } = await core.createNamespacedServiceAccountToken({
    namespace: nsA,
    name: "app",
    body: { spec: { audiences: [STS_AUDIENCE], expirationSeconds: 3600 } },
  });
  const dir = await mkdtemp(join(tmpdir(), "refsync-irsa-"));
  const tokenFile = join(dir, "token");
  await writeFile(tokenFile, status?.token ?? "");
  const env = {
    AWS_WEB_IDENTITY_TOKEN_FILE: tokenFile,
    AWS_ROLE_ARN: roleA,
    AWS_ROLE_SESSION_NAME: "irsa",
    AWS_ENDPOINT_URL_STS: aws.endpoint,
    AWS_REGION: aws.region,
    AWS_EC2_METADATA_DISABLED: "true",
  };
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  try {
    const client = clientFor(awsStore(aws, { name: "aws", namespace: nsA }));
    assert.equal(await password(client, `${nsA}/db`), "a-password");
    await assert.rejects(client.read({ key: `${nsB}/db` }), AccessDeniedError);
    assert.ok(aws.requests.some((r) => r.principal?.endsWith("assumed-role/reader-a/irsa")));
    assert.equal((await client.validate()).warnings, undefined);
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    await rm(dir, { recursive: true, force: true });
  }
});
