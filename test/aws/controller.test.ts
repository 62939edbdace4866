// ExternalSecrets backed by AWS Secrets Manager, reconciled by the real
// controller on the real API server, against the Secrets Manager + STS test
// server (signatures verified, web identity checked with TokenReview).
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { CoreV1Api } from "@kubernetes/client-node";
import type { SecretStore } from "../../src/api/v1alpha1.ts";
import { resourceTypes } from "../../src/kube/resources.ts";
import { startCluster, type Cluster } from "../cluster/index.ts";
import {
  applyObject,
  externalSecret,
  getExternalSecret,
  getSecret,
  startTestController,
  waitFor,
  waitForCondition,
  type TestController,
} from "../controller/harness.ts";
import { startAwsServer, type AwsTestServer, type Credentials } from "../servers/aws/index.ts";
import { kubeTokenReviewer } from "../servers/aws/token-review.ts";
import { awsStore, staticKeysAuth } from "./fixtures.ts";

let cluster: Cluster;
let aws: AwsTestServer;
let ns: string;
let other: string;
let ctl: TestController;
let envUser: Credentials;
let previousVersion: string;
const savedEnv = { ...process.env };

before(async () => {
  cluster = await startCluster({ crds: true });
  aws = await startAwsServer({ reviewToken: kubeTokenReviewer(cluster.kc) });
  [ns, other] = await Promise.all([
    cluster.createNamespace("aws-es"),
    cluster.createNamespace("aws-es-other"),
  ]);
  envUser = aws.addUser({ name: "controller", read: [`${ns}/*`] });
  // The default chain of the in-process controller: environment credentials.
  process.env["AWS_ACCESS_KEY_ID"] = envUser.accessKeyId;
  process.env["AWS_SECRET_ACCESS_KEY"] = envUser.secretAccessKey;
  process.env["AWS_EC2_METADATA_DISABLED"] = "true";
  previousVersion = aws.putSecret(`${ns}/db`, JSON.stringify({ password: "old-pw" }), {
    tags: { team: "a" },
  });
  aws.putSecret(`${ns}/db`, JSON.stringify({ password: "new-pw", nested: { a: { b: "deep-value" } } }));
  aws.putSecret(`${ns}/cert`, new Uint8Array([0xde, 0xad, 0xbe, 0xef]), { tags: { team: "a" } });
  aws.putSecret(`${other}/db`, JSON.stringify({ password: "other-pw" }));
  // A controller watching both namespaces: a ClusterSecretStore serves them.
  ctl = await startTestController(cluster, { namespace: ns });
});

after(async () => {
  process.env = savedEnv;
  await ctl?.stop();
  await aws?.close();
  await cluster?.stop();
});

/** A store of this suite: a SecretStore in `ns`, or a ClusterSecretStore. */
function store(name: string, provider: Record<string, unknown> = {}, cluster = false): SecretStore {
  return awsStore(aws, cluster ? { name } : { name, namespace: ns }, provider);
}

async function storeCondition(
  name: string,
  type: string,
): Promise<{ status: string; reason: string; message: string }> {
  return waitFor(async () => {
    const store = await ctl.kube.get<SecretStore>(resourceTypes.secretStore, ns, name);
    return store?.status?.conditions?.find((c) => c.type === type);
  }, `SecretStore ${name} ${type}`);
}

void test("default chain (environment keys): properties, nested path, AWSPREVIOUS, a VersionId, binary, find by tag", async () => {
  await applyObject(ctl.kube, store("env", {}));
  await applyObject(
    ctl.kube,
    externalSecret(ns, "app", {
      secretStoreRef: { name: "env" },
      data: [
        { secretKey: "password", remoteRef: { key: `${ns}/db`, property: "password" } },
        { secretKey: "deep", remoteRef: { key: `${ns}/db`, property: "/nested/a/b" } },
        {
          secretKey: "previous",
          remoteRef: { key: `${ns}/db`, property: "password", version: "AWSPREVIOUS" },
        },
        {
          secretKey: "pinned",
          remoteRef: { key: `${ns}/db`, property: "password", version: `uuid/${previousVersion}` },
        },
        { secretKey: "cert", remoteRef: { key: `${ns}/cert` } },
      ],
      dataFrom: [{ find: { tags: { team: "a" } }, rewrite: [{ regexp: { source: "/", target: "_" } }] }],
    }),
  );
  await waitForCondition(ctl.kube, ns, "app", "Ready", "True", "SecretSynced");
  const secret = await waitFor(() => getSecret(ctl.kube, ns, "app"), "Secret app");
  assert.equal(secret.data["password"], "new-pw");
  assert.equal(secret.data["deep"], "deep-value");
  assert.equal(secret.data["previous"], "old-pw");
  assert.equal(secret.data["pinned"], "old-pw");
  const raw = await cluster.kc.makeApiClient(CoreV1Api).readNamespacedSecret({ namespace: ns, name: "app" });
  assert.deepEqual([...Buffer.from(raw.data?.["cert"] ?? "", "base64")], [0xde, 0xad, 0xbe, 0xef]);
  assert.ok(secret.data[`${ns}_db`]?.includes("new-pw"), "found by tag, whole JSON value");
  assert.ok(raw.data?.[`${ns}_cert`], "found by tag: the binary secret too");
  const condition = await storeCondition("env", "Ready");
  assert.equal(condition.status, "True");
  const status = JSON.stringify((await getExternalSecret(ctl.kube, ns, "app"))?.status);
  assert.doesNotMatch(status, /new-pw|old-pw|deep-value/);
  assert.doesNotMatch(ctl.logText(), /new-pw|old-pw|deep-value/);
});

