import assert from "node:assert/strict";
import { test } from "node:test";
import { silentLogger } from "../../log.ts";
import {
  AzureEventGridSource,
  EVENT_TYPE_HEADER,
  SECRET_NEW_VERSION,
  VALIDATION_EVENT,
} from "./azure-event-grid.ts";
import { PUSH_RATE } from "./push-gate.ts";
import type { ChangeSourceContext, KeyChange, PushRequest, StoreRef } from "./source.ts";
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, WebhookSource, signWebhook } from "./webhook.ts";

const STORE: StoreRef = { kind: "SecretStore", namespace: "team", name: "vault" };
const SECRET = "0123456789abcdef0123456789abcdef-secret";

/** A source context whose Secret holds `secret`; changes land in `changes`. */
function context(secret: string, changes: KeyChange[]): ChangeSourceContext {
  return {
    sink: (c) => changes.push(c),
    log: silentLogger,
    provider: {
      storeName: "SecretStore/team/vault",
      readCredential: (ref) =>
        ref.name === "hook"
          ? Promise.resolve(secret)
          : Promise.reject(new Error(`Secret ${ref.name} not found`)),
    },
    healthChanged: () => undefined,
    readKeys: () => new Set(),
  };
}

/** Starts the source until its secret is loaded; returns the stop function. */
async function started(source: { start(s: AbortSignal): Promise<void>; health(): { up: boolean } }) {
  const abort = new AbortController();
  const done = source.start(abort.signal);
  for (let i = 0; i < 100 && !source.health().up; i++) await new Promise((r) => setImmediate(r));
  return async () => {
    abort.abort();
    await done;
  };
}

function signed(body: string, timestamp: number, secret = SECRET): PushRequest {
  return {
    headers: {
      [TIMESTAMP_HEADER]: String(timestamp),
      [SIGNATURE_HEADER]: signWebhook(secret, timestamp, body),
    },
    query: {},
    body: Buffer.from(body),
  };
}

void test("webhook: signed requests report their changes; forged, stale, replayed and malformed ones are refused", async () => {
  const changes: KeyChange[] = [];
  let now = 1_700_000_000_000;
  const source = new WebhookSource(
    STORE,
    { secretRef: { name: "hook", key: "k" } },
    context(SECRET, changes),
    () => now,
  );
  assert.equal(source.receive(signed("{}", now / 1000)).status, 503, "no secret loaded yet");
  const stop = await started(source);
  try {
    const t = now / 1000;
    const body = JSON.stringify({ changes: [{ key: "app/db", version: "3" }, { key: "app/api" }] });
    const ok = source.receive(signed(body, t));
    assert.deepEqual([ok.status, ok.result], [202, "accepted"]);
    assert.deepEqual(
      changes.map((c) => [c.key, c.version, c.source, c.receivedAt]),
      [
        ["app/db", "3", "webhook", now],
        ["app/api", undefined, "webhook", now],
      ],
    );
    assert.equal(source.receive(signed(body, t)).result, "replayed");
    assert.equal(
      source.receive(signed(body, t + 1, "another-secret-that-is-long-enough!!")).result,
      "unauthenticated",
    );
    const tampered = signed(body, t + 2);
    tampered.body = Buffer.from(body.replace("app/db", "app/xx"));
    assert.equal(source.receive(tampered).result, "unauthenticated");
    assert.equal(source.receive({ headers: {}, query: {}, body: Buffer.from(body) }).status, 401);
    assert.equal(source.receive(signed(body, t - 301)).result, "stale");
    assert.equal(source.receive(signed(body, t + 301)).result, "stale");
    assert.equal(source.receive(signed('{"changes":[]}', t + 3)).result, "bad-request");
    assert.equal(source.receive(signed('{"keys":["a"]}', t + 4)).result, "bad-request");
    assert.equal(changes.length, 2, "no refused request reported a change");
    // A signature is remembered for the window only.
    now += 400_000;
    assert.equal(source.receive(signed(body, t)).result, "stale");
  } finally {
    await stop();
  }
});

