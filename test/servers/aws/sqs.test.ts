// The test server's SQS and EventBridge, driven by @aws-sdk/client-sqs: the
// protocol the SDK speaks (JSON 1.0, SigV4 for "sqs", MD5OfBody), long polling,
// visibility timeouts, and the CloudTrail envelopes of Secrets Manager changes.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import {
  DeleteMessageCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
  type Message,
} from "@aws-sdk/client-sqs";
import { PutSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { startAwsServer, type AwsTestServer, type Credentials } from "./index.ts";

let server: AwsTestServer;
let reader: Credentials;
let stranger: Credentials;
let queueUrl: string;

before(async () => {
  server = await startAwsServer();
  reader = server.addUser({ name: "reader", read: ["*"], write: ["*"], queues: ["events-*"] });
  stranger = server.addUser({ name: "stranger", read: ["*"] });
  queueUrl = server.sqs.createQueue("events-a", { visibilitySeconds: 1 });
  server.routeSecretEvents("events-a");
});

after(() => server.close());

function sqs(credentials: Credentials = reader): SQSClient {
  return new SQSClient({ region: server.region, endpoint: server.endpoint, credentials, maxAttempts: 1 });
}

async function receive(client: SQSClient, wait = 1, max = 10): Promise<Message[]> {
  const out = await client.send(
    new ReceiveMessageCommand({ QueueUrl: queueUrl, WaitTimeSeconds: wait, MaxNumberOfMessages: max }),
  );
  return out.Messages ?? [];
}

async function drain(client: SQSClient): Promise<void> {
  for (const m of await receive(client, 0))
    await client.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: m.ReceiptHandle }));
}

const detail = (m: Message) =>
  JSON.parse(m.Body ?? "{}") as { "detail-type": string; detail: Record<string, unknown> };

void test("a secret change arrives as its CloudTrail event; deleted messages stay deleted", async () => {
  const client = sqs();
  server.putSecret("app/db", "v1");
  server.putSecret("app/db", "v2");
  const [created, put] = await receive(client);
  assert.ok(created && put);
  assert.equal(detail(created).detail.eventName, "CreateSecret");
  const event = detail(put);
  assert.equal(event["detail-type"], "AWS API Call via CloudTrail");
  assert.equal(event.detail.eventSource, "secretsmanager.amazonaws.com");
  assert.equal(event.detail.eventName, "PutSecretValue");
  assert.deepEqual((event.detail.requestParameters as { secretId: string }).secretId, "app/db");
  assert.equal((event.detail.responseElements as { arn: string }).arn, server.secretArn("app/db"));
  assert.doesNotMatch(put.Body ?? "", /v2/, "CloudTrail records no value");
  for (const m of [created, put])
    await client.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: m.ReceiptHandle }));
  assert.deepEqual(server.sqs.depth("events-a"), { visible: 0, inFlight: 0 });
});

void test("an SDK PutSecretValue, UpdateSecret, a stage move, a rotation and a delete each emit their event", async () => {
  const client = sqs();
  const sm = new SecretsManagerClient({
    region: server.region,
    endpoint: server.endpoint,
    credentials: reader,
    maxAttempts: 1,
  });
  server.putSecret("app/api", "one");
  await drain(client);
  const arn = server.secretArn("app/api");
  await sm.send(new PutSecretValueCommand({ SecretId: arn, SecretString: "two" }));
  const updated = server.updateSecret("app/api", "three");
  server.rotateSecret("app/api", "four");
  server.moveStage("app/api", "AWSCURRENT", updated);
  server.deleteSecret("app/api");
  const messages = await receive(client);
  for (const m of messages)
    await client.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: m.ReceiptHandle }));
  const events = messages.map(detail);
  assert.deepEqual(
    events.map((e) => e.detail.eventName),
    ["PutSecretValue", "UpdateSecret", "RotationSucceeded", "UpdateSecretVersionStage", "DeleteSecret"],
  );
  assert.equal((events[0]?.detail.requestParameters as { secretId: string }).secretId, arn);
  assert.match(String((events[0]?.detail.userIdentity as { arn: string }).arn), /user\/reader$/);
  const rotation = events[2]!;
  assert.equal(rotation["detail-type"], "AWS Service Event via CloudTrail");
  assert.deepEqual(rotation.detail.additionalEventData, { SecretId: arn });
  assert.deepEqual(events[3]?.detail.requestParameters, {
    secretId: "app/api",
    versionStage: "AWSCURRENT",
    moveToVersionId: updated,
  });
});

