// Event-driven refresh from AWS Secrets Manager through EventBridge and SQS, end to end on the real
// API server with the AWS test server: PutSecretValue, a rotation and a stage move each reach every
// ExternalSecret reading the secret (by name or by ARN) and restart the opted-in workload; a
// duplicated event makes one refresh; a poll whose response is lost costs nothing but the
// redelivery after the visibility timeout (SQS keeps the message: nothing is lost).
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import type { SecretStore } from "../../src/api/v1alpha1.ts";
import { Rollouts } from "../../src/controller/rollout/rollouts.ts";
import { resourceTypes } from "../../src/kube/resources.ts";
import { startCluster, type Cluster } from "../cluster/index.ts";
import {
  applyObject,
  externalSecret,
  getSecret,
  startTestController,
  waitFor,
  waitForCondition,
  type TestController,
} from "../controller/harness.ts";
import { create, getWorkload, restartedFor, workload } from "../rollout/harness.ts";
import { startAwsServer, type AwsTestServer } from "../servers/aws/index.ts";
import type { EventPattern } from "../servers/aws/eventbridge.ts";
import { docBlock } from "../docs/markdown.ts";
import { awsStore, staticKeysAuth } from "../aws/fixtures.ts";

const QUEUE = "refsync-events";

let cluster: Cluster;
let aws: AwsTestServer;
let ns: string;
let ctl: TestController;

before(async () => {
  cluster = await startCluster({ crds: true });
  aws = await startAwsServer();
  ns = await cluster.createNamespace("aws-events");
  aws.sqs.createQueue(QUEUE, { visibilitySeconds: 2 });
  // The rule pattern as docs/events.md gives it: the events it lets through are the ones tested here.
  aws.routeSecretEvents(
    QUEUE,
    JSON.parse(docBlock("test/events/aws-sqs.test.ts", "eventbridge-rule")) as EventPattern,
  );
  const keys = aws.addUser({ name: "store", read: [`${ns}/*`], queues: [QUEUE] });
  aws.putSecret(`${ns}/db`, JSON.stringify({ password: "first" }));
  const rollouts = new Rollouts({ tickMs: 100, reportIntervalMs: 500, namespace: ns });
  ctl = await startTestController(cluster, {
    namespace: ns,
    hooks: [rollouts.hook],
    leaderLoops: [rollouts.loop],
    consumers: rollouts,
  });
  const store: SecretStore = awsStore(
    aws,
    { name: "aws", namespace: ns },
    {
      endpoints: { secretsManager: aws.endpoint, sts: aws.endpoint, sqs: aws.endpoint },
      auth: await staticKeysAuth(cluster.kc, ns, "aws-keys", keys),
    },
  );
  store.spec.events = {
    awsSqs: {
      queueUrl: `https://sqs.${aws.region}.amazonaws.com/${aws.account}/${QUEUE}`,
    },
  };
  await applyObject(ctl.kube, store);
  const every = { secretStoreRef: { name: "aws" }, refreshInterval: "1h" };
  await applyObject(
    ctl.kube,
    externalSecret(ns, "by-name", {
      ...every,
      data: [{ secretKey: "password", remoteRef: { key: `${ns}/db`, property: "password" } }],
    }),
  );
  await applyObject(
    ctl.kube,
    externalSecret(ns, "by-extract", { ...every, dataFrom: [{ extract: { key: `${ns}/db` } }] }),
  );
  await applyObject(
    ctl.kube,
    externalSecret(ns, "by-arn", {
      ...every,
      data: [{ secretKey: "password", remoteRef: { key: aws.secretArn(`${ns}/db`), property: "password" } }],
    }),
  );
  await create(
    ctl.kube,
    workload("Deployment", ns, "app", {
      containers: [
        { env: [{ name: "P", valueFrom: { secretKeyRef: { name: "by-name", key: "password" } } }] },
      ],
    }),
  );
  for (const name of READERS) await waitForCondition(ctl.kube, ns, name, "Ready", "True");
  await waitFor(async () => {
    const s = await ctl.kube.get<SecretStore>(resourceTypes.secretStore, ns, "aws");
    return s?.status?.conditions?.some((c) => c.type === "EventsReady" && c.status === "True")
      ? true
      : undefined;
  }, "EventsReady=True on store aws");
});

