// Event-driven refresh through the signed webhook, end to end on the real API server with the Vault
// test server: a change reaches every ExternalSecret reading the key (data, extract, find) with one
// backend read and restarts the opted-in workload; duplicated and reordered events make one refresh;
// a version already synced and a key nobody reads cost nothing; forged, stale, replayed, oversized
// and flooding requests are refused and counted; a store whose source is down says so and keeps
// refreshing on its interval.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { signWebhook } from "../../src/controller/events/webhook.ts";
import type { RunningServer } from "../../src/server/app.ts";
import {
  applyObject,
  externalSecret,
  getSecret,
  putSecret,
  waitFor,
  waitForCondition,
  type TestController,
} from "../controller/harness.ts";
import {
  eventsController,
  eventsEndpoint,
  eventsReady,
  readersOf,
  restartedSince,
  restartOf,
} from "./harness.ts";
import {
  createServiceAccount,
  grantNamespace,
  kubernetesAuthSpec,
  startVaultSuite,
  useSuite,
  vaultStore,
  type VaultSuite,
} from "../vault/setup.ts";

const HOOK_SECRET = "a-webhook-signing-secret-of-40-characters";

interface EventsSuite extends VaultSuite {
  ns: string;
  ctl: TestController;
  server: RunningServer;
}

async function startEventsSuite(): Promise<EventsSuite> {
  const suite = await startVaultSuite();
  const ns = await suite.cluster.createNamespace("events");
  const ctl = await eventsController(suite.cluster, ns);
  const server = await eventsEndpoint(ctl);
  return {
    ...suite,
    ns,
    ctl,
    server,
    async stop() {
      await server.close();
      await ctl.stop();
      await suite.stop();
    },
  };
}

function webhookStore(ns: string, name: string, vaultUrl: string, secretName: string) {
  return vaultStore(ns, name, kubernetesAuthSpec(vaultUrl, ns, "app"), {
    events: { webhook: { secretRef: { name: secretName, key: "secret" } } },
  });
}

/** Reads of one Vault KV v2 secret the controller made so far. */
function reads(suite: EventsSuite, key: string): number {
  return suite.vault.count({ method: "GET", path: `secret/data/${suite.ns}/${key}`, status: 200 });
}

/** Every request to the KV mount (reads, lists, metadata). */
function allReads(suite: EventsSuite): number {
  return suite.vault.count({ path: /^secret\// });
}

async function post(
  suite: EventsSuite,
  body: string,
  options: { store?: string; timestamp?: number; secret?: string; headers?: Record<string, string> } = {},
): Promise<Response> {
  const timestamp = options.timestamp ?? Math.floor(Date.now() / 1000);
  return fetch(`${suite.server.url}/api/v1/events/${suite.ns}/${options.store ?? "vault"}`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "x-refsync-timestamp": String(timestamp),
      "x-refsync-signature": signWebhook(options.secret ?? HOOK_SECRET, timestamp, body),
      ...options.headers,
    },
    body,
  });
}

function changes(...keys: (string | { key: string; version: string })[]): string {
  return JSON.stringify({ changes: keys.map((k) => (typeof k === "string" ? { key: k } : k)) });
}

async function metric(suite: EventsSuite, name: string, labels: string): Promise<number> {
  const text = await suite.ctl.controller.metrics.registry.metrics();
  return text
    .split("\n")
    .filter((l) => l.startsWith(`${name}{`) && labels.split(",").every((p) => l.includes(p)))
    .reduce((n, l) => n + Number(l.slice(l.lastIndexOf(" ") + 1)), 0);
}

async function syncs(suite: EventsSuite, name: string): Promise<number> {
  return metric(suite, "refsync_sync_calls_total", `name="${name}",result="success"`);
}

async function waitForValue(suite: EventsSuite, name: string, key: string, want: string): Promise<void> {
  let seen: Record<string, string> | undefined;
  await waitFor(async () => {
    seen = (await getSecret(suite.ctl.kube, suite.ns, name))?.data;
    return seen?.[key] === want ? true : undefined;
  }, `Secret ${name} with ${key} = ${want}`).catch((err: Error) => {
    throw new Error(`${err.message} (it holds keys ${Object.keys(seen ?? {}).join(", ")})`);
  });
}

