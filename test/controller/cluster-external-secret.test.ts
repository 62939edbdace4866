// ClusterExternalSecret on the real API server, with ESO's semantics: one
// ExternalSecret per selected namespace (labels OR-ed, or by name), created
// and removed as namespaces are labelled and unlabelled, a foreign
// ExternalSecret of the same name left alone and its namespace reported as
// failed, and every ExternalSecret deleted with the ClusterExternalSecret
// (this cluster runs no garbage collector: the controller's finalizer does it).
// The namespaces' ExternalSecrets share one backend read per key.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import type { ClusterExternalSecret, ExternalSecret, SecretStore } from "../../src/api/v1alpha1.ts";
import type { KubeObject } from "../../src/kube/client.ts";
import { resourceTypes, type ResourceType } from "../../src/kube/resources.ts";
import { startCluster, type Cluster } from "../cluster/index.ts";
import { Controller } from "../../src/controller/manager.ts";
import {
  applyObject,
  deleteObject,
  ensureCrds,
  externalSecret,
  getExternalSecret,
  getSecret,
  startTestController,
  waitFor,
  waitForCondition,
  type TestController,
} from "./harness.ts";

let cluster: Cluster;
let ctl: TestController;

before(async () => {
  // A cluster of its own: this controller watches every namespace (ClusterExternalSecrets need it),
  // and on the shared cluster it would also reconcile other files' ExternalSecrets.
  cluster = await startCluster({ crds: true, private: true });
  ctl = await startTestController(cluster, { namespace: undefined });
});

after(async () => {
  await ctl?.stop();
  await cluster?.stop();
});

function fakeClusterStore(name: string, data: { key: string; value: string }[]): SecretStore {
  return {
    apiVersion: "refsync.dev/v1alpha1",
    kind: "ClusterSecretStore",
    metadata: { name },
    spec: { provider: { fake: { data } } },
  };
}

function ces(
  name: string,
  spec: Partial<ClusterExternalSecret["spec"]>,
  store: string,
): ClusterExternalSecret {
  return {
    apiVersion: "refsync.dev/v1alpha1",
    kind: "ClusterExternalSecret",
    metadata: { name },
    spec: {
      externalSecretSpec: {
        secretStoreRef: { name: store, kind: "ClusterSecretStore" },
        data: [{ secretKey: "password", remoteRef: { key: "db", property: "password" } }],
      },
      ...spec,
    },
  };
}

async function namespace(prefix: string, labels: Record<string, string> = {}): Promise<string> {
  const name = await cluster.createNamespace(prefix);
  if (Object.keys(labels).length) await setLabels(name, labels);
  return name;
}

/** Replaces the namespace's labels (null removes one). */
async function setLabels(name: string, labels: Record<string, string | null>): Promise<void> {
  await ctl.kube.mergePatch(resourceTypes.namespace, undefined, name, { metadata: { labels } });
}

const getCes = (name: string) =>
  ctl.kube.get<ClusterExternalSecret>(resourceTypes.clusterExternalSecret, undefined, name);

/** Waits for the ClusterExternalSecret's status, for its current generation, to satisfy `ok`. */
function waitForStatus(name: string, ok: (c: ClusterExternalSecret) => boolean, what: string) {
  return waitFor(async () => {
    const c = await getCes(name);
    if (!c || c.status?.observedGeneration !== c.metadata.generation || !ok(c)) return undefined;
    return c;
  }, `ClusterExternalSecret ${name}: ${what}`);
}

const condition = (c: ClusterExternalSecret, type: string) =>
  c.status?.conditions?.find((x) => x.type === type);
const ready = (c: ClusterExternalSecret) => condition(c, "Ready");
const sorted = (...names: string[]) => [...names].sort();

async function removeCes(name: string): Promise<void> {
  await deleteObject(ctl.kube, { kind: "ClusterExternalSecret", metadata: { name } });
  await waitFor(async () => ((await getCes(name)) ? undefined : true), `ClusterExternalSecret ${name} gone`);
}

