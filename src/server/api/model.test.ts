import assert from "node:assert/strict";
import { test } from "node:test";
import { ControllerMetrics } from "../../controller/metrics.ts";
import { buildOverview, healthOf, isStale } from "./model.ts";
import { secretAge } from "../../controller/view.ts";
import { es, ready, store, view } from "../../../test/server/view-fixtures.ts";

const now = Date.parse("2026-01-01T12:00:00Z");
const hoursAgo = (h: number) => new Date(now - h * 3600_000).toISOString();

void test("health follows Ready for the current generation", () => {
  assert.equal(healthOf(es("a", "x")), "progressing", "no condition yet");
  assert.equal(healthOf(es("a", "x", { condition: ready("True") })), "healthy");
  assert.equal(healthOf(es("a", "x", { condition: ready("False") })), "degraded");
  assert.equal(healthOf(es("a", "x", { condition: ready("Unknown") })), "progressing");
  assert.equal(
    healthOf(es("a", "x", { condition: ready("True"), generation: 2, observed: 1 })),
    "progressing",
  );
});

void test("a Periodic secret is stale beyond twice its interval; other policies never", () => {
  const age = secretAge(es("a", "x", { refreshTime: hoursAgo(3), interval: "1h" }), now);
  assert.deepEqual(age, { ageSeconds: 3 * 3600, refreshIntervalSeconds: 3600 });
  assert.equal(isStale(age), true);
  assert.equal(isStale(secretAge(es("a", "x", { refreshTime: hoursAgo(1.5), interval: "1h" }), now)), false);
  assert.equal(
    isStale(secretAge(es("a", "x", { refreshTime: hoursAgo(3) }), now)),
    true,
    "the default interval, 1h, applies",
  );
  assert.equal(
    secretAge(es("a", "x", { refreshTime: hoursAgo(3), policy: "OnChange" }), now).refreshIntervalSeconds,
    undefined,
  );
  assert.equal(
    secretAge(es("a", "x", { refreshTime: hoursAgo(3), interval: "0" }), now).refreshIntervalSeconds,
    undefined,
  );
  assert.equal(secretAge(es("a", "x"), now).ageSeconds, undefined, "never synced");
});

void test("the overview filters, sorts, counts and shows key names only", async () => {
  const metrics = new ControllerMetrics();
  for (let i = 0; i < 3; i++) metrics.recordSync("a", "broken", false);
  metrics.recordSync("a", "fresh", true);
  metrics.recordProviderCall("vault", "SecretStore/a/vault", "read", "not_found", 0.01);
  metrics.recordProviderCall("vault", "SecretStore/a/vault", "read", "throttled", 0.01);
  metrics.recordProviderCall("vault", "SecretStore/a/vault", "read", "success", 0.01);
  const v = view({
    externalSecrets: [
      es("a", "fresh", { condition: ready("True"), refreshTime: hoursAgo(0.1), interval: "1h" }),
      es("a", "old", { condition: ready("True"), refreshTime: hoursAgo(5), interval: "1h" }),
      es("a", "broken", { condition: ready("False") }),
      es("b", "other", { condition: ready("True"), refreshTime: hoursAgo(0.1), store: "shared" }),
    ],
    stores: [
      store("SecretStore", "a", "vault", ready("True", "Valid")),
      store("SecretStore", "b", "vault", ready("False", "AccessDenied")),
      store("ClusterSecretStore", undefined, "shared", ready("True", "Valid")),
    ],
    secrets: [{ metadata: { name: "fresh", namespace: "a" }, data: { password: "c2VjcmV0", user: "YXBw" } }],
    events: [
      {
        time: "t1",
        type: "Normal",
        reason: "Created",
        message: "m",
        object: { kind: "ExternalSecret", namespace: "a", name: "fresh" },
      },
      {
        time: "t2",
        type: "Warning",
        reason: "NotFound",
        message: "m",
        object: { kind: "ExternalSecret", namespace: "b", name: "other" },
      },
      {
        time: "t3",
        type: "Warning",
        reason: "NotFound",
        message: "m",
        object: { kind: "ExternalSecret", namespace: "a", name: "broken" },
      },
    ],
  });

  const all = await buildOverview(v, metrics.registry, {}, now);
  assert.deepEqual(all.summary.externalSecrets, { healthy: 3, progressing: 0, degraded: 1, stale: 1 });
  assert.deepEqual(all.summary.stores, { healthy: 2, progressing: 0, degraded: 1 });
  assert.deepEqual(all.namespaces, ["a", "b"]);

  const a = await buildOverview(v, metrics.registry, { namespace: "a", sort: "errors" }, now);
  assert.deepEqual(
    a.externalSecrets.map((r) => r.name),
    ["broken", "fresh", "old"],
  );
  assert.deepEqual(a.externalSecrets[0]!.syncs, { total: 3, failed: 3, throttled: 0 });
  assert.deepEqual(
    a.stores.map((s) => s.store),
    ["ClusterSecretStore/shared", "SecretStore/a/vault"],
    "cluster stores in every namespace",
  );
  assert.deepEqual(a.stores[1]!.backendCalls, { total: 3, failed: 2, throttled: 1 });
  assert.equal(a.stores[1]!.externalSecrets, 3);
  assert.deepEqual(
    a.events.map((e) => e.time),
    ["t3", "t1"],
    "newest first, this namespace only",
  );
  assert.deepEqual(a.secrets.find((s) => s.name === "fresh")?.keys, ["password", "user"]);
  assert.ok(!JSON.stringify(a).includes("c2VjcmV0"), "no value");

  const byAge = await buildOverview(v, metrics.registry, { namespace: "a", sort: "age" }, now);
  assert.deepEqual(
    byAge.externalSecrets.map((r) => r.name),
    ["old", "fresh", "broken"],
    "never-synced last",
  );
  const stale = await buildOverview(v, metrics.registry, { status: "stale" }, now);
  assert.deepEqual(
    stale.externalSecrets.map((r) => r.name),
    ["old"],
  );
  assert.deepEqual(
    stale.secrets.map((s) => s.name),
    ["old"],
    "secrets follow the filtered ExternalSecrets",
  );
});

void test("consumers and stale pods come from the consumer source when one is wired in", async () => {
  const v = {
    ...view({ externalSecrets: [es("a", "db", { condition: ready("True"), refreshTime: hoursAgo(0.1) })] }),
    consumers: {
      consumersOf: (namespace: string, secret: string) =>
        namespace === "a" && secret === "db"
          ? [{ kind: "Deployment", name: "api", stalePods: ["api-1", "api-2"] }]
          : undefined,
    },
  };
  const overview = await buildOverview(v, new ControllerMetrics().registry, {}, now);
  assert.deepEqual(overview.secrets[0]!.consumers, [
    { kind: "Deployment", name: "api", stalePods: ["api-1", "api-2"] },
  ]);
  const metrics = new ControllerMetrics();
  metrics.view = v;
  assert.match(await metrics.registry.metrics(), /refsync_stale_pods\{namespace="a",secret="db"\} 2/);
});
