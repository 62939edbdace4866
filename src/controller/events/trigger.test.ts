import assert from "node:assert/strict";
import { test } from "node:test";
import type { ExternalSecret } from "../../api/v1alpha1.ts";
import { KeyReaders } from "./readers.ts";
import type { KeyChange, StoreRef } from "./source.ts";
import { RefreshTrigger, type ChangeOutcome } from "./trigger.ts";

const STORE: StoreRef = { kind: "SecretStore", namespace: "team", name: "vault" };

function es(name: string, spec: Partial<ExternalSecret["spec"]>, namespace = "team"): ExternalSecret {
  return {
    apiVersion: "refsync.dev/v1alpha1",
    kind: "ExternalSecret",
    metadata: { name, namespace },
    spec: { secretStoreRef: { name: "vault" }, ...spec },
  };
}

function change(key: string, extra: Partial<KeyChange> = {}): KeyChange {
  return { store: STORE, key, source: "test", receivedAt: Date.now(), ...extra };
}

void test("the index finds data, extract and find readers; other stores, namespaces and policies read nothing", () => {
  const readers = new KeyReaders();
  readers.set(es("data", { data: [{ secretKey: "p", remoteRef: { key: "app/db" } }] }));
  readers.set(es("extract", { dataFrom: [{ extract: { key: "app/db" } }] }));
  readers.set(es("find", { dataFrom: [{ find: { path: "app/", name: { regexp: "db$" } } }] }));
  readers.set(es("tags", { dataFrom: [{ find: { tags: { env: "prod" } } }] }));
  readers.set(es("other-key", { data: [{ secretKey: "p", remoteRef: { key: "app/api" } }] }));
  readers.set(es("elsewhere", { data: [{ secretKey: "p", remoteRef: { key: "app/db" } }] }, "other-team"));
  readers.set(
    es("once", { refreshPolicy: "CreatedOnce", data: [{ secretKey: "p", remoteRef: { key: "app/db" } }] }),
  );
  assert.deepEqual(readers.readersOf(STORE, "app/db"), [
    "team/data",
    "team/extract",
    "team/find",
    "team/tags",
  ]);
  // A find by tags alone may match any key: it is refreshed (a list) for each; a name that matches nothing is not.
  assert.deepEqual(readers.readersOf(STORE, "other/db"), ["team/tags"]);
  assert.deepEqual([...readers.keysOf(STORE)].sort(), ["app/api", "app/db"]);
  readers.delete("team/tags");
  readers.set(es("data", { data: [{ secretKey: "p", remoteRef: { key: "app/new" } }] }));
  assert.deepEqual(readers.readersOf(STORE, "app/db"), ["team/extract", "team/find"]);
  assert.deepEqual(readers.readersOf(STORE, "app/new"), ["team/data"]);
  assert.deepEqual(readers.readersOf(STORE, "unread"), []);
});

void test("changes to one key within the window make one refresh; unread and synced versions cost nothing", (t) => {
  t.mock.timers.enable({ apis: ["setTimeout", "Date"], now: 1_000_000 });
  const readers = new KeyReaders();
  readers.set(es("a", { data: [{ secretKey: "p", remoteRef: { key: "app/db" } }] }));
  readers.set(es("b", { dataFrom: [{ extract: { key: "app/db" } }] }));
  const refreshes: { key: string; readers: readonly string[]; sinceMs: number }[] = [];
  const outcomes: ChangeOutcome[] = [];
  const trigger = new RefreshTrigger({
    readers,
    windowMs: 200,
    synced: (_s, _k, version) => version === "7",
    refresh: (_s, key, r, sinceMs) => refreshes.push({ key, readers: r, sinceMs }),
    onOutcome: (_c, o) => outcomes.push(o),
  });
  trigger.report(change("app/db", { version: "8" }));
  t.mock.timers.tick(50);
  trigger.report(change("app/db", { version: "8", receivedAt: Date.now() })); // duplicate
  trigger.report(change("app/db", { version: "6", receivedAt: Date.now() })); // older, reordered
  trigger.report(change("unread"));
  assert.equal(refreshes.length, 0, "nothing before the window closes");
  t.mock.timers.tick(200);
  assert.deepEqual(refreshes, [{ key: "app/db", readers: ["team/a", "team/b"], sinceMs: 1_000_050 }]);
  trigger.report(change("app/db", { version: "7" })); // what every reader has
  t.mock.timers.tick(500);
  assert.equal(refreshes.length, 1);
  assert.deepEqual(outcomes, ["refresh", "duplicate", "duplicate", "unread", "unchanged"]);
  // A change after the window is a new refresh.
  trigger.report(change("app/db"));
  trigger.stop();
  t.mock.timers.tick(500);
  assert.equal(refreshes.length, 1, "stop drops refreshes not yet started");
});

void test("an ExternalSecret is indexed under every store its entries read from (sourceRef.storeRef)", () => {
  const readers = new KeyReaders();
  const shared: StoreRef = { kind: "ClusterSecretStore", name: "shared" };
  const other: StoreRef = { kind: "SecretStore", namespace: "team", name: "other" };
  readers.set(
    es("multi", {
      data: [
        { secretKey: "a", remoteRef: { key: "app/db" } },
        { secretKey: "b", remoteRef: { key: "app/db" }, sourceRef: { storeRef: { name: "other" } } },
      ],
      dataFrom: [
        {
          find: { path: "cfg/" },
          sourceRef: { storeRef: { name: "shared", kind: "ClusterSecretStore" } },
        },
      ],
    }),
  );
  assert.deepEqual(readers.readersOf(STORE, "app/db"), ["team/multi"]);
  assert.deepEqual(readers.readersOf(other, "app/db"), ["team/multi"]);
  assert.deepEqual(readers.readersOf(shared, "cfg/x"), ["team/multi"]);
  assert.deepEqual(readers.readersOf(shared, "app/db"), [], "the find reads only its own store");
  assert.deepEqual([...readers.keysOf(other)], ["app/db"]);
  readers.delete("team/multi");
  for (const store of [STORE, other, shared]) assert.deepEqual(readers.readersOf(store, "cfg/x"), []);
  assert.deepEqual([...readers.keysOf(other)], []);
});