void test("selects namespaces by any selector or by name, follows their labels, and cleans up on delete", async () => {
  await applyObject(ctl.kube, fakeClusterStore("ces-store", [{ key: "db", value: '{"password":"s3cret"}' }]));
  const team = await namespace("ces-team", { team: "payments" });
  const tier = await namespace("ces-tier", { tier: "backend" });
  const named = await namespace("ces-named");
  const other = await namespace("ces-other", { team: "search" });
  await applyObject(
    ctl.kube,
    ces(
      "db",
      {
        externalSecretName: "db-credentials",
        externalSecretMetadata: { labels: { app: "db" }, annotations: { note: "from ces" } },
        namespaceSelectors: [
          { matchLabels: { team: "payments" } },
          { matchExpressions: [{ key: "tier", operator: "In", values: ["backend", "data"] }] },
        ],
        namespaces: [named],
      },
      "ces-store",
    ),
  );
  const status = await waitForStatus(
    "db",
    (c) => c.status?.provisionedNamespaces?.length === 3 && ready(c)?.status === "True",
    "three namespaces provisioned",
  );
  assert.deepEqual(status.status?.provisionedNamespaces, sorted(team, tier, named));
  assert.equal(status.status?.externalSecretName, "db-credentials");
  assert.equal(status.status?.failedNamespaces, undefined);
  assert.equal(ready(status)?.reason, "Provisioned");
  for (const ns of [team, tier, named]) {
    await waitForCondition(ctl.kube, ns, "db-credentials", "Ready", "True");
    const es = (await getExternalSecret(ctl.kube, ns, "db-credentials")) as ExternalSecret;
    assert.equal(es.metadata.labels?.app, "db");
    assert.equal(es.metadata.annotations?.note, "from ces");
    const owner = es.metadata.ownerReferences?.[0];
    assert.deepEqual(
      { kind: owner?.kind, name: owner?.name, uid: owner?.uid, controller: owner?.controller },
      { kind: "ClusterExternalSecret", name: "db", uid: status.metadata.uid, controller: true },
    );
    assert.equal((await getSecret(ctl.kube, ns, "db-credentials"))?.data.password, "s3cret");
  }
  assert.equal(await getExternalSecret(ctl.kube, other, "db-credentials"), undefined);

  // Labelled later: it gets the ExternalSecret; unlabelled: it loses it.
  await setLabels(other, { team: "payments" });
  await waitFor(
    () => getExternalSecret(ctl.kube, other, "db-credentials"),
    "ExternalSecret in a relabelled namespace",
  );
  await setLabels(team, { team: null });
  await waitFor(
    async () => ((await getExternalSecret(ctl.kube, team, "db-credentials")) ? undefined : true),
    "ExternalSecret gone from an unlabelled namespace",
  );
  await waitForStatus(
    "db",
    (c) => JSON.stringify(c.status?.provisionedNamespaces) === JSON.stringify(sorted(tier, named, other)),
    "provisioned namespaces follow the labels",
  );

  // An edit of a created ExternalSecret is undone (ESO's CreateOrUpdate: the CES's spec wins).
  const drifted = (await getExternalSecret(ctl.kube, tier, "db-credentials")) as ExternalSecret;
  await ctl.kube.mergePatch(resourceTypes.externalSecret, tier, "db-credentials", {
    spec: { refreshInterval: "5m" },
  });
  await waitFor(async () => {
    const es = await getExternalSecret(ctl.kube, tier, "db-credentials");
    return es &&
      es.metadata.generation !== drifted.metadata.generation &&
      es.spec.refreshInterval === undefined
      ? es
      : undefined;
  }, "the edited ExternalSecret restored");

  // Deleting the ClusterExternalSecret deletes every ExternalSecret it created.
  await removeCes("db");
  for (const ns of [tier, named, other])
    assert.equal(await getExternalSecret(ctl.kube, ns, "db-credentials"), undefined, ns);
});

