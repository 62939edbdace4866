// The Vault event source against the Vault test server's event websocket:
// KV changes become KeyChanges named as the store's ExternalSecrets name them,
// the subscription needs the documented policy, and after a dropped
// connection the source resyncs every read key, so a change made while it
// was down is still caught (Vault keeps no backlog of events).
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { startVaultServer, type VaultTestServer } from "../../../test/servers/vault/index.ts";
import type { SecretStore } from "../../api/v1alpha1.ts";
import { recordingContext, run, until } from "../../../test/events/source-harness.ts";
import { VaultEventsSource } from "./vault-events.ts";

let vault: VaultTestServer;
let token: string;
let noSubscribe: string;

before(async () => {
  vault = await startVaultServer();
  vault.root.mountKv("secret", 2);
  vault.root.mountKv("other", 2);
  vault.root.writePolicy("events", [
    { path: "sys/events/subscribe/kv*", capabilities: ["read"] },
    { path: "secret/data/team-a/*", capabilities: ["read", "list", "subscribe"] },
    { path: "other/data/*", capabilities: ["read", "list", "subscribe"] },
  ]);
  vault.root.writePolicy("reader", [{ path: "secret/data/team-a/*", capabilities: ["read"] }]);
  token = vault.root.createToken({ policies: ["events"], ttl: 3600 });
  noSubscribe = vault.root.createToken({ policies: ["reader"], ttl: 3600 });
});

after(() => vault.stop());

function setup(options: { path?: string; token?: string; eventTypes?: string[] } = {}) {
  const store = {
    apiVersion: "refsync.dev/v1alpha1",
    kind: "ClusterSecretStore",
    metadata: { name: "vault" },
    spec: {
      provider: {
        vault: {
          server: vault.url,
          ...(options.path !== undefined && { path: options.path }),
          auth: { tokenSecretRef: { name: "vault", key: "token", namespace: "refsync" } },
        },
      },
      events: { vault: options.eventTypes ? { eventTypes: options.eventTypes } : {} },
    },
  } as unknown as SecretStore;
  const ctx = recordingContext({
    storeName: `ClusterSecretStore/vault-${Math.random()}`,
    readCredential: () => Promise.resolve(options.token ?? token),
  });
  const source = new VaultEventsSource(store, ctx, { backoff: { initialMs: 50, maxMs: 200 } });
  return { source, changes: ctx.changes, readKeys: ctx.read, ...run(source) };
}

void test("KV v2 changes under the store's mount become KeyChanges with the key ExternalSecrets use", async () => {
  const s = setup({ path: "secret" });
  try {
    await until("subscribed", () => s.source.health().up);
    const version = vault.root.putSecret("secret", "team-a/db", { password: "one" });
    vault.root.softDeleteSecret("secret", "team-a/db");
    vault.root.putSecret("other", "team-a/db", { password: "another mount" });
    vault.root.putSecret("secret", "team-b/db", { password: "no subscribe capability" });
    await until(
      "two changes and one other mount",
      () => s.changes.length === 2 && s.source.counts.ignored === 1,
    );
    assert.deepEqual(
      s.changes.map((c) => [c.key, c.version, c.source]),
      [
        ["team-a/db", String(version), "vault-events"],
        ["team-a/db", undefined, "vault-events"],
      ],
    );
    assert.deepEqual(s.changes[0]?.store, { kind: "ClusterSecretStore", name: "vault" });
  } finally {
    await s.stop();
  }
  assert.equal(s.source.health().up, false);
});

void test("a store without a path reports keys with their mount; one socket per configured event type", async () => {
  const s = setup({ eventTypes: ["kv-v2/data-write", "kv-v2/data-delete"] });
  try {
    await until("subscribed", () => s.source.health().up);
    assert.equal(vault.events.subscribers, 2);
    vault.root.putSecret("other", "app/db", { a: "1" });
    vault.root.softDeleteSecret("other", "app/db");
    await until("two changes", () => s.changes.length === 2);
    assert.deepEqual(
      s.changes.map((c) => c.key),
      ["other/app/db", "other/app/db"],
    );
  } finally {
    await s.stop();
  }
});

void test("without read on sys/events/subscribe the source is down and says what is missing", async () => {
  const s = setup({ path: "secret", token: noSubscribe });
  try {
    await until("refused", () => /HTTP 403/.test(s.source.health().reason ?? ""));
    assert.match(s.source.health().reason ?? "", /read on sys\/events\/subscribe\/kv\*/);
  } finally {
    await s.stop();
  }
});

void test("a dropped connection: a change made while down is caught by the resync of every read key", async () => {
  const s = setup({ path: "secret" });
  s.readKeys.add("team-a/db").add("team-a/api");
  try {
    await until("subscribed", () => s.source.health().up);
    vault.events.faults.refuse = true;
    vault.events.dropConnections();
    await until("down", () => !s.source.health().up);
    const published = vault.events.published.length;
    vault.root.putSecret("secret", "team-a/db", { password: "changed while down" });
    assert.equal(vault.events.published.length, published + 1, "Vault sent the event to nobody");
    await sleep(200);
    assert.equal(s.changes.length, 0, "nothing arrives while the connection is refused");
    vault.events.faults.refuse = false;
    await until("resynced", () => s.changes.length === 2);
    assert.deepEqual(s.changes.map((c) => c.key).sort(), ["team-a/api", "team-a/db"]);
    assert.equal(s.source.resyncs, 1);
    assert.equal(s.source.health().up, true);
  } finally {
    vault.events.faults.refuse = false;
    await s.stop();
  }
});

void test("duplicated and reordered events each report their key; malformed frames are counted", async () => {
  const s = setup({ path: "secret" });
  try {
    await until("subscribed", () => s.source.health().up);
    vault.events.faults.duplicate = 1;
    vault.root.putSecret("secret", "team-a/twice", { a: "1" });
    vault.events.faults.reorder = 2;
    vault.root.putSecret("secret", "team-a/first", { a: "1" });
    vault.root.putSecret("secret", "team-a/second", { a: "1" });
    vault.events.sendRaw("not json");
    vault.events.sendRaw(JSON.stringify({ data: { event_type: "kv-v2/data-write" } }));
    await until(
      "four changes, two malformed",
      () => s.changes.length === 4 && s.source.counts.malformed === 2,
    );
    assert.deepEqual(
      s.changes.map((c) => c.key),
      ["team-a/twice", "team-a/twice", "team-a/second", "team-a/first"],
    );
    assert.equal(s.source.health().up, true, "a malformed frame does not drop the subscription");
  } finally {
    await s.stop();
  }
});