void test("static keys from a Secret: synced, with the StaticCredentials warning on the store", async () => {
  const keys = aws.addUser({ name: "static", read: [`${ns}/*`] });
  await applyObject(
    ctl.kube,
    store("static", { auth: await staticKeysAuth(cluster.kc, ns, "aws-keys", keys) }),
  );
  await applyObject(
    ctl.kube,
    externalSecret(ns, "static", {
      secretStoreRef: { name: "static" },
      data: [{ secretKey: "password", remoteRef: { key: `${ns}/db`, property: "password" } }],
    }),
  );
  await waitForCondition(ctl.kube, ns, "static", "Ready", "True");
  const warning = await storeCondition("static", "StaticCredentials");
  assert.equal(warning.status, "True");
  assert.doesNotMatch(JSON.stringify(warning), new RegExp(keys.accessKeyId));
  assert.ok(aws.requests.some((r) => r.principal === `arn:aws:iam::${aws.account}:user/static`));
});

void test("assume role with ExternalId on top of the default chain", async () => {
  const roleArn = aws.addRole({
    name: "es-reader",
    read: [`${ns}/*`],
    principals: [`arn:aws:iam::${aws.account}:user/controller`],
    externalId: "refsync-test",
  });
  await applyObject(ctl.kube, store("role", { role: roleArn, externalID: "refsync-test" }));
  await applyObject(ctl.kube, store("wrong-ext", { role: roleArn, externalID: "wrong" }));
  for (const store of ["role", "wrong-ext"]) {
    await applyObject(
      ctl.kube,
      externalSecret(ns, store, {
        secretStoreRef: { name: store },
        data: [{ secretKey: "password", remoteRef: { key: `${ns}/db`, property: "password" } }],
      }),
    );
  }
  await waitForCondition(ctl.kube, ns, "role", "Ready", "True");
  assert.ok(
    aws.requests.some((r) => r.principal?.startsWith(`arn:aws:sts::${aws.account}:assumed-role/es-reader/`)),
  );
  const refused = await waitFor(async () => {
    const condition = await storeCondition("wrong-ext", "Ready");
    return condition.status === "False" ? condition : undefined;
  }, "store wrong-ext Ready=False");
  assert.match(refused.message, /AssumeRole.*access denied/);
});

void test("additionalRoles chain to role, whose session tags decide what the policy grants", async () => {
  const hop = aws.addRole({ name: "es-hop", principals: [`arn:aws:iam::${aws.account}:user/controller`] });
  const tagged = aws.addRole({
    name: "es-tagged",
    read: ["${aws:PrincipalTag/prefix}/*"],
    principals: [`arn:aws:sts::${aws.account}:assumed-role/es-hop/refsync-${ns}`],
    tagSession: true,
  });
  await applyObject(
    ctl.kube,
    store("chained", { additionalRoles: [hop], role: tagged, sessionTags: [{ key: "prefix", value: ns }] }),
  );
  await applyObject(
    ctl.kube,
    externalSecret(ns, "chained", {
      secretStoreRef: { name: "chained" },
      data: [{ secretKey: "password", remoteRef: { key: `${ns}/db`, property: "password" } }],
    }),
  );
  await waitForCondition(ctl.kube, ns, "chained", "Ready", "True", "SecretSynced");
  assert.equal((await getSecret(ctl.kube, ns, "chained"))?.data["password"], "new-pw");
  const chain = aws.requests
    .filter((r) => r.operation === "AssumeRole" && r.status === 200)
    .map((r) => r.principal);
  assert.ok(
    chain.includes(`arn:aws:sts::${aws.account}:assumed-role/es-hop/refsync-${ns}`),
    "es-tagged assumed by es-hop's session",
  );
  // A role name where STS wants an ARN: the API server refuses the store (the CRD carries the ARN pattern).
  await assert.rejects(
    applyObject(ctl.kube, store("by-name", { role: "es-tagged" })),
    /spec\.provider\.aws\.role/,
  );
});

