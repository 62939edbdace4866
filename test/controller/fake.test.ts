/**
 * The controller on a real API server with the fake provider: syncing,
 * templates, dataFrom, creation/deletion/refresh policies, force-sync,
 * failure keeping the old Secret, recovery, and values never leaking.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { SecretChange } from "../../src/controller/hooks.ts";
import { resourceTypes } from "../../src/kube/resources.ts";
import { startCluster, type Cluster } from "../cluster/index.ts";
import {
  applyObject,
  deleteObject,
  externalSecret,
  fakeStore,
  getExternalSecret,
  getSecret,
  putSecret,
  startTestController,
  waitFor,
  waitForCondition,
  type TestController,
  waitForEvent,
} from "./harness.ts";

const VALUE = "s3cr3t-value-7f1e";

void describe("controller with the fake provider", () => {
  let cluster: Cluster;
  let ns: string;
  let ctl: TestController;
  /** Waits until the controller has synced ExternalSecret `name` `more` more times with `result` (its own metric). */
  const moreSyncs = async (name: string, result: "success" | "error", more: number) => {
    const count = async () =>
      (await ctl.controller.metrics.syncCalls.get()).values
        .filter((v) => v.labels.namespace === ns && v.labels.name === name && v.labels.result === result)
        .reduce((sum, v) => sum + v.value, 0);
    const from = await count();
    await waitFor(
      async () => ((await count()) >= from + more ? true : undefined),
      `${more} more ${result} syncs of ${name}`,
    );
  };
  const changes: SecretChange[] = [];

  before(async () => {
    cluster = await startCluster({ crds: true });
    ns = await cluster.createNamespace("fake");
    ctl = await startTestController(cluster, {
      namespace: ns,
      hooks: [
        (change) => {
          changes.push(change);
          return Promise.resolve();
        },
      ],
    });
    await applyObject(
      ctl.kube,
      fakeStore(ns, "demo", [
        { key: "team-a/db", valueMap: { username: "app", password: VALUE } },
        { key: "team-a/cfg", value: JSON.stringify({ host: "db.local", port: 5432 }) },
        { key: "team-a/b64", value: Buffer.from("decoded!").toString("base64") },
        { key: "apps/one", value: "1", tags: { team: "a" } },
        { key: "apps/two", value: "2", tags: { team: "b" } },
        { key: "pinned", value: "old", version: "1" },
        { key: "pinned", value: "new", version: "2" },
      ]),
    );
  });
  after(async () => {
    await ctl?.stop();
    await cluster?.stop();
  });

  void test("syncs data[] into an owned Secret with status, labels and hash; values never leak", async () => {
    await applyObject(
      ctl.kube,
      externalSecret(ns, "db", {
        secretStoreRef: { name: "demo" },
        data: [
          { secretKey: "user", remoteRef: { key: "team-a/db", property: "username" } },
          { secretKey: "password", remoteRef: { key: "team-a/db", property: "password" } },
          { secretKey: "host", remoteRef: { key: "team-a/cfg", property: "host" } },
          { secretKey: "plain", remoteRef: { key: "team-a/b64", decodingStrategy: "Base64" } },
          { secretKey: "v1", remoteRef: { key: "pinned", version: "1" } },
        ],
      }),
    );
    const es = await waitForCondition(ctl.kube, ns, "db", "Ready", "True", "SecretSynced");
    const secret = await waitFor(() => getSecret(ctl.kube, ns, "db"), "Secret db");
    assert.deepEqual(secret.data, {
      user: "app",
      password: VALUE,
      host: "db.local",
      plain: "decoded!",
      v1: "old",
    });
    assert.equal(secret.type, "Opaque");
    assert.equal(secret.metadata.labels?.["app.kubernetes.io/managed-by"], "refsync");
    assert.equal(secret.metadata.annotations?.["refsync.dev/data-hash"], es.status?.dataHash);
    assert.equal(secret.metadata.ownerReferences?.[0]?.uid, es.metadata.uid);
    assert.equal(es.status?.binding?.name, "db");
    assert.equal(es.status?.observedGeneration, es.metadata.generation);
    assert.ok(es.status?.refreshTime);
    assert.ok(!JSON.stringify(es.status).includes(VALUE));
    assert.ok(!ctl.logText().includes(VALUE), "log contains a value");
    const events = (await waitForEvent(ctl.kube, ns, "Created")).all;
    assert.ok(events.some((e) => e.reason === "Created"));
    assert.ok(!JSON.stringify(events).includes(VALUE), "an event contains a value");
    const metrics = await ctl.controller.metrics.registry.metrics();
    assert.match(metrics, /refsync_sync_calls_total\{name="db",namespace="[^"]+",result="success"\} [1-9]/);
    assert.match(metrics, /externalsecret_status_condition\{name="db",[^}]*status="True"\} 1/);
    assert.ok(!metrics.includes(VALUE));
  });

  void test("templates, dataFrom extract/find with rewrite, target name, type and metadata", async () => {
    await applyObject(
      ctl.kube,
      externalSecret(ns, "templated", {
        secretStoreRef: { name: "demo", kind: "SecretStore" },
        target: {
          name: "templated-out",
          template: {
            type: "kubernetes.io/basic-auth",
            metadata: { labels: { app: "web" }, annotations: { note: "hi" } },
            data: {
              username: "{{ upper username }}",
              password: "{{ password }}",
              url: 'postgres://{{username}}:{{password}}@{{lookup (fromJson cfg) "host"}}:5432/app',
              apps: "{{ apps_one }},{{ apps_two }}",
            },
          },
        },
        data: [{ secretKey: "cfg", remoteRef: { key: "team-a/cfg" } }],
        dataFrom: [
          { extract: { key: "team-a/db" } },
          { find: { name: { regexp: "^apps/" } }, rewrite: [{ regexp: { source: "/", target: "_" } }] },
        ],
      }),
    );
    await waitForCondition(ctl.kube, ns, "templated", "Ready", "True");
    const secret = await waitFor(() => getSecret(ctl.kube, ns, "templated-out"), "templated-out");
    assert.equal(secret.type, "kubernetes.io/basic-auth");
    assert.deepEqual(secret.data, {
      username: "APP",
      password: VALUE,
      url: `postgres://app:${VALUE}@db.local:5432/app`,
      apps: "1,2",
    });
    assert.equal(secret.metadata.labels?.app, "web");
    assert.equal(secret.metadata.annotations?.note, "hi");
  });

  void test("engineVersion v2 renders ESO's Go templates as they are", async () => {
    await applyObject(
      ctl.kube,
      fakeStore(ns, "eso", [
        { key: "db", valueMap: { user: "app", password: VALUE } },
        { key: "hosts", value: JSON.stringify({ hosts: ["db-0.local", "db-1.local"], port: 5432 }) },
      ]),
    );
    await applyObject(
      ctl.kube,
      externalSecret(ns, "gotpl", {
        secretStoreRef: { name: "eso" },
        target: {
          template: {
            engineVersion: "v2",
            data: {
              encoded: "{{ .password | b64enc }}",
              auth: '{{ printf "%s:%s" .user .password }}',
              hosts:
                "{{- $c := .hosts | fromJson -}}\n{{- range $i, $h := $c.hosts }}{{ if $i }},{{ end }}{{ $h }}:{{ $c.port }}{{ end }}",
              user: '{{ if eq .user "app" }}{{ .user | upper | quote }}{{ else }}other{{ end }}',
            },
          },
        },
        dataFrom: [{ extract: { key: "db" } }],
        data: [{ secretKey: "hosts", remoteRef: { key: "hosts" } }],
      }),
    );
    await waitForCondition(ctl.kube, ns, "gotpl", "Ready", "True");
    const secret = await waitFor(() => getSecret(ctl.kube, ns, "gotpl"), "gotpl");
    assert.deepEqual(secret.data, {
      encoded: Buffer.from(VALUE).toString("base64"),
      auth: `app:${VALUE}`,
      hosts: "db-0.local:5432,db-1.local:5432",
      user: '"APP"',
    });
    // A construct outside the supported set: InvalidSpec naming the key, the construct and where.
    await applyObject(
      ctl.kube,
      externalSecret(ns, "gotpl-bad", {
        secretStoreRef: { name: "eso" },
        target: { template: { engineVersion: "v2", data: { stamp: '{{ .user }}-{{ env "HOME" }}' } } },
        dataFrom: [{ extract: { key: "db" } }],
      }),
    );
    const es = await waitForCondition(ctl.kube, ns, "gotpl-bad", "Ready", "False", "InvalidSpec");
    const message = es.status?.conditions?.find((c) => c.type === "Ready")?.message ?? "";
    assert.match(message, /template\.data\.stamp: line 1, column 16: function "env" is not supported/);
    assert.ok(!message.includes(VALUE));
  });

  void test("a template error is InvalidSpec + Stalled naming the key, never a value", async () => {
    await applyObject(
      ctl.kube,
      externalSecret(ns, "badtpl", {
        secretStoreRef: { name: "demo" },
        target: { template: { data: { conf: "{{ fromJson password }}" } } },
        data: [{ secretKey: "password", remoteRef: { key: "team-a/db", property: "password" } }],
      }),
    );
    const es = await waitForCondition(ctl.kube, ns, "badtpl", "Ready", "False", "InvalidSpec");
    const ready = es.status?.conditions?.find((c) => c.type === "Ready");
    assert.match(ready?.message ?? "", /template\.data\.conf/);
    assert.ok(!ready?.message.includes(VALUE));
    assert.equal(es.status?.conditions?.find((c) => c.type === "Stalled")?.status, "True");
    assert.equal(await getSecret(ctl.kube, ns, "badtpl"), undefined);
  });

  void test("a missing key is NotFound; the store coming right recovers it", async () => {
    await applyObject(
      ctl.kube,
      externalSecret(ns, "late", {
        secretStoreRef: { name: "late-store" },
        data: [{ secretKey: "k", remoteRef: { key: "later" } }],
      }),
    );
    await waitForCondition(ctl.kube, ns, "late", "Ready", "False", "StoreNotReady");
    await applyObject(ctl.kube, fakeStore(ns, "late-store", [{ key: "other", value: "x" }]));
    await waitForCondition(ctl.kube, ns, "late", "Ready", "False", "NotFound");
    await applyObject(ctl.kube, fakeStore(ns, "late-store", [{ key: "later", value: "now" }]));
    await waitForCondition(ctl.kube, ns, "late", "Ready", "True", "SecretSynced");
    assert.equal((await getSecret(ctl.kube, ns, "late"))?.data.k, "now");
  });

  void test("backend failure keeps the old Secret untouched, and it recovers", async () => {
    await applyObject(ctl.kube, fakeStore(ns, "flaky", [{ key: "k", value: "v1" }]));
    await applyObject(
      ctl.kube,
      externalSecret(ns, "flaky", {
        secretStoreRef: { name: "flaky" },
        refreshInterval: "1s",
        data: [{ secretKey: "k", remoteRef: { key: "k" } }],
      }),
    );
    await waitForCondition(ctl.kube, ns, "flaky", "Ready", "True");
    const before = await getSecret(ctl.kube, ns, "flaky");
    assert.equal(before?.data.k, "v1");
    // The key disappears from the backend.
    await applyObject(ctl.kube, fakeStore(ns, "flaky", [{ key: "other", value: "x" }]));
    await waitFor(async () => {
      const es = await getExternalSecret(ctl.kube, ns, "flaky");
      return es?.status?.conditions?.find((c) => c.type === "Ready" && c.status === "False") ? es : undefined;
    }, "flaky Ready=False");
    // Two more failed attempts (it refreshes every second), counted by the controller, not slept for.
    await moreSyncs("flaky", "error", 2);
    const during = await getSecret(ctl.kube, ns, "flaky");
    assert.equal(during?.metadata.resourceVersion, before?.metadata.resourceVersion);
    assert.deepEqual(during?.data, { k: "v1" });
    await applyObject(ctl.kube, fakeStore(ns, "flaky", [{ key: "k", value: "v2" }]));
    await waitFor(
      async () => ((await getSecret(ctl.kube, ns, "flaky"))?.data.k === "v2" ? true : undefined),
      "recovery",
    );
    await waitForCondition(ctl.kube, ns, "flaky", "Ready", "True");
  });

  void test("Periodic refreshes; OnChange and CreatedOnce do not; force-sync does", async () => {
    await applyObject(ctl.kube, fakeStore(ns, "rotating", [{ key: "k", value: "a" }]));
    for (const [name, refreshPolicy] of [
      ["periodic", "Periodic"],
      ["onchange", "OnChange"],
      ["once", "CreatedOnce"],
    ] as const) {
      await applyObject(
        ctl.kube,
        externalSecret(ns, name, {
          secretStoreRef: { name: "rotating" },
          refreshInterval: "1s",
          refreshPolicy,
          data: [{ secretKey: "k", remoteRef: { key: "k" } }],
        }),
      );
      await waitForCondition(ctl.kube, ns, name, "Ready", "True");
    }
    await applyObject(ctl.kube, fakeStore(ns, "rotating", [{ key: "k", value: "b" }]));
    await waitFor(
      async () => ((await getSecret(ctl.kube, ns, "periodic"))?.data.k === "b" ? true : undefined),
      "periodic refresh",
    );
    // Two more refresh slots (of 1 s) of the periodic one, which shares their store and key and so
    // their slot phase: time in which the other two would have refreshed, were they refreshing.
    await moreSyncs("periodic", "success", 2);
    assert.equal((await getSecret(ctl.kube, ns, "onchange"))?.data.k, "a");
    assert.equal((await getSecret(ctl.kube, ns, "once"))?.data.k, "a");
    // force-sync: any new value syncs OnChange now.
    const es = await getExternalSecret(ctl.kube, ns, "onchange");
    await ctl.kube.mergePatch(resourceTypes.externalSecret, ns, "onchange", {
      metadata: { annotations: { "refsync.dev/force-sync": "1" } },
    });
    await waitFor(
      async () => ((await getSecret(ctl.kube, ns, "onchange"))?.data.k === "b" ? true : undefined),
      "force-sync",
    );
    const after = await getExternalSecret(ctl.kube, ns, "onchange");
    assert.notEqual(after?.status?.refreshTime, undefined);
    assert.equal(after?.metadata.generation, es?.metadata.generation);
    // A spec change syncs OnChange too; CreatedOnce recreates only a deleted Secret.
    await deleteObject(ctl.kube, { kind: "Secret", metadata: { name: "once", namespace: ns } });
    await waitFor(
      async () => ((await getSecret(ctl.kube, ns, "once"))?.data.k === "b" ? true : undefined),
      "CreatedOnce recreate",
    );
  });

  void test("creationPolicy Merge adds keys to an existing Secret; Orphan creates without owner", async () => {
    await putSecret(ctl.kube, ns, "shared", { mine: "keep" });
    await applyObject(
      ctl.kube,
      externalSecret(ns, "merge", {
        secretStoreRef: { name: "demo" },
        target: { name: "shared", creationPolicy: "Merge" },
        data: [{ secretKey: "user", remoteRef: { key: "team-a/db", property: "username" } }],
      }),
    );
    await waitForCondition(ctl.kube, ns, "merge", "Ready", "True");
    const merged = await getSecret(ctl.kube, ns, "shared");
    assert.deepEqual(merged?.data, { mine: "keep", user: "app" });
    assert.equal(merged?.metadata.ownerReferences, undefined);

    await applyObject(
      ctl.kube,
      externalSecret(ns, "merge-missing", {
        secretStoreRef: { name: "demo" },
        target: { name: "nonexistent", creationPolicy: "Merge" },
        data: [{ secretKey: "user", remoteRef: { key: "team-a/db", property: "username" } }],
      }),
    );
    const failed = await waitForCondition(ctl.kube, ns, "merge-missing", "Ready", "False", "SecretSyncError");
    assert.match(failed.status?.conditions?.find((c) => c.type === "Ready")?.message ?? "", /does not exist/);

    await applyObject(
      ctl.kube,
      externalSecret(ns, "orphan", {
        secretStoreRef: { name: "demo" },
        target: { creationPolicy: "Orphan" },
        data: [{ secretKey: "user", remoteRef: { key: "team-a/db", property: "username" } }],
      }),
    );
    await waitForCondition(ctl.kube, ns, "orphan", "Ready", "True");
    assert.equal((await getSecret(ctl.kube, ns, "orphan"))?.metadata.ownerReferences, undefined);
  });

  void test("deletionPolicy Delete deletes the Secret (no garbage collector needed); Retain keeps it", async () => {
    for (const [name, deletionPolicy] of [
      ["del", "Delete"],
      ["keep", "Retain"],
    ] as const) {
      await applyObject(
        ctl.kube,
        externalSecret(ns, name, {
          secretStoreRef: { name: "demo" },
          target: { creationPolicy: "Orphan", deletionPolicy },
          data: [{ secretKey: "user", remoteRef: { key: "team-a/db", property: "username" } }],
        }),
      );
      await waitForCondition(ctl.kube, ns, name, "Ready", "True");
    }
    const del = await getExternalSecret(ctl.kube, ns, "del");
    assert.ok(del?.metadata.finalizers?.includes("refsync.dev/externalsecret"));
    await deleteObject(ctl.kube, { kind: "ExternalSecret", metadata: { name: "del", namespace: ns } });
    await deleteObject(ctl.kube, { kind: "ExternalSecret", metadata: { name: "keep", namespace: ns } });
    await waitFor(
      async () => ((await getSecret(ctl.kube, ns, "del")) ? undefined : true),
      "Secret del deleted",
    );
    await waitFor(
      async () => ((await getExternalSecret(ctl.kube, ns, "del")) ? undefined : true),
      "ExternalSecret del gone",
    );
    assert.equal((await getSecret(ctl.kube, ns, "keep"))?.data.user, "app");
  });

  void test("creationPolicy Owner refuses a Secret another controller owns", async () => {
    await ctl.kube.create(resourceTypes.secret, {
      apiVersion: "v1",
      kind: "Secret",
      metadata: {
        name: "taken",
        namespace: ns,
        ownerReferences: [
          {
            apiVersion: "apps/v1",
            kind: "Deployment",
            name: "other",
            uid: "5c7e0000-0000-0000-0000-000000000001",
            controller: true,
          },
        ],
      },
      data: { theirs: Buffer.from("x").toString("base64") },
    });
    await applyObject(
      ctl.kube,
      externalSecret(ns, "taken", {
        secretStoreRef: { name: "demo" },
        data: [{ secretKey: "user", remoteRef: { key: "team-a/db", property: "username" } }],
      }),
    );
    await waitForCondition(ctl.kube, ns, "taken", "Ready", "False", "SecretSyncError");
    assert.deepEqual((await getSecret(ctl.kube, ns, "taken"))?.data, { theirs: "x" });
  });

  void test("an invalid spec is InvalidSpec naming the field", async () => {
    await applyObject(
      ctl.kube,
      externalSecret(ns, "invalid", {
        secretStoreRef: { name: "demo" },
        dataFrom: [{ find: { name: { regexp: "([" } } }],
      }),
    );
    const es = await waitForCondition(ctl.kube, ns, "invalid", "Ready", "False", "InvalidSpec");
    assert.match(
      es.status?.conditions?.find((c) => c.type === "Ready")?.message ?? "",
      /spec\.dataFrom\[0\]\.find\.name\.regexp/,
    );
  });

  void test("the store reports Ready", async () => {
    const store = await waitFor(async () => {
      const s = await ctl.kube.get<{ status?: { conditions?: { type: string; status: string }[] } }>(
        resourceTypes.secretStore,
        ns,
        "demo",
      );
      return s?.status?.conditions?.find((c) => c.type === "Ready" && c.status === "True") ? s : undefined;
    }, "store Ready");
    assert.ok(store);
  });
});
