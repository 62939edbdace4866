// The AWS SQS change source against the AWS test server's SQS and EventBridge,
// through the real @aws-sdk/client-sqs: Secrets Manager's CloudTrail events
// become KeyChanges, a message is deleted only after its change reached the
// sink, malformed and foreign messages are counted and deleted, and a dropped
// connection costs nothing but a redelivery.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { startAwsServer, type AwsTestServer, type Credentials } from "../../../test/servers/aws/index.ts";
import type { SecretStore } from "../../api/v1alpha1.ts";
import { AwsSqsSource } from "./aws-sqs.ts";
import { recordingContext, run, until } from "../../../test/events/source-harness.ts";

let server: AwsTestServer;
let reader: Credentials;
let outsider: Credentials;

before(async () => {
  server = await startAwsServer();
  reader = server.addUser({ name: "reader", read: ["team-a/*"], queues: ["events-*"] });
  outsider = server.addUser({ name: "outsider", read: ["team-a/*"] });
});

after(() => server.close());

let queues = 0;

/** A fresh queue fed by the EventBridge rule, and a store whose awsSqs source polls it. */
function setup(options: { prefix?: string; credentials?: Credentials } = {}) {
  const queue = `events-${++queues}`;
  server.sqs.createQueue(queue, { visibilitySeconds: 1 });
  const unroute = server.routeSecretEvents(queue);
  const credentials = options.credentials ?? reader;
  const store = {
    apiVersion: "refsync.dev/v1alpha1",
    kind: "SecretStore",
    metadata: { name: "aws", namespace: "team-a" },
    spec: {
      provider: {
        aws: {
          region: server.region,
          ...(options.prefix !== undefined && { prefix: options.prefix }),
          endpoints: { secretsManager: server.endpoint, sts: server.endpoint, sqs: server.endpoint },
          auth: {
            secretRef: {
              accessKeyIDSecretRef: { name: "aws", key: "id" },
              secretAccessKeySecretRef: { name: "aws", key: "secret" },
            },
          },
        },
      },
      events: {
        awsSqs: {
          queueUrl: `https://sqs.${server.region}.amazonaws.com/${server.account}/${queue}`,
          waitTimeSeconds: 20, // the longest poll: stopping and the first health must not wait for it
        },
      },
    },
  } as unknown as SecretStore;
  const ctx = recordingContext(
    {
      storeName: "SecretStore/team-a/aws",
      namespace: "team-a",
      readCredential: (ref) =>
        Promise.resolve(ref.key === "id" ? credentials.accessKeyId : credentials.secretAccessKey),
    },
    // The queue's depth when each change reached the sink: its message was not deleted yet.
    () => depthAtSink.push(server.sqs.depth(queue).inFlight),
  );
  const depthAtSink: number[] = [];
  const source = new AwsSqsSource(store, ctx, { backoff: { initialMs: 50, maxMs: 200 } });
  const running = run(source);
  return {
    queue,
    source,
    changes: ctx.changes,
    depthAtSink,
    readKeys: ctx.read,
    healthChanges: () => ctx.healthChanges,
    async stop() {
      unroute();
      await running.stop();
    },
  };
}

void test("each Secrets Manager change becomes a KeyChange; its message is deleted only after the sink has it", async () => {
  server.putSecret("team-a/db", "v1");
  const s = setup({ prefix: "team-a/" });
  try {
    await until("the source is up", () => s.source.health().up);
    const arn = server.secretArn("team-a/db");
    const put = server.putSecret("team-a/db", "v2");
    const updated = server.updateSecret("team-a/db", "v3");
    server.moveStage("team-a/db", "AWSCURRENT", put);
    server.rotateSecret("team-a/db", "v4");
    server.putSecret("team-b/db", "not this store's");
    await until("four changes", () => s.changes.length >= 4);
    await until("every message deleted", () => server.sqs.depth(s.queue).inFlight === 0);
    assert.deepEqual(
      s.changes.map((c) => [c.key, c.version]),
      [
        ["db", put],
        ["db", updated],
        ["db", put],
        ["db", undefined],
      ],
    );
    for (const change of s.changes) {
      assert.deepEqual(change.store, { kind: "SecretStore", namespace: "team-a", name: "aws" });
      assert.equal(change.source, "aws-sqs");
    }
    assert.ok(
      s.depthAtSink.every((n) => n >= 1),
      "each change reached the sink while its message was still in flight",
    );
    assert.deepEqual(s.source.counts, { changes: 4, ignored: 1, malformed: 0 });
    assert.equal(server.sqs.depth(s.queue).visible, 0);
    // The store's own identity polled the queue.
    const polls = server.requests.filter((r) => r.operation === "ReceiveMessage");
    assert.ok(polls.length > 0 && polls.every((r) => r.principal?.endsWith(":user/reader")));
    assert.ok(arn.startsWith("arn:aws:secretsmanager:"));
  } finally {
    await s.stop();
  }
  assert.deepEqual(s.source.health(), { up: false, reason: "Stopped" });
});