void test("a foreign ExternalSecret of the same name is left alone and its namespace reported as failed", async () => {
  await applyObject(ctl.kube, fakeClusterStore("ces-store-2", [{ key: "db", value: '{"password":"p"}' }]));
  const mine = await namespace("ces-mine", { shared: "yes" });
  const taken = await namespace("ces-taken", { shared: "yes" });
  const foreign = externalSecret(taken, "shared", {
    secretStoreRef: { name: "ces-store-2", kind: "ClusterSecretStore" },
    data: [{ secretKey: "other", remoteRef: { key: "db" } }],
  });
  await applyObject(ctl.kube, foreign);
  await applyObject(
    ctl.kube,
    ces("shared", { namespaceSelectors: [{ matchLabels: { shared: "yes" } }] }, "ces-store-2"),
  );
  const failed = await waitForStatus(
    "shared",
    (c) => ready(c)?.status === "False" && c.status?.provisionedNamespaces?.length === 1,
    "Ready=False with one failed namespace",
  );
  assert.deepEqual(failed.status?.failedNamespaces, [
    { namespace: taken, reason: "external secret already exists in namespace" },
  ]);
  assert.deepEqual(failed.status?.provisionedNamespaces, [mine]);
  assert.equal(ready(failed)?.reason, "NamespacesFailed");
  // No retry helps until the foreign ExternalSecret goes: Stalled (kstatus Failed, Argo CD Degraded).
  assert.equal(condition(failed, "Stalled")?.status, "True");
  assert.match(ready(failed)?.message ?? "", new RegExp(`one or more namespaces failed: ${taken}`));
  const untouched = (await getExternalSecret(ctl.kube, taken, "shared")) as ExternalSecret;
  assert.equal(untouched.metadata.ownerReferences, undefined);
  assert.deepEqual(untouched.spec.data, foreign.spec.data);

  // The foreign one deleted (its finalizer released by the controller), the namespace is provisioned.
  await deleteObject(ctl.kube, foreign);
  const fixed = await waitForStatus(
    "shared",
    (c) => ready(c)?.status === "True" && c.status?.provisionedNamespaces?.length === 2,
    "Ready=True once the foreign ExternalSecret is gone",
  );
  assert.equal(fixed.status?.failedNamespaces, undefined);
  assert.equal(condition(fixed, "Stalled"), undefined);
  await removeCes("shared");
  // Deleting it did not touch ExternalSecrets it never owned: none is left in either namespace.
  assert.equal(await getExternalSecret(ctl.kube, mine, "shared"), undefined);
});

void test("an invalid spec is refused by field, with nothing created", async () => {
  const ns = await namespace("ces-invalid", { invalid: "yes" });
  const bad = ces("invalid", { namespaceSelectors: [{ matchLabels: { invalid: "yes" } }] }, "ces-store");
  (bad.spec.externalSecretSpec.data?.[0]?.remoteRef as Record<string, unknown>).proprety = "x";
  await applyObject(ctl.kube, bad);
  const refused = await waitForStatus("invalid", (c) => ready(c)?.reason === "InvalidSpec", "InvalidSpec");
  assert.match(
    ready(refused)?.message ?? "",
    /spec\.externalSecretSpec\.data\[0\]\.remoteRef\.proprety: unknown field/,
  );
  assert.equal(await getExternalSecret(ctl.kube, ns, "invalid"), undefined);
  await removeCes("invalid");
});

void test("the namespaces' ExternalSecrets share one backend read per key", async () => {
  const store = "ces-shared-store";
  await applyObject(ctl.kube, fakeClusterStore(store, [{ key: "db", value: '{"password":"one-read"}' }]));
  const namespaces = await Promise.all(
    Array.from({ length: 6 }, (_, i) => namespace(`ces-fan-${i}`, { fan: "out" })),
  );
  // refreshTime 0: namespaces are selected again only on changes.
  await applyObject(
    ctl.kube,
    ces("fan", { namespaceSelectors: [{ matchLabels: { fan: "out" } }], refreshTime: "0" }, store),
  );
  for (const ns of namespaces) {
    await waitForCondition(ctl.kube, ns, "fan", "Ready", "True");
    assert.equal((await getSecret(ctl.kube, ns, "fan"))?.data.password, "one-read");
  }
  const { values } = await ctl.controller.metrics.providerCalls.get();
  const reads = values
    .filter((v) => v.labels.store === `ClusterSecretStore/${store}` && v.labels.call === "read")
    .reduce((n, v) => n + v.value, 0);
  assert.equal(reads, 1, `${namespaces.length} namespaces, ${reads} backend reads`);
  const failures = ctl
    .logText()
    .split("\n")
    .filter((l) => l.includes("reconcile failed") && l.includes("ClusterExternalSecret:fan"));
  assert.deepEqual(failures, []);
  await removeCes("fan");
});

