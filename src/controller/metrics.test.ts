import assert from "node:assert/strict";
import test from "node:test";
import { ControllerMetrics } from "./metrics.ts";

const lines = async (m: ControllerMetrics) =>
  (await m.registry.metrics()).split("\n").filter((l) => l && !l.startsWith("#"));

void test("forget drops every series of the object, in every family, and only those", async () => {
  const m = new ControllerMetrics();
  for (const name of ["gone", "kept"]) {
    m.recordSync("team-a", name, true);
    m.recordSync("team-a", name, false);
    m.setCondition("ExternalSecret", "team-a", name, "Ready", "False");
    m.setCondition("SecretStore", "team-a", name, "Ready", "True");
    m.recordProviderCall("vault", `SecretStore/team-a/${name}`, "read", "success", 0.01);
    m.cacheHits.inc({ store: `SecretStore/team-a/${name}` });
    m.cacheMisses.inc({ store: `SecretStore/team-a/${name}` });
  }
  m.recordSync("team-b", "gone", true); // same name, another namespace
  await m.forget("ExternalSecret", "team-a", "gone");
  await m.forget("SecretStore", "team-a", "gone");
  const after = await lines(m);
  assert.deepEqual(
    after.filter((l) => /name="gone",namespace="team-a"|SecretStore\/team-a\/gone"/.test(l)),
    [],
  );
  for (const family of [
    "refsync_sync_calls_total",
    "externalsecret_sync_calls_total",
    "externalsecret_sync_calls_error",
    "refsync_status_condition",
    "externalsecret_status_condition",
    "refsync_provider_api_calls_total",
    "refsync_provider_call_duration_seconds_bucket",
    "refsync_cache_hits_total",
    "refsync_cache_misses_total",
  ])
    assert.ok(
      after.some((l) => l.startsWith(family) && /"kept"|SecretStore\/team-a\/kept"/.test(l)),
      `${family} keeps the other object`,
    );
  assert.ok(after.some((l) => l.includes('name="gone",namespace="team-b"')));
  // The ESO alias without a store label keeps its count: it names no object.
  assert.ok(after.some((l) => l.startsWith("externalsecret_provider_api_calls_count")));
});

void test("without per-object labels, a deleted object leaves its namespace's aggregate alone", async () => {
  const m = new ControllerMetrics({ perObjectLabels: false });
  m.recordSync("team-a", "gone", true);
  await m.forget("ExternalSecret", "team-a", "gone");
  assert.ok(
    (await lines(m)).some((l) => l.startsWith('refsync_sync_calls_total{name="",namespace="team-a"')),
  );
});