void test("a deleted secret, and keys by ARN when an ExternalSecret reads the secret by ARN", async () => {
  server.putSecret("team-a/api", "v1");
  const s = setup();
  const arn = server.secretArn("team-a/api");
  const partial = `arn:aws:secretsmanager:${server.region}:${server.account}:secret:team-a/api`;
  s.readKeys.add(arn).add(partial);
  try {
    await until("the source is up", () => s.source.health().up);
    server.deleteSecret("team-a/api");
    await until("three keys", () => s.changes.length >= 3);
    assert.deepEqual(s.changes.map((c) => c.key).sort(), [partial, arn, "team-a/api"].sort());
  } finally {
    await s.stop();
  }
});

void test("malformed and foreign messages are counted and deleted, and report nothing", async () => {
  const s = setup();
  try {
    await until("the source is up", () => s.source.health().up);
    server.sqs.send(s.queue, "not json");
    server.sqs.send(s.queue, JSON.stringify({ hello: "world" }));
    server.sqs.send(
      s.queue,
      JSON.stringify({ "detail-type": "AWS API Call via CloudTrail", source: "aws.s3", detail: {} }),
    );
    server.sqs.send(
      s.queue,
      JSON.stringify({
        "detail-type": "AWS API Call via CloudTrail",
        source: "aws.secretsmanager",
        detail: {
          eventSource: "secretsmanager.amazonaws.com",
          eventName: "PutSecretValue",
          errorCode: "AccessDenied",
          requestParameters: { secretId: "team-a/db" },
        },
      }),
    );
    await until("all handled", () => s.source.counts.ignored + s.source.counts.malformed === 4);
    await until("all deleted", () => server.sqs.depth(s.queue).inFlight === 0);
    assert.deepEqual(s.source.counts, { changes: 0, ignored: 2, malformed: 2 });
    assert.deepEqual(s.changes, []);
  } finally {
    await s.stop();
  }
});

void test("a dropped connection: the source goes down, reconnects, and the change still arrives", async () => {
  const s = setup();
  try {
    await until("the source is up", () => s.source.health().up);
    server.sqs.faults.dropConnections = 1;
    server.putSecret("team-a/dropped", "v1");
    await until("the source reports the drop", () => !s.source.health().up);
    assert.match(s.source.health().reason ?? "", /socket hang up|ECONNRESET/);
    await until("up again", () => s.source.health().up);
    await until("the change arrived after the visibility timeout", () => s.changes.length === 1);
    assert.equal(s.changes[0]?.key, "team-a/dropped");
    await until("deleted", () => server.sqs.depth(s.queue).inFlight === 0);
    assert.ok(s.healthChanges() >= 3, "up, down, up again were each reported");
  } finally {
    await s.stop();
  }
});

void test("duplicated and reordered deliveries each report their key; nothing is lost", async () => {
  const s = setup();
  try {
    await until("the source is up", () => s.source.health().up);
    server.sqs.faults.duplicate = 1;
    server.putSecret("team-a/twice", "v1");
    server.sqs.faults.reorder = 2;
    server.putSecret("team-a/first", "v1");
    server.putSecret("team-a/second", "v1");
    await until("four changes", () => s.changes.length === 4);
    assert.deepEqual(
      s.changes.map((c) => c.key),
      ["team-a/twice", "team-a/twice", "team-a/second", "team-a/first"],
    );
    await until("deleted", () => server.sqs.depth(s.queue).inFlight === 0);
  } finally {
    await s.stop();
  }
});

void test("an identity the queue policy does not allow: the source is down with AWS's reason", async () => {
  const s = setup({ credentials: outsider });
  try {
    await until("a failed poll", () => (s.source.health().reason ?? "").includes("not authorized"));
    assert.equal(s.source.health().up, false);
    assert.match(s.source.health().reason ?? "", /sqs:ReceiveMessage/);
  } finally {
    await s.stop();
  }
});