void test("a new externalSecretName replaces the old ExternalSecrets; force-sync reaches every namespace", async () => {
  await applyObject(ctl.kube, fakeClusterStore("ces-store-3", [{ key: "db", value: '{"password":"r"}' }]));
  const [a, b] = await Promise.all([
    namespace("ces-rename-a", { rename: "yes" }),
    namespace("ces-rename-b", { rename: "yes" }),
  ]);
  const spec = { namespaceSelectors: [{ matchLabels: { rename: "yes" } }] };
  await applyObject(ctl.kube, ces("rename", { ...spec, externalSecretName: "before" }, "ces-store-3"));
  await waitForStatus("rename", (c) => c.status?.provisionedNamespaces?.length === 2, "provisioned");
  await applyObject(ctl.kube, ces("rename", { ...spec, externalSecretName: "after" }, "ces-store-3"));
  const renamed = await waitForStatus(
    "rename",
    (c) => c.status?.externalSecretName === "after" && c.status.provisionedNamespaces?.length === 2,
    "renamed",
  );
  assert.equal(ready(renamed)?.status, "True");
  for (const ns of [a, b]) {
    await waitFor(
      async () => ((await getExternalSecret(ctl.kube, ns, "before")) ? undefined : true),
      `ExternalSecret ${ns}/before gone`,
    );
    await waitForCondition(ctl.kube, ns, "after", "Ready", "True");
  }

  // The force-sync annotation of the ClusterExternalSecret is copied to each ExternalSecret.
  const forced = ces("rename", { ...spec, externalSecretName: "after" }, "ces-store-3");
  forced.metadata.annotations = { "refsync.dev/force-sync": "2026-12-02T00:00:00Z" };
  await applyObject(ctl.kube, forced);
  for (const ns of [a, b])
    await waitFor(async () => {
      const es = await getExternalSecret(ctl.kube, ns, "after");
      return es?.metadata.annotations?.["refsync.dev/force-sync"] === "2026-12-02T00:00:00Z" ? es : undefined;
    }, `force-sync annotation on ${ns}/after`);
  await removeCes("rename");
});

void test("an edit whose event comes before the ClusterExternalSecret's write returns is undone", async (t) => {
  await applyObject(ctl.kube, fakeClusterStore("ces-store-4", [{ key: "db", value: '{"password":"e"}' }]));
  const ns = await namespace("ces-raced", { raced: "yes" });
  // refreshTime 0: nothing but a watch event makes the ClusterExternalSecret look again.
  const raced = (labels: Record<string, string>) =>
    ces(
      "raced",
      {
        namespaceSelectors: [{ matchLabels: { raced: "yes" } }],
        externalSecretMetadata: { labels },
        refreshTime: "0",
      },
      "ces-store-4",
    );
  await applyObject(ctl.kube, raced({ v: "1" }));
  await waitForStatus("raced", (c) => c.status?.provisionedNamespaces?.length === 1, "provisioned");
  // A person annotates the ExternalSecret just after the controller's update of it, and the
  // controller sees that edit's watch event before the update's response (a loaded machine).
  const kube = ctl.controller.kube;
  const replace = kube.replace.bind(kube);
  let editing = false;
  let edited = false;
  t.mock.method(kube, "replace", async (type: ResourceType, obj: KubeObject, signal?: AbortSignal) => {
    const written = await replace(type, obj, signal);
    if (editing || obj.metadata.namespace !== ns) return written;
    editing = true;
    const edit = await ctl.kube.mergePatch<ExternalSecret>(resourceTypes.externalSecret, ns, "raced", {
      metadata: { annotations: { note: "by hand" } },
    });
    const cachedVersion = () =>
      BigInt(ctl.controller.externalSecrets.get(`${ns}/raced`)?.metadata.resourceVersion ?? "0");
    await waitFor(
      () => cachedVersion() >= BigInt(edit.metadata.resourceVersion ?? "0") || undefined,
      "the edit's event in the cache",
    );
    edited = true;
    return written;
  });
  await applyObject(ctl.kube, raced({ v: "2" }));
  await waitFor(async () => {
    const es = await getExternalSecret(ctl.kube, ns, "raced");
    return edited && es?.metadata.labels?.v === "2" && es.metadata.annotations?.note === undefined
      ? es
      : undefined;
  }, "the hand-made annotation removed from the updated ExternalSecret");
  await removeCes("raced");
});

