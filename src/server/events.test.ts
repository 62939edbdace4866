import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Registry } from "prom-client";
import { AzureEventGridSource, VALIDATION_EVENT } from "../controller/events/azure-event-grid.ts";
import type { ChangeSourceContext, KeyChange, PushSource, StoreRef } from "../controller/events/source.ts";
import { WebhookSource, signWebhook } from "../controller/events/webhook.ts";
import { silentLogger } from "../log.ts";
import { createApp, listen, type RunningServer } from "./app.ts";
import { mountEvents } from "./events.ts";

const SECRET = "0123456789abcdef0123456789abcdef-secret";

void describe("the events endpoint", () => {
  const changes: KeyChange[] = [];
  const results: string[] = [];
  const ctx: ChangeSourceContext = {
    sink: (c) => changes.push(c),
    log: silentLogger,
    provider: { storeName: "test", readCredential: () => Promise.resolve(SECRET) },
    healthChanged: () => undefined,
    readKeys: () => new Set(),
  };
  const team: StoreRef = { kind: "SecretStore", namespace: "team", name: "vault" };
  const shared: StoreRef = { kind: "ClusterSecretStore", name: "shared" };
  const sources = new Map<string, PushSource[]>([
    [
      "SecretStore/team/vault",
      [
        new WebhookSource(team, { secretRef: { name: "s", key: "k" } }, ctx),
        new AzureEventGridSource(team, "my-vault", { secretRef: { name: "s", key: "k" } }, ctx),
      ],
    ],
    ["ClusterSecretStore/shared", [new WebhookSource(shared, { secretRef: { name: "s", key: "k" } }, ctx)]],
  ]);
  const endpoint = {
    leading: true,
    pushSources: (s: StoreRef) =>
      sources.get(
        s.kind === "ClusterSecretStore" ? `${s.kind}/${s.name}` : `${s.kind}/${s.namespace}/${s.name}`,
      ) ?? [],
  };
  const abort = new AbortController();
  let server: RunningServer;
  before(async () => {
    for (const list of sources.values()) for (const s of list) void s.start(abort.signal);
    for (let i = 0; i < 100 && [...sources.values()].flat().some((s) => !s.health().up); i++)
      await new Promise((r) => setImmediate(r));
    server = await listen(
      createApp({
        registry: new Registry(),
        health: { live: () => true, ready: () => true },
        mount: [mountEvents(endpoint, { inc: ({ result }) => results.push(result) })],
      }),
      "127.0.0.1:0",
    );
  });
  after(async () => {
    abort.abort();
    await server.close();
  });

  const signedPost = (path: string, body: string) => {
    const ts = Math.floor(Date.now() / 1000);
    return fetch(`${server.url}${path}`, {
      method: "POST",
      headers: { "x-refsync-timestamp": String(ts), "x-refsync-signature": signWebhook(SECRET, ts, body) },
      body,
    });
  };

  void it("routes signed requests by store, Event Grid deliveries by their header, and counts every answer", async () => {
    const body = JSON.stringify({ changes: [{ key: "app/db" }] });
    assert.equal((await signedPost("/api/v1/events/team/vault", body)).status, 202);
    assert.equal((await signedPost("/api/v1/events/_cluster/shared", body)).status, 202);
    assert.deepEqual(
      changes.map((c) => [c.store, c.key]),
      [
        [team, "app/db"],
        [shared, "app/db"],
      ],
    );
    const handshake = await fetch(`${server.url}/api/v1/events/team/vault?code=${SECRET}`, {
      method: "POST",
      headers: { "aeg-event-type": "SubscriptionValidation", "content-type": "application/json" },
      body: JSON.stringify([{ id: "1", eventType: VALIDATION_EVENT, data: { validationCode: "abc" } }]),
    });
    assert.equal(handshake.status, 200);
    assert.deepEqual(await handshake.json(), { validationResponse: "abc" });
    assert.equal((await signedPost("/api/v1/events/team/other", body)).status, 404);
    assert.equal(
      (await signedPost("/api/v1/events/_cluster/vault", body)).status,
      404,
      "a SecretStore is no cluster store",
    );
    const plain = await fetch(`${server.url}/api/v1/events/team/vault`, { method: "POST", body });
    assert.equal(plain.status, 401);
    const huge = await signedPost("/api/v1/events/team/vault", "x".repeat(1024 * 1024 + 1));
    assert.equal(huge.status, 413);
    endpoint.leading = false;
    const standby = await signedPost("/api/v1/events/team/vault", body);
    assert.equal(standby.status, 503);
    assert.equal(standby.headers.get("retry-after"), "5");
    endpoint.leading = true;
    assert.deepEqual(results, [
      "accepted",
      "accepted",
      "validated",
      "unknown-store",
      "unknown-store",
      "unauthenticated",
      "too-large",
      "not-ready",
    ]);
  });
});