void test("web identity per namespace: a ClusterSecretStore acts as each ExternalSecret's namespace", async () => {
  const core = cluster.kc.makeApiClient(CoreV1Api);
  const roleArn = aws.addRole({ name: "ns-reader", read: [`${ns}/*`], serviceAccounts: [`${ns}/app`] });
  await core.createNamespacedServiceAccount({
    namespace: ns,
    body: { metadata: { name: "app", annotations: { "eks.amazonaws.com/role-arn": roleArn } } },
  });
  const storeName = `aws-wi-${ns}`;
  await applyObject(
    ctl.kube,
    store(storeName, { auth: { jwt: { serviceAccountRef: { name: "app" } } } }, true),
  );
  await applyObject(
    ctl.kube,
    externalSecret(ns, "wi-own", {
      secretStoreRef: { name: storeName, kind: "ClusterSecretStore" },
      data: [{ secretKey: "password", remoteRef: { key: `${ns}/db`, property: "password" } }],
    }),
  );
  await applyObject(
    ctl.kube,
    externalSecret(ns, "wi-other", {
      secretStoreRef: { name: storeName, kind: "ClusterSecretStore" },
      data: [{ secretKey: "password", remoteRef: { key: `${other}/db`, property: "password" } }],
    }),
  );
  await waitForCondition(ctl.kube, ns, "wi-own", "Ready", "True");
  assert.equal((await getSecret(ctl.kube, ns, "wi-own"))?.data["password"], "new-pw");
  const denied = await waitForCondition(ctl.kube, ns, "wi-other", "Ready", "False", "AccessDenied");
  assert.doesNotMatch(JSON.stringify(denied.status), /other-pw/);
  assert.equal(await getSecret(ctl.kube, ns, "wi-other"), undefined);
  assert.ok(aws.requests.some((r) => r.operation === "AssumeRoleWithWebIdentity" && r.status === 200));
});

void test("throttling: backed off, retried, counted, and the ExternalSecret syncs", async () => {
  const user = aws.addUser({ name: "throttled", read: [`${ns}/*`] });
  const principal = `arn:aws:iam::${aws.account}:user/throttled`;
  await applyObject(
    ctl.kube,
    store("throttled", { auth: await staticKeysAuth(cluster.kc, ns, "throttled-keys", user) }),
  );
  await storeCondition("throttled", "Ready");
  // More throttles than one call's SDK attempts: the first reconcile fails, the controller backs off, the next succeeds.
  aws.failNext("throttle", 4, { operation: "GetSecretValue", principal });
  await applyObject(
    ctl.kube,
    externalSecret(ns, "throttled", {
      secretStoreRef: { name: "throttled" },
      data: [{ secretKey: "password", remoteRef: { key: `${ns}/db`, property: "password" } }],
    }),
  );
  await waitForCondition(ctl.kube, ns, "throttled", "Ready", "True", undefined, 60_000);
  assert.equal((await getSecret(ctl.kube, ns, "throttled"))?.data["password"], "new-pw");
  const mine = aws.requests.filter((r) => r.principal === principal && r.operation === "GetSecretValue");
  assert.deepEqual(
    mine.map((r) => r.error ?? "ok"),
    ["ThrottlingException", "ThrottlingException", "ThrottlingException", "ThrottlingException", "ok"],
  );
  const metrics = await ctl.controller.metrics.providerCalls.get();
  const counted = (result: string) =>
    metrics.values
      .filter(
        (v) =>
          v.labels["result"] === result &&
          v.labels["call"] === "GetSecretValue" &&
          String(v.labels["store"]).endsWith(`/${ns}/throttled`),
      )
      .reduce((sum, v) => sum + v.value, 0);
  assert.equal(
    counted("throttled"),
    4,
    "every throttled attempt is counted in refsync_provider_api_calls_total",
  );
  assert.equal(counted("success"), 1);
});
