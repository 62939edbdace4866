// Event-driven refresh from AWS Secrets Manager through EventBridge and SQS, end to end on the real
// API server with the AWS test server: PutSecretValue, a rotation and a stage move each reach every
// ExternalSecret reading the secret (by name or by ARN) and restart the opted-in workload; a
// duplicated event makes one refresh; a poll whose response is lost costs nothing but the
// redelivery after the visibility timeout (SQS keeps the message: nothing is lost).
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import type { SecretStore } from "../../src/api/v1alpha1.ts";
import { startCluster, type Cluster } from "../cluster/index.ts";
import { applyObject, waitFor, type TestController } from "../controller/harness.ts";
import { docBlock } from "../docs/markdown.ts";
import { awsStore, staticKeysAuth } from "../aws/fixtures.ts";
import type { EventPattern } from "../servers/aws/eventbridge.ts";
import { startAwsServer, type AwsTestServer } from "../servers/aws/index.ts";
import {
  eventsController,
  eventsReady,
  everyReaderHas,
  readersOf,
  restartOf,
  restartedSince,
} from "./harness.ts";

const QUEUE = "refsync-events";

let cluster: Cluster;
let aws: AwsTestServer;
let ns: string;
let ctl: TestController;
let readers: string[];

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
  ctl = await eventsController(cluster, ns);
  const store: SecretStore = awsStore(
    aws,
    { name: "aws", namespace: ns },
    {
      endpoints: { secretsManager: aws.endpoint, sts: aws.endpoint, sqs: aws.endpoint },
      auth: await staticKeysAuth(cluster.kc, ns, "aws-keys", keys),
    },
  );
  store.spec.events = {
    awsSqs: { queueUrl: `https://sqs.${aws.region}.amazonaws.com/${aws.account}/${QUEUE}` },
  };
  await applyObject(ctl.kube, store);
  readers = await readersOf(ctl.kube, ns, "aws", `${ns}/db`, { "by-arn": aws.secretArn(`${ns}/db`) });
  await eventsReady(ctl.kube, ns, "aws", "True");
});

after(async () => {
  await ctl?.stop();
  await aws?.close();
  await cluster?.stop();
});

const everyReaderHasPassword = (want: string) => everyReaderHas(ctl.kube, ns, readers, want);

/** Secrets Manager reads of the secret (batched or single), by name or ARN. */
const reads = () =>
  aws.requests.filter(
    (r) =>
      (r.operation === "BatchGetSecretValue" || r.operation === "GetSecretValue") &&
      r.status === 200 &&
      r.secrets.includes(`${ns}/db`),
  ).length;

const queueEmpty = () =>
  waitFor(async () => (aws.sqs.depth(QUEUE).inFlight === 0 ? true : undefined), "message deleted");

void test("PutSecretValue reaches every reader, by name and by ARN, and restarts the opted-in workload", async () => {
  const restartBefore = await restartOf(ctl.kube, ns);
  const changed = performance.now();
  aws.putSecret(`${ns}/db`, JSON.stringify({ password: "second" }));
  await everyReaderHasPassword("second");
  const secretMs = performance.now() - changed;
  await restartedSince(ctl.kube, ns, restartBefore);
  const restartMs = performance.now() - changed;
  console.log(
    `aws sqs: change→Secret ${secretMs.toFixed(0)} ms, change→restart annotation ${restartMs.toFixed(0)} ms`,
  );
  // The periodic refresh is an hour away: anything within seconds was the event.
  assert.ok(secretMs < 20_000, `took ${secretMs} ms`);
  await queueEmpty();
});

void test("a rotation (RotationSucceeded) and a stage move back each reach every reader", async () => {
  aws.rotateSecret(`${ns}/db`, JSON.stringify({ password: "rotated" }));
  await everyReaderHasPassword("rotated");
  const pending = aws.putSecret(`${ns}/db`, JSON.stringify({ password: "pending" }), {
    stages: ["AWSPENDING"],
  });
  aws.moveStage(`${ns}/db`, "AWSCURRENT", pending);
  await everyReaderHasPassword("pending");
});

void test("a duplicated event makes one refresh", async () => {
  const before = reads();
  aws.sqs.faults.duplicate = 1;
  aws.updateSecret(`${ns}/db`, JSON.stringify({ password: "updated" }));
  await everyReaderHasPassword("updated");
  await new Promise((r) => setTimeout(r, 2_000)); // a second refresh, if any, would have run by now
  // One read by name (by-data and by-extract share it), one by ARN (by-arn reads the secret so).
  assert.ok(reads() - before <= 2, `${reads() - before} reads`);
  assert.equal(aws.sqs.depth(QUEUE).visible, 0);
});

void test("a lost poll response: the message comes back after its visibility timeout and is applied", async () => {
  aws.sqs.faults.dropConnections = 1;
  const changed = performance.now();
  aws.putSecret(`${ns}/db`, JSON.stringify({ password: "after-drop" }));
  await everyReaderHasPassword("after-drop");
  console.log(`aws sqs: change→Secret through a lost poll ${(performance.now() - changed).toFixed(0)} ms`);
  await queueEmpty();
});