void test("an edit of only the labels or controller reference is undone at once, as ESO's Owns does", async () => {
  await applyObject(ctl.kube, fakeClusterStore("ces-store-5", [{ key: "db", value: '{"password":"o"}' }]));
  const ns = await namespace("ces-owned", { owned: "yes" });
  // refreshTime at its default (1h): only the edit's watch event can bring the ClusterExternalSecret back.
  await applyObject(
    ctl.kube,
    ces(
      "owned",
      {
        namespaceSelectors: [{ matchLabels: { owned: "yes" } }],
        externalSecretMetadata: { labels: { app: "db" } },
      },
      "ces-store-5",
    ),
  );
  const provisioned = await waitForStatus(
    "owned",
    (c) => c.status?.provisionedNamespaces?.length === 1,
    "provisioned",
  );
  const soon = 10_000;
  const edit = (metadata: Partial<ExternalSecret["metadata"]>) =>
    ctl.kube.mergePatch(resourceTypes.externalSecret, ns, "owned", { metadata });

  // Labels alone: no new generation, annotation or finalizer, yet ESO's CreateOrUpdate resets them.
  await edit({ labels: { app: "edited", extra: "by-hand" } });
  await waitFor(
    async () => {
      const es = await getExternalSecret(ctl.kube, ns, "owned");
      return JSON.stringify(es?.metadata.labels) === JSON.stringify({ app: "db" }) ? es : undefined;
    },
    "the edited labels restored",
    soon,
  );

  // The controller reference changed (SetControllerReference sets it again), a foreign one kept.
  const controllerRef = {
    apiVersion: "refsync.dev/v1alpha1",
    kind: "ClusterExternalSecret",
    name: "owned",
    uid: provisioned.metadata.uid as string,
    controller: true,
  };
  const foreignRef = { apiVersion: "v1", kind: "ConfigMap", name: "keeper", uid: "0000-keeper" };
  await edit({ ownerReferences: [controllerRef, foreignRef] });
  const restored = await waitFor(
    async () => {
      const es = await getExternalSecret(ctl.kube, ns, "owned");
      const ref = es?.metadata.ownerReferences?.find((o) => o.controller === true);
      return ref?.blockOwnerDeletion === true ? es : undefined;
    },
    "blockOwnerDeletion restored on the controller reference",
    soon,
  );
  assert.deepEqual(
    restored.metadata.ownerReferences?.map((o) => o.name),
    ["owned", "keeper"],
    "the controller reference set in place, the foreign one kept",
  );

  // The controller reference removed: as ESO, the ExternalSecret is no longer the
  // ClusterExternalSecret's, which reports the namespace failed instead of taking it back.
  await edit({ ownerReferences: [foreignRef] });
  const failed = await waitFor(
    async () => {
      const c = await getCes("owned");
      return c?.status?.failedNamespaces?.length ? c : undefined;
    },
    "the namespace reported failed",
    soon,
  );
  assert.deepEqual(failed.status?.failedNamespaces, [
    { namespace: ns, reason: "external secret already exists in namespace" },
  ]);
  await deleteObject(ctl.kube, { kind: "ExternalSecret", metadata: { namespace: ns, name: "owned" } });
  await removeCes("owned");
});

void test("a controller upgraded before its CRDs starts without the ClusterExternalSecret CRD", async () => {
  const crds = {
    group: "apiextensions.k8s.io",
    version: "v1",
    plural: "customresourcedefinitions",
    kind: "CustomResourceDefinition",
    namespaced: false,
  };
  await ctl.kube.delete(crds, undefined, "clusterexternalsecrets.refsync.dev");
  await waitFor(
    async () =>
      (await ctl.kube.get(crds, undefined, "clusterexternalsecrets.refsync.dev")) ? undefined : true,
    "the CRD gone",
  );
  // A lease someone else holds: this second controller stays a standby and reconciles nothing.
  const renewTime = new Date().toISOString().replace("Z", "000Z");
  await ctl.kube.apply(
    resourceTypes.leaderElectionLock,
    {
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      metadata: { name: "ces-no-crd", namespace: "default" },
      spec: { holderIdentity: "someone-else", leaseDurationSeconds: 3600, acquireTime: renewTime, renewTime },
    },
    { fieldManager: "test", force: true },
  );
  const other = await Controller.create({
    kc: cluster.kc,
    hashKeySecret: { namespace: "default", name: "refsync-hash-key" },
    leaderElection: { name: "ces-no-crd", namespace: "default", leaseDurationSeconds: 3600 },
  });
  try {
    // Without the fix, start() waits forever for a list the API server answers with 404.
    const started = await Promise.race([
      other.start().then(() => true),
      new Promise<false>((resolve) => setTimeout(resolve, 20_000, false)),
    ]);
    assert.equal(started, true, "the controller started");
    assert.equal(other.ready, true);
    assert.equal(other.isLeader, false);
  } finally {
    await other.stop();
    await ensureCrds(ctl.kube);
  }
});
