// The Vault test server's event notifications over a websocket (the `ws`
// client, as refsync's source uses it): the handshake's policy check, the
// CloudEvents JSON of KV v1 and v2 changes, the per-event `subscribe`
// capability, and the fault switches.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import createVaultClient from "node-vault";
import WebSocket from "ws";
import { startVaultServer, type VaultTestServer } from "./index.ts";

let vault: VaultTestServer;
let subscriber: string;

before(async () => {
  vault = await startVaultServer();
  vault.root.mountKv("secret", 2);
  vault.root.mountKv("kv", 1);
  vault.root.writePolicy("events", [
    { path: "sys/events/subscribe/kv*", capabilities: ["read"] },
    { path: "secret/data/team-a/*", capabilities: ["read", "list", "subscribe"] },
    { path: "kv/team-a/*", capabilities: ["read", "subscribe"] },
  ]);
  subscriber = vault.root.createToken({ policies: ["events"], ttl: 3600 });
});

after(() => vault.stop());

interface Received {
  socket: WebSocket;
  events: { type: string; data: { event_type: string; event: { metadata: Record<string, string> } } }[];
}

async function subscribe(eventType: string, token = subscriber): Promise<Received> {
  const url = `${vault.url.replace(/^http/, "ws")}/v1/sys/events/subscribe/${eventType}?json=true`;
  const socket = new WebSocket(url, { headers: { "X-Vault-Token": token } });
  const received: Received = { socket, events: [] };
  socket.on("message", (data: Buffer) => received.events.push(JSON.parse(data.toString("utf8")) as never));
  await new Promise<void>((resolve, reject) => {
    socket.once("open", () => resolve());
    socket.once("unexpected-response", (_req, res) => reject(new Error(`status ${res.statusCode}`)));
    socket.once("error", reject);
  });
  return received;
}

async function until(check: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!check()) {
    if (Date.now() > deadline) assert.fail("timed out");
    await sleep(10);
  }
}

void test("KV v2 and v1 changes arrive as Vault's CloudEvents, only where the token may subscribe", async () => {
  const r = await subscribe("kv*");
  const api = createVaultClient({ endpoint: vault.url, token: vault.rootToken });
  await api.write("secret/data/team-a/db", { data: { password: "one" } });
  vault.root.putSecret("secret", "team-b/db", { password: "not yours" });
  vault.root.putSecret("kv", "team-a/legacy", { password: "v1" });
  await api.delete("secret/data/team-a/db");
  await until(() => r.events.length >= 3);
  await sleep(50);
  r.socket.close();
  assert.deepEqual(
    r.events.map((e) => [e.data.event_type, e.data.event.metadata["path"]]),
    [
      ["kv-v2/data-write", "secret/data/team-a/db"],
      ["kv-v1/write", "kv/team-a/legacy"],
      ["kv-v2/data-delete", "secret/data/team-a/db"],
    ],
  );
  const write = r.events[0]!;
  assert.equal(write.data.event.metadata["data_path"], "secret/data/team-a/db");
  assert.equal(write.data.event.metadata["current_version"], "1");
  assert.equal(write.data.event.metadata["operation"], "data-write");
  assert.doesNotMatch(JSON.stringify(r.events), /one|not yours/, "events carry no values");
});

void test("subscribing needs read on sys/events/subscribe/<type>", async () => {
  await assert.rejects(subscribe("kv*", "not-a-token"), /status 403/);
  await assert.rejects(subscribe("database*"), /status 403/);
});

void test("faults: dropped and refused connections, duplicates, reordering, delay", async () => {
  const r = await subscribe("kv-v2/data-write");
  const closed = new Promise((resolve) => r.socket.once("close", resolve));
  vault.events.dropConnections();
  await closed;
  vault.events.faults.refuse = true;
  await assert.rejects(subscribe("kv*"), /status 503/);
  vault.events.faults.refuse = false;

  const again = await subscribe("kv-v2/data-write");
  vault.events.faults.duplicate = 1;
  vault.root.putSecret("secret", "team-a/twice", { a: "1" });
  vault.events.faults.reorder = 2;
  vault.root.putSecret("secret", "team-a/first", { a: "1" });
  vault.root.putSecret("secret", "team-a/second", { a: "1" });
  vault.events.faults.delayMs = 200;
  vault.root.putSecret("secret", "team-a/late", { a: "1" });
  vault.events.faults.delayMs = 0;
  await until(() => again.events.length === 5);
  again.socket.close();
  assert.deepEqual(
    again.events.map((e) => e.data.event.metadata["path"]),
    [
      "secret/data/team-a/twice",
      "secret/data/team-a/twice",
      "secret/data/team-a/second",
      "secret/data/team-a/first",
      "secret/data/team-a/late",
    ],
  );
});