void test("a long poll waits for a message; an unacknowledged one comes back after its visibility timeout", async () => {
  const client = sqs();
  await drain(client);
  const started = Date.now();
  const polling = receive(client, 5);
  setTimeout(() => server.putSecret("app/late", "x"), 200);
  const [message] = await polling;
  assert.ok(message, "the long poll returned the message sent while it waited");
  assert.ok(Date.now() - started < 4_500);
  assert.deepEqual(server.sqs.depth("events-a"), { visible: 0, inFlight: 1 });
  const again = await receive(client, 5);
  assert.equal(again[0]?.MessageId, message.MessageId, "not deleted: delivered again");
  // The first receipt handle is stale now: deleting with it removes nothing.
  await client.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle }));
  assert.equal(server.sqs.depth("events-a").inFlight, 1);
  await client.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: again[0]?.ReceiptHandle }));
  assert.deepEqual(server.sqs.depth("events-a"), { visible: 0, inFlight: 0 });
});

void test("faults: a dropped connection, duplicates, reordering, delay", async () => {
  const client = sqs();
  await drain(client);
  server.sqs.faults.dropConnections = 1;
  server.putSecret("app/drop", "x");
  await assert.rejects(receive(client, 1), /socket hang up|ECONNRESET/);
  assert.equal(server.sqs.depth("events-a").inFlight, 1, "the lost response's message is in flight");
  const redelivered = await receive(client, 3);
  assert.equal(redelivered.length, 1);
  await drain(client);
  for (const m of redelivered)
    await client.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: m.ReceiptHandle }));

  server.sqs.faults.duplicate = 1;
  server.putSecret("app/dup", "x");
  assert.equal(server.sqs.depth("events-a").visible, 2);
  await drain(client);

  server.sqs.faults.reorder = 2;
  server.putSecret("app/first", "x");
  assert.equal(server.sqs.depth("events-a").visible, 0, "held until the second");
  server.putSecret("app/second", "x");
  const order = (await receive(client, 0)).map(
    (m) => (detail(m).detail.requestParameters as { name: string }).name,
  );
  assert.deepEqual(order, ["app/second", "app/first"]);
  await drain(client);

  server.sqs.faults.delayMs = 400;
  server.putSecret("app/delayed", "x");
  assert.equal((await receive(client, 0)).length, 0);
  assert.equal((await receive(client, 3)).length, 1);
  server.sqs.faults.delayMs = 0;
});

void test("SigV4 for sqs, the queue policy and unknown queues are enforced", async () => {
  const denied = await receive(sqs(stranger), 0).catch((e: unknown) => e);
  assert.equal((denied as Error).name, "AccessDenied");
  const forged = await receive(sqs({ ...reader, secretAccessKey: "wrong" }), 0).catch((e: unknown) => e);
  assert.equal((forged as Error).name, "InvalidSignatureException");
  const missing = await sqs()
    .send(new SendMessageCommand({ QueueUrl: queueUrl.replace("events-a", "events-b"), MessageBody: "x" }))
    .catch((e: unknown) => e);
  assert.equal((missing as Error).name, "QueueDoesNotExist");
  const badWait = await sqs()
    .send(new ReceiveMessageCommand({ QueueUrl: queueUrl, WaitTimeSeconds: 21 }))
    .catch((e: unknown) => e);
  assert.match((badWait as Error).message, /WaitTimeSeconds/);
});

void test("a rule's event pattern lets through only the events it lists", async () => {
  const url = server.sqs.createQueue("events-puts-only");
  const unroute = server.routeSecretEvents("events-puts-only", {
    source: ["aws.secretsmanager"],
    detail: { eventSource: ["secretsmanager.amazonaws.com"], eventName: ["PutSecretValue"] },
  });
  try {
    server.putSecret("app/pattern", "v1"); // CreateSecret: not listed
    server.putSecret("app/pattern", "v2");
    server.deleteSecret("app/pattern");
    const client = sqs();
    const out = await client.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10 }));
    assert.deepEqual(
      (out.Messages ?? []).map((m) => detail(m).detail.eventName),
      ["PutSecretValue"],
    );
  } finally {
    unroute();
  }
});
