// The Pub/Sub change source against the GCP test server's Subscriber service,
// through the real @google-cloud/pubsub client and the store's own key-file
// identity: Secret Manager's notifications become KeyChanges, a message is
// acknowledged only after its change reached the sink, foreign and malformed
// messages are counted, and a failed pull costs nothing but a redelivery.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { startGcpServer, type GcpTestServer } from "../../../test/servers/gcp/index.ts";
import type { SecretStore } from "../../api/v1alpha1.ts";
import { GcpPubSubSource } from "./gcp-pubsub.ts";
import { recordingContext, run, until } from "../../../test/events/source-harness.ts";

const READER = "reader@refsync-test.iam.gserviceaccount.com";
const OUTSIDER = "outsider@refsync-test.iam.gserviceaccount.com";

let gcp: GcpTestServer;
const keys: Record<string, string> = {};

before(async () => {
  gcp = await startGcpServer();
  for (const email of [READER, OUTSIDER]) {
    gcp.addServiceAccount(email);
    keys[email] = gcp.createKey(email);
  }
  gcp.bind({ member: `serviceAccount:${READER}`, role: "subscriber", secrets: ["refsync-*"] });
  gcp.bind({ member: `serviceAccount:${READER}`, role: "secretAccessor", secrets: ["*"] });
});

after(() => gcp.close());

let subscriptions = 0;

function setup(email = READER) {
  const topic = `projects/${gcp.projectID}/topics/secrets-${++subscriptions}`;
  const subscription = `projects/${gcp.projectID}/subscriptions/refsync-${subscriptions}`;
  gcp.pubsub.createSubscription(subscription, topic, { ackDeadlineSeconds: 1 });
  const unroute = gcp.pubsub.notifySecretEvents(topic);
  const store = {
    apiVersion: "refsync.dev/v1alpha1",
    kind: "SecretStore",
    metadata: { name: "gcp", namespace: "team-a" },
    spec: {
      provider: {
        gcpsm: {
          projectID: gcp.projectID,
          projectNumber: gcp.projectNumber,
          endpoints: { secretManager: gcp.secretManager, pubsub: gcp.secretManager },
          caBundle: gcp.caBundle,
          auth: { secretRef: { secretAccessKeySecretRef: { name: "gcp", key: "key.json" } } },
        },
      },
      events: { gcpPubSub: { subscription } },
    },
  } as unknown as SecretStore;
  const outstandingAtSink: number[] = [];
  const ctx = recordingContext(
    {
      storeName: "SecretStore/team-a/gcp",
      namespace: "team-a",
      readCredential: () => Promise.resolve(keys[email] ?? ""),
    },
    () => outstandingAtSink.push(gcp.pubsub.depth(subscription).outstanding),
  );
  const source = new GcpPubSubSource(store, ctx, { backoff: { initialMs: 50, maxMs: 200 } });
  const running = run(source);
  return {
    topic,
    subscription,
    source,
    changes: ctx.changes,
    outstandingAtSink,
    readKeys: ctx.read,
    async stop() {
      unroute();
      await running.stop();
    },
  };
}

void test("Secret Manager notifications become KeyChanges; messages are acknowledged after the sink has them", async () => {
  const s = setup();
  const full = `projects/${gcp.projectID}/secrets/db`;
  s.readKeys.add(full);
  try {
    await until("pulling", () => s.source.health().up);
    gcp.putSecret("db", "one");
    const two = gcp.putSecret("db", "two");
    gcp.setVersionState("db", 1, "DISABLED");
    await until("four changes", () => s.changes.filter((c) => c.key === "db").length === 4);
    await until("acknowledged", () => gcp.pubsub.depth(s.subscription).outstanding === 0);
    const byId = s.changes.filter((c) => c.key === "db").map((c) => c.version);
    assert.deepEqual(byId, [undefined, "1", String(two), undefined], "create, two additions, a disable");
    assert.equal(
      s.changes.filter((c) => c.key === full).length,
      4,
      "and by the full name some ExternalSecret reads",
    );
    assert.ok(
      s.outstandingAtSink.every((n) => n >= 1),
      "each change reached the sink before its ack",
    );
    assert.equal(gcp.pubsub.depth(s.subscription).ready, 0);
    assert.deepEqual(s.changes[0]?.store, { kind: "SecretStore", namespace: "team-a", name: "gcp" });
  } finally {
    await s.stop();
  }
});

void test("malformed messages and other projects' secrets are counted and acknowledged", async () => {
  const s = setup();
  try {
    await until("pulling", () => s.source.health().up);
    gcp.pubsub.publish(s.topic, "{}", {});
    gcp.pubsub.publish(s.topic, "{}", {
      eventType: "SECRET_VERSION_ADD",
      secretId: "projects/other/secrets/x",
    });
    gcp.pubsub.publish(s.topic, "{}", {
      eventType: "SECRET_ROTATE",
      secretId: `projects/${gcp.projectID}/secrets/x`,
    });
    await until("handled", () => s.source.counts.malformed + s.source.counts.ignored === 3);
    await until("acknowledged", () => gcp.pubsub.depth(s.subscription).outstanding === 0);
    assert.deepEqual(s.source.counts, { changes: 0, ignored: 2, malformed: 1 });
    assert.deepEqual(s.changes, []);
  } finally {
    await s.stop();
  }
});

void test("a lost Pull response: the source goes down, comes back, and the change is redelivered", async () => {
  const s = setup();
  try {
    await until("pulling", () => s.source.health().up);
    gcp.pubsub.faults.drop = 1;
    gcp.putSecret("cache", "one");
    await until("down", () => !s.source.health().up);
    assert.match(s.source.health().reason ?? "", /UNAVAILABLE|unable to fulfill/);
    await until("redelivered", () => s.changes.some((c) => c.key === "cache"));
    assert.equal(s.source.health().up, true);
  } finally {
    await s.stop();
  }
});

void test("duplicated and reordered notifications each report their key", async () => {
  const s = setup();
  try {
    await until("pulling", () => s.source.health().up);
    gcp.putSecret("twice", "a");
    gcp.putSecret("first", "a");
    gcp.putSecret("second", "a");
    await until("creates seen", () => s.changes.length === 6);
    s.changes.length = 0;
    gcp.pubsub.faults.duplicate = 1;
    gcp.putSecret("twice", "b");
    gcp.pubsub.faults.reorder = 2;
    gcp.putSecret("first", "b");
    gcp.putSecret("second", "b");
    await until("four changes", () => s.changes.length === 4);
    assert.deepEqual(
      s.changes.map((c) => c.key),
      ["twice", "twice", "second", "first"],
    );
  } finally {
    await s.stop();
  }
});

void test("an identity without pubsub.subscriptions.consume: down with Google's reason", async () => {
  const s = setup(OUTSIDER);
  try {
    await until("refused", () => /PERMISSION_DENIED|not authorized/.test(s.source.health().reason ?? ""));
  } finally {
    await s.stop();
  }
});