const READERS = ["by-data", "by-extract", "by-find"];

void describe("event-driven refresh through the signed webhook", () => {
  const suite = useSuite(startEventsSuite, async (s) => {
    const { ns, vault, ctl } = s;
    await createServiceAccount(ctl.kube, ns, "app");
    grantNamespace(vault, ns);
    vault.root.putSecret("secret", `${ns}/db`, { password: "first" });
    vault.root.putSecret("secret", `${ns}/api`, { token: "api-1" });
    vault.root.putSecret("secret", `${ns}/unread`, { x: "1" });
    await putSecret(ctl.kube, ns, "hook", { secret: HOOK_SECRET });
    await applyObject(ctl.kube, webhookStore(ns, "vault", vault.url, "hook"));
    await readersOf(ctl.kube, ns, "vault", `${ns}/db`);
    const every = { secretStoreRef: { name: "vault" }, refreshInterval: "1h" };
    await applyObject(
      ctl.kube,
      externalSecret(ns, "by-find", {
        ...every,
        dataFrom: [
          {
            find: { path: ns, name: { regexp: "/db$" } },
            rewrite: [{ regexp: { source: ".*/", target: "found-" } }],
          },
        ],
      }),
    );
    await applyObject(
      ctl.kube,
      externalSecret(ns, "api", {
        ...every,
        data: [{ secretKey: "token", remoteRef: { key: `${ns}/api`, property: "token" } }],
      }),
    );
    for (const name of ["by-find", "api"]) await waitForCondition(ctl.kube, ns, name, "Ready", "True");
    await eventsReady(ctl.kube, ns, "vault", "True");
  });

  void it("a change reaches every reader with one read and restarts the opted-in workload", async () => {
    const before = { db: reads(suite, "db"), api: reads(suite, "api") };
    const restartedBefore = await restartOf(suite.ctl.kube, suite.ns);
    suite.vault.root.putSecret("secret", `${suite.ns}/db`, { password: "second" });
    const sent = performance.now();
    const res = await post(suite, changes(`${suite.ns}/db`));
    assert.equal(res.status, 202, await res.clone().text());
    await Promise.all([
      waitForValue(suite, "by-data", "password", "second"),
      waitForValue(suite, "by-extract", "password", "second"),
      waitForValue(suite, "by-find", "found-db", JSON.stringify({ password: "second" })),
    ]);
    const latencyMs = performance.now() - sent;
    const restarted = await restartedSince(suite.ctl.kube, suite.ns, restartedBefore);
    const restartMs = performance.now() - sent;
    console.log(
      `change→Secret ${latencyMs.toFixed(0)} ms, change→restart annotation ${restartMs.toFixed(0)} ms`,
    );
    assert.ok(restarted);
    // Generous bounds: the periodic refresh is an hour away, so anything within seconds was the event.
    assert.ok(latencyMs < 20_000, `took ${latencyMs} ms`);
    assert.equal(reads(suite, "db") - before.db, 1, "one backend read for the three readers");
    assert.equal(reads(suite, "api"), before.api, "a reader of another key is not refreshed");
  });

  void it("duplicated and reordered events make one refresh; the version already synced costs nothing", async () => {
    suite.vault.root.putSecret("secret", `${suite.ns}/db`, { password: "third" }); // version 3
    const before = { db: reads(suite, "db"), syncs: await Promise.all(READERS.map((n) => syncs(suite, n))) };
    const key = `${suite.ns}/db`;
    const responses = await Promise.all([
      post(suite, changes({ key, version: "3" }, { key, version: "3" })),
      post(suite, changes({ key, version: "2" })), // an older event, delivered late
      post(suite, changes(key)),
    ]);
    assert.deepEqual(
      responses.map((r) => r.status),
      [202, 202, 202],
    );
    for (const name of READERS.slice(0, 2)) await waitForValue(suite, name, "password", "third");
    await waitForValue(suite, "by-find", "found-db", JSON.stringify({ password: "third" }));
    await new Promise((r) => setTimeout(r, 1_000)); // a second refresh, if any, would have run by now
    assert.equal(reads(suite, "db") - before.db, 1, "one read");
    // A sync is counted after its Secret write and the restart hook: the Secret can be visible first.
    const after = await waitFor(async () => {
      const n = await Promise.all(READERS.map((r) => syncs(suite, r)));
      return n.every((v, i) => v > (before.syncs[i] ?? 0)) ? n : undefined;
    }, "a sync counted per reader");
    assert.deepEqual(
      after.map((n, i) => n - (before.syncs[i] ?? 0)),
      [1, 1, 1],
      "one sync per reader",
    );
    assert.ok((await metric(suite, "refsync_key_changes_total", 'outcome="duplicate"')) >= 3);

    // Version 3 is what every reader has: nothing to do.
    const res = await post(suite, changes({ key, version: "3" }));
    assert.equal(res.status, 202);
    await new Promise((r) => setTimeout(r, 1_000));
    assert.equal(reads(suite, "db") - before.db, 1, "no read for a version already synced");
    assert.ok((await metric(suite, "refsync_key_changes_total", 'outcome="unchanged"')) >= 1);
  });

  void it("a key nobody reads costs no backend call", async () => {
    const before = allReads(suite);
    const unread = await metric(suite, "refsync_key_changes_total", 'outcome="unread"');
    const res = await post(suite, changes(`${suite.ns}/unread`, `${suite.ns}/nowhere`));
    assert.equal(res.status, 202);
    await new Promise((r) => setTimeout(r, 1_000));
    assert.equal(allReads(suite), before, "no Vault request");
    assert.equal((await metric(suite, "refsync_key_changes_total", 'outcome="unread"')) - unread, 2);
  });

  void it("an ExternalSecret reading from two stores is refreshed by a change in either, that store's read only", async () => {
    const { ns, vault, ctl } = suite;
    const key = `${ns}/multi`;
    vault.root.putSecret("secret", key, { v: "one" });
    await applyObject(ctl.kube, webhookStore(ns, "vault-b", vault.url, "hook"));
    // The same key through two stores (sourceRef.storeRef): two reads, two cache entries.
    await applyObject(
      ctl.kube,
      externalSecret(ns, "two-stores", {
        secretStoreRef: { name: "vault" },
        refreshInterval: "1h",
        data: [
          { secretKey: "a", remoteRef: { key, property: "v" } },
          { secretKey: "b", remoteRef: { key, property: "v" }, sourceRef: { storeRef: { name: "vault-b" } } },
        ],
      }),
    );
    await waitForCondition(ctl.kube, ns, "two-stores", "Ready", "True");
    await eventsReady(ctl.kube, ns, "vault-b", "True");
    assert.equal(reads(suite, "multi"), 2, "one read per store");
    vault.root.putSecret("secret", key, { v: "two" });
    // Reported by vault-b: only vault-b's copy is read again; vault's stays cached until it reports a change or its slot.
    assert.equal((await post(suite, changes(key), { store: "vault-b" })).status, 202);
    await waitForValue(suite, "two-stores", "b", "two");
    assert.equal((await getSecret(ctl.kube, ns, "two-stores"))?.data.a, "one");
    assert.equal(reads(suite, "multi"), 3);
    assert.equal((await post(suite, changes(key), { store: "vault" })).status, 202);
    await waitForValue(suite, "two-stores", "a", "two");
    assert.equal(reads(suite, "multi"), 4);
  });

  void it("forged, stale, replayed, oversized and unknown-store requests are refused and counted", async () => {
    const count = (result: string) => metric(suite, "refsync_webhook_requests_total", `result="${result}"`);
    const before = {
      unauthenticated: await count("unauthenticated"),
      stale: await count("stale"),
      replayed: await count("replayed"),
      tooLarge: await count("too-large"),
      unknown: await count("unknown-store"),
    };
    const vaultBefore = allReads(suite);
    const body = changes(`${suite.ns}/db`);
    const unsigned = await fetch(`${suite.server.url}/api/v1/events/${suite.ns}/vault`, {
      method: "POST",
      body,
    });
    assert.equal(unsigned.status, 401);
    assert.equal((await post(suite, body, { secret: "not-the-secret-but-long-enough-to-sign" })).status, 401);
    const old = Math.floor(Date.now() / 1000) - 600;
    assert.equal((await post(suite, body, { timestamp: old })).status, 401, "stale");
    const timestamp = Math.floor(Date.now() / 1000);
    const signature = signWebhook(HOOK_SECRET, timestamp, changes(`${suite.ns}/unread`));
    const replay = () =>
      fetch(`${suite.server.url}/api/v1/events/${suite.ns}/vault`, {
        method: "POST",
        headers: { "x-refsync-timestamp": String(timestamp), "x-refsync-signature": signature },
        body: changes(`${suite.ns}/unread`),
      });
    assert.equal((await replay()).status, 202);
    assert.equal((await replay()).status, 409, "replayed");
    const huge = JSON.stringify({ changes: [{ key: "x".repeat(2 * 1024 * 1024) }] });
    assert.equal((await post(suite, huge)).status, 413);
    assert.equal((await post(suite, body, { store: "no-such-store" })).status, 404);
    assert.equal((await count("unauthenticated")) - before.unauthenticated, 2);
    assert.equal((await count("stale")) - before.stale, 1);
    assert.equal((await count("replayed")) - before.replayed, 1);
    assert.equal((await count("too-large")) - before.tooLarge, 1);
    assert.equal((await count("unknown-store")) - before.unknown, 1);
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(allReads(suite), vaultBefore, "no refused request reached Vault");
  });

  void it("a flood of signed requests is bounded by the store's token bucket and counted", async () => {
    const limited = await metric(suite, "refsync_webhook_requests_total", 'result="rate-limited"');
    const started = performance.now();
    const statuses = await Promise.all(
      Array.from({ length: 80 }, (_, i) =>
        post(suite, changes(`${suite.ns}/unread-${i}`)).then((r) => r.status),
      ),
    );
    const seconds = (performance.now() - started) / 1000;
    const accepted = statuses.filter((s) => s === 202).length;
    const refused = statuses.filter((s) => s === 429).length;
    assert.equal(accepted + refused, 80, `statuses: ${statuses.join(",")}`);
    // Burst 20 plus 5 a second (the bucket may have refilled since the previous test).
    assert.ok(accepted <= 20 + Math.ceil(5 * seconds) + 1, `${accepted} accepted in ${seconds.toFixed(1)} s`);
    assert.ok(refused >= 40, `${refused} refused`);
    assert.equal(
      (await metric(suite, "refsync_webhook_requests_total", 'result="rate-limited"')) - limited,
      refused,
    );
  });

  void it("a store whose source is down says so and keeps refreshing on its interval", async () => {
    const { ns, vault, ctl } = suite;
    vault.root.putSecret("secret", `${ns}/polled`, { v: "one" });
    // The signing secret's Secret does not exist: the webhook cannot authenticate anything.
    await applyObject(ctl.kube, webhookStore(ns, "broken", vault.url, "missing"));
    await applyObject(
      ctl.kube,
      externalSecret(ns, "polled", {
        secretStoreRef: { name: "broken" },
        refreshInterval: "2s",
        data: [{ secretKey: "v", remoteRef: { key: `${ns}/polled`, property: "v" } }],
      }),
    );
    const condition = await eventsReady(ctl.kube, ns, "broken", "False");
    assert.equal(condition.reason, "SourceDown");
    assert.match(condition.message, /spec\.events\.webhook\.secretRef/);
    assert.match(condition.message, /refreshInterval/);
    assert.equal(
      await metric(suite, "refsync_event_source_up", `store="broken",source="webhook"`),
      0,
      "refsync_event_source_up is 0",
    );
    assert.equal(await metric(suite, "refsync_event_source_up", `store="vault",source="webhook"`), 1);
    assert.equal((await post(suite, changes(`${ns}/polled`), { store: "broken" })).status, 503);
    await waitForValue(suite, "polled", "v", "one");
    vault.root.putSecret("secret", `${ns}/polled`, { v: "two" });
    await waitForValue(suite, "polled", "v", "two"); // by the periodic refresh
  });
});
