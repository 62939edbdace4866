/**
 * The informer against a loopback server speaking the list/watch protocol:
 * 410 Gone re-lists (and handlers see what changed meanwhile), a silent
 * watch is abandoned and re-listed, list errors are retried, and a write's
 * response older than a watch event does not roll the cache back.
 */
import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import { KubeConfig } from "@kubernetes/client-node";
import { silentLogger } from "../log.ts";
import { Informer } from "./informer.ts";
import { KubeClient, type KubeObject } from "./client.ts";
import { resourceTypes } from "./resources.ts";

/** Polls `cond` until it holds (a loaded machine may take a while), failing after `timeoutMs`. */
async function until(cond: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

interface Behaviour {
  items: KubeObject[];
  rv: number;
  /** What the next watch request does. */
  watch: "gone" | "silent" | "event-then-hold";
  failLists: number;
  lists: number;
  watches: number;
}

void describe("Informer", () => {
  let server: http.Server;
  let client: KubeClient;
  const b: Behaviour = { items: [], rv: 1, watch: "silent", failLists: 0, lists: 0, watches: 0 };
  const open = new Set<http.ServerResponse>();

  before(async () => {
    server = http.createServer((req, res) => {
      const url = new URL(req.url ?? "/", "http://x");
      if (url.searchParams.get("watch") !== "true") {
        b.lists++;
        if (b.failLists > 0) {
          b.failLists--;
          res
            .writeHead(500)
            .end(JSON.stringify({ kind: "Status", code: 500, reason: "InternalError", message: "boom" }));
          return;
        }
        res.writeHead(200, { "Content-Type": "application/json" });
        res.end(JSON.stringify({ items: b.items, metadata: { resourceVersion: String(b.rv) } }));
        return;
      }
      b.watches++;
      res.writeHead(200, { "Content-Type": "application/json" });
      open.add(res);
      res.on("close", () => open.delete(res));
      if (b.watch === "gone") {
        res.end(
          `${JSON.stringify({ type: "ERROR", object: { kind: "Status", code: 410, reason: "Expired", message: "too old" } })}\n`,
        );
      } else if (b.watch === "event-then-hold") {
        const obj = { metadata: { name: "late", namespace: "ns", resourceVersion: String(++b.rv) } };
        res.write(`${JSON.stringify({ type: "ADDED", object: obj })}\n`);
      }
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const kc = new KubeConfig();
    const port = (server.address() as AddressInfo).port;
    kc.loadFromOptions({
      clusters: [{ name: "c", server: `http://127.0.0.1:${port}`, skipTLSVerify: true }],
      users: [{ name: "u", token: "t" }],
      contexts: [{ name: "c", cluster: "c", user: "u" }],
      currentContext: "c",
    });
    client = await KubeClient.fromKubeConfig(kc);
  });
  after(async () => {
    for (const res of open) res.destroy();
    client.close();
    await new Promise((r) => server.close(r));
  });

  const obj = (name: string, rv: number): KubeObject => ({
    metadata: { name, namespace: "ns", resourceVersion: String(rv) },
  });

  void test("410 Gone re-lists and reports adds, updates and deletes that happened meanwhile", async () => {
    b.items = [obj("a", 1), obj("b", 1)];
    b.watch = "silent";
    const informer = new Informer<KubeObject>(client, resourceTypes.secret, silentLogger, {
      silenceMs: 60_000,
    });
    const seen: string[] = [];
    informer.on((event, o) => seen.push(`${event}:${o.metadata.name}`));
    informer.start();
    await informer.waitForSync();
    assert.deepEqual(seen.sort(), ["add:a", "add:b"]);
    // Meanwhile: a changed, b deleted, c added; then the watch expires.
    b.items = [obj("a", 5), obj("c", 5)];
    b.rv = 5;
    b.watch = "gone";
    for (const res of open) res.end(); // the server closes the current watch; the next one gets 410
    await until(() => informer.relists >= 2, "the re-list");
    b.watch = "silent";
    await until(() => seen.length >= 5, "the re-list's events");
    assert.deepEqual(seen.slice(2).sort(), ["add:c", "delete:b", "update:a"]);
    assert.deepEqual(
      informer
        .list()
        .map((o) => o.metadata.name)
        .sort(),
      ["a", "c"],
    );
    await informer.stop();
  });

  void test("a watch silent for longer than silenceMs is abandoned and re-listed", async () => {
    b.items = [obj("x", 1)];
    b.watch = "silent";
    const informer = new Informer<KubeObject>(client, resourceTypes.secret, silentLogger, { silenceMs: 200 });
    const started = Date.now();
    informer.start();
    await informer.waitForSync();
    // Observed from our own write after the list's snapshot (rv 99 > list rv): a re-list keeps it.
    informer.observe(obj("mine", 99));
    // Two silences noticed: not before 2 × silenceMs from the start (timers never fire early),
    // however long a loaded machine takes to get there.
    await until(() => informer.relists >= 3, "two re-lists after silences");
    assert.ok(Date.now() - started >= 2 * 200 - 10, `re-listed after ${Date.now() - started} ms`);
    assert.ok(informer.get("ns/mine"));
    await informer.stop();
  });

  void test("list errors are retried with back-off; watch events update the cache", async () => {
    b.items = [obj("y", 1)];
    b.failLists = 2;
    b.watch = "event-then-hold";
    const informer = new Informer<KubeObject>(client, resourceTypes.secret, silentLogger, {
      silenceMs: 60_000,
    });
    const started = Date.now();
    informer.start();
    await informer.waitForSync();
    assert.ok(Date.now() - started >= 1000, "retried after back-off (0.5 s, then 1 s)");
    while (!informer.get("ns/late")) await new Promise((r) => setTimeout(r, 20));
    assert.equal(b.failLists, 0);
    await informer.stop();
  });

  void test("a write's response older than a watch event already seen leaves the cache as it is", async () => {
    b.items = [];
    b.watch = "event-then-hold";
    const informer = new Informer<KubeObject>(client, resourceTypes.secret, silentLogger, {
      silenceMs: 60_000,
    });
    informer.start();
    try {
      await until(() => informer.get("ns/late") !== undefined, "the watch event");
      const seen = Number(informer.get("ns/late")?.metadata.resourceVersion);
      informer.observe(obj("late", seen - 1));
      assert.equal(informer.get("ns/late")?.metadata.resourceVersion, String(seen));
      informer.observe(obj("late", seen + 1));
      assert.equal(informer.get("ns/late")?.metadata.resourceVersion, String(seen + 1));
    } finally {
      await informer.stop();
    }
  });
});