after(async () => {
  await ctl?.stop();
  await aws?.close();
  await cluster?.stop();
});

const READERS = ["by-name", "by-extract", "by-arn"];

async function everyReaderHas(password: string): Promise<void> {
  await Promise.all(
    READERS.map((name) =>
      waitFor(
        async () => ((await getSecret(ctl.kube, ns, name))?.data["password"] === password ? true : undefined),
        `Secret ${name} with password ${password}`,
      ),
    ),
  );
}

/** Secrets Manager reads of the secret (batched or single), by name or ARN. */
const reads = () =>
  aws.requests.filter(
    (r) =>
      (r.operation === "BatchGetSecretValue" || r.operation === "GetSecretValue") &&
      r.status === 200 &&
      r.secrets.includes(`${ns}/db`),
  ).length;

void test("PutSecretValue reaches every reader, by name and by ARN, and restarts the opted-in workload", async () => {
  const restartedBefore = restartedFor(await getWorkload(ctl.kube, "Deployment", ns, "app"));
  const changed = performance.now();
  aws.putSecret(`${ns}/db`, JSON.stringify({ password: "second" }));
  await everyReaderHas("second");
  const secretMs = performance.now() - changed;
  await waitFor(async () => {
    const now = restartedFor(await getWorkload(ctl.kube, "Deployment", ns, "app"));
    return now !== undefined && now !== restartedBefore ? now : undefined;
  }, "restart annotation on Deployment app");
  const restartMs = performance.now() - changed;
  console.log(
    `aws sqs: change→Secret ${secretMs.toFixed(0)} ms, change→restart annotation ${restartMs.toFixed(0)} ms`,
  );
  // The periodic refresh is an hour away: anything within seconds was the event.
  assert.ok(secretMs < 20_000, `took ${secretMs} ms`);
  await waitFor(async () => (aws.sqs.depth(QUEUE).inFlight === 0 ? true : undefined), "message deleted");
});

void test("a rotation (RotationSucceeded) and a stage move back each reach every reader", async () => {
  aws.rotateSecret(`${ns}/db`, JSON.stringify({ password: "rotated" }));
  await everyReaderHas("rotated");
  const secondVersion = aws.putSecret(`${ns}/db`, JSON.stringify({ password: "pending" }), {
    stages: ["AWSPENDING"],
  });
  aws.moveStage(`${ns}/db`, "AWSCURRENT", secondVersion);
  await everyReaderHas("pending");
});

void test("a duplicated event makes one refresh of the name readers", async () => {
  const before = reads();
  aws.sqs.faults.duplicate = 1;
  aws.updateSecret(`${ns}/db`, JSON.stringify({ password: "updated" }));
  await everyReaderHas("updated");
  await new Promise((r) => setTimeout(r, 2_000)); // a second refresh, if any, would have run by now
  // One read by name (both name readers), one by ARN (a reader naming the secret by ARN reads it so).
  assert.ok(reads() - before <= 2, `${reads() - before} reads`);
  assert.equal(aws.sqs.depth(QUEUE).visible, 0);
});

void test("a lost poll response: the message comes back after its visibility timeout and is applied", async () => {
  aws.sqs.faults.dropConnections = 1;
  const changed = performance.now();
  aws.putSecret(`${ns}/db`, JSON.stringify({ password: "after-drop" }));
  await everyReaderHas("after-drop");
  console.log(`aws sqs: change→Secret through a lost poll ${(performance.now() - changed).toFixed(0)} ms`);
  await waitFor(async () => (aws.sqs.depth(QUEUE).inFlight === 0 ? true : undefined), "message deleted");
});
