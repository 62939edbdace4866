// Event-driven refresh from Google Secret Manager through Pub/Sub, end to end on the real API
// server with the GCP test server: a new version reaches every ExternalSecret reading the secret
// and restarts the opted-in workload, pulled with the store's own key-file identity; a disabled
// version reaches them too (they fail to read it, as LatestOrFail says), and a lost Pull response
// costs nothing but the redelivery after the ack deadline.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { CoreV1Api } from "@kubernetes/client-node";
import { startCluster, type Cluster } from "../cluster/index.ts";
import {
  applyObject,
  getExternalSecret,
  syncFailures,
  waitFor,
  waitForCondition,
  type TestController,
} from "../controller/harness.ts";
import { gcpStore } from "../gcp/fixtures.ts";
import { startGcpServer, type GcpTestServer } from "../servers/gcp/index.ts";
import {
  eventsController,
  eventsReady,
  everyReaderHas,
  readersOf,
  restartOf,
  restartedSince,
} from "./harness.ts";

const EMAIL = "events@refsync-test.iam.gserviceaccount.com";

let cluster: Cluster;
let gcp: GcpTestServer;
let ns: string;
let ctl: TestController;
let readers: string[];
let secret: string;

before(async () => {
  cluster = await startCluster({ crds: true });
  gcp = await startGcpServer();
  ns = await cluster.createNamespace("gcp-events");
  secret = `${ns}-db`;
  const subscription = `projects/${gcp.projectID}/subscriptions/refsync-${ns}`;
  const topic = `projects/${gcp.projectID}/topics/secrets`;
  gcp.pubsub.createSubscription(subscription, topic, { ackDeadlineSeconds: 2 });
  gcp.pubsub.notifySecretEvents(topic);
  gcp.addServiceAccount(EMAIL);
  gcp.bind({ member: `serviceAccount:${EMAIL}`, role: "secretAccessor", secrets: [`${ns}-*`] });
  gcp.bind({ member: `serviceAccount:${EMAIL}`, role: "subscriber", secrets: [`refsync-${ns}`] });
  // The store's validation lists secrets (secretmanager.secrets.list).
  gcp.bind({ member: `serviceAccount:${EMAIL}`, role: "viewer", secrets: ["*"] });
  gcp.putSecret(secret, JSON.stringify({ password: "first" }));
  ctl = await eventsController(cluster, ns);
  await cluster.kc.makeApiClient(CoreV1Api).createNamespacedSecret({
    namespace: ns,
    body: { metadata: { name: "gcp-key" }, stringData: { "key.json": gcp.createKey(EMAIL) } },
  });
  const store = gcpStore(
    gcp,
    { name: "gcp", namespace: ns },
    {
      endpoints: { secretManager: gcp.secretManager, pubsub: gcp.secretManager },
      auth: { secretRef: { secretAccessKeySecretRef: { name: "gcp-key", key: "key.json" } } },
    },
  );
  store.spec.events = { gcpPubSub: { subscription } };
  await applyObject(ctl.kube, store);
  readers = await readersOf(ctl.kube, ns, "gcp", secret);
  await eventsReady(ctl.kube, ns, "gcp", "True");
});

after(async () => {
  await ctl?.stop();
  await gcp?.close();
  await cluster?.stop();
});

void test("a new version reaches every reader and restarts the opted-in workload", async () => {
  const restartBefore = await restartOf(ctl.kube, ns);
  const changed = performance.now();
  gcp.putSecret(secret, JSON.stringify({ password: "second" }));
  await everyReaderHas(ctl.kube, ns, readers, "second");
  const secretMs = performance.now() - changed;
  await restartedSince(ctl.kube, ns, restartBefore);
  console.log(
    `gcp pubsub: change→Secret ${secretMs.toFixed(0)} ms, change→restart annotation ${(performance.now() - changed).toFixed(0)} ms`,
  );
  // The periodic refresh is an hour away: anything within seconds was the event.
  assert.ok(secretMs < 20_000, `took ${secretMs} ms`);
});

void test("a lost Pull response: the notification comes back after its ack deadline and is applied", async () => {
  gcp.pubsub.faults.drop = 1;
  gcp.putSecret(secret, JSON.stringify({ password: "after-drop" }));
  await everyReaderHas(ctl.kube, ns, readers, "after-drop");
});

void test("a disabled latest version reaches the readers at once: they report it, as LatestOrFail says", async () => {
  const latest = gcp.putSecret(secret, JSON.stringify({ password: "to-disable" }));
  await everyReaderHas(ctl.kube, ns, readers, "to-disable");
  const logFrom = ctl.logText().length;
  gcp.setVersionState(secret, latest, "DISABLED");
  for (const name of readers) await waitForCondition(ctl.kube, ns, name, "Ready", "False");
  // The failed sync is retried with back-off. The retry must read the changed key afresh as well:
  // the value cached before the change would make the reader Ready again, and a poll can miss the
  // short Ready=False in between. So wait for each reader's retry to fail too, then look again.
  for (const name of readers) {
    await waitFor(
      () => (syncFailures(ctl, ns, name, logFrom) >= 2 ? true : undefined),
      `the retry of ${name} failing as well`,
    );
    const es = await getExternalSecret(ctl.kube, ns, name);
    assert.equal(es?.status?.conditions?.find((c) => c.type === "Ready")?.status, "False", name);
  }
});