void test("webhook: a flood is cut at the store's burst", async () => {
  const changes: KeyChange[] = [];
  const now = 1_700_000_000_000;
  const source = new WebhookSource(
    STORE,
    { secretRef: { name: "hook", key: "k" } },
    context(SECRET, changes),
    () => now,
  );
  const stop = await started(source);
  try {
    const results = Array.from(
      { length: PUSH_RATE.burst + 10 },
      (_, i) =>
        source.receive(signed(JSON.stringify({ changes: [{ key: `k${i}` }] }), now / 1000 + (i % 200)))
          .result,
    );
    // The bucket refills 5/s on the real clock: a slow machine may admit one or two more.
    const accepted = results.filter((r) => r === "accepted").length;
    assert.ok(accepted >= PUSH_RATE.burst && accepted <= PUSH_RATE.burst + 2, `${accepted} accepted`);
    assert.equal(results.filter((r) => r === "rate-limited").length, results.length - accepted);
  } finally {
    await stop();
  }
});

void test("webhook: a secret too short or unreadable keeps the source down, with the field named", async () => {
  for (const [secret, name, pattern] of [
    ["short", "hook", /5 bytes; at least 32/],
    [SECRET, "missing", /Secret missing not found/],
  ] as const) {
    const source = new WebhookSource(STORE, { secretRef: { name, key: "k" } }, context(secret, []));
    const abort = new AbortController();
    const done = source.start(abort.signal);
    try {
      for (let i = 0; i < 100 && source.health().reason?.includes("not loaded"); i++)
        await new Promise((r) => setImmediate(r));
      const health = source.health();
      assert.equal(health.up, false);
      assert.match(health.reason ?? "", /spec\.events\.webhook\.secretRef/);
      assert.match(health.reason ?? "", pattern);
    } finally {
      abort.abort();
      await done;
    }
  }
});

/** `code` null: none in the query. */
function grid(kind: string, events: unknown, code: string | null = SECRET): PushRequest {
  return {
    headers: { [EVENT_TYPE_HEADER]: kind },
    query: code === null ? {} : { code },
    body: Buffer.from(JSON.stringify(events)),
  };
}

void test("Event Grid: the validation handshake, Key Vault new versions of the store's vault, the code checked", async () => {
  const changes: KeyChange[] = [];
  const source = new AzureEventGridSource(
    STORE,
    "my-vault",
    { secretRef: { name: "hook", key: "k" } },
    context(SECRET, changes),
  );
  const stop = await started(source);
  try {
    const validation = [
      {
        id: "v1",
        eventType: VALIDATION_EVENT,
        data: { validationCode: "512d38b6-c7b8-40c8-89fe-f46f9e9622b6" },
      },
    ];
    assert.equal(source.receive(grid("SubscriptionValidation", validation, null)).status, 401);
    assert.equal(source.receive(grid("SubscriptionValidation", validation, "wrong")).status, 401);
    const handshake = source.receive(grid("SubscriptionValidation", validation));
    assert.deepEqual(handshake, {
      status: 200,
      result: "validated",
      body: { validationResponse: "512d38b6-c7b8-40c8-89fe-f46f9e9622b6" },
    });
    const event = (id: string, type: string, vault: string, name: string, version: string) => ({
      id,
      eventType: type,
      subject: name,
      eventTime: "2026-12-02T02:00:00Z",
      dataVersion: "1",
      metadataVersion: "1",
      topic: `/subscriptions/x/resourceGroups/y/providers/Microsoft.KeyVault/vaults/${vault}`,
      data: {
        Id: `https://${vault}.vault.azure.net/secrets/${name}/${version}`,
        VaultName: vault,
        ObjectType: "Secret",
        ObjectName: name,
        Version: version,
        NBF: null,
        EXP: null,
      },
    });
    const delivery = [
      event("e1", SECRET_NEW_VERSION, "my-vault", "db-password", "ee059b2bb5bc48398a53b168c6cdcb10"),
      event("e2", "Microsoft.KeyVault.SecretNearExpiry", "my-vault", "db-password", "ee05"),
      event("e3", SECRET_NEW_VERSION, "someone-elses-vault", "db-password", "ff01"),
    ];
    const ok = source.receive(grid("Notification", delivery));
    assert.deepEqual([ok.status, ok.body], [200, { accepted: 1 }]);
    assert.deepEqual(
      changes.map((c) => [c.key, c.version, c.source]),
      [["db-password", "ee059b2bb5bc48398a53b168c6cdcb10", "azure-event-grid"]],
    );
    // Event Grid retries a delivery: the same event id is taken once.
    assert.deepEqual(source.receive(grid("Notification", delivery)).body, { accepted: 0 });
    assert.equal(source.receive(grid("Notification", { not: "an array" })).status, 400);
    assert.equal(source.receive(grid("Notification", delivery, null)).status, 401);
    assert.equal(changes.length, 1);
  } finally {
    await stop();
  }
});
