import assert from "node:assert/strict";
import { test } from "node:test";
import { ControllerMetrics } from "./metrics.ts";
import { observabilityMetricNames } from "./state-metrics.ts";
import { es, ready, store, view } from "../../test/server/view-fixtures.ts";

const minutesAgo = (m: number) => new Date(Date.now() - m * 60_000).toISOString();

function sample(text: string, series: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

const externalSecrets = [
  es("a", "ok", { condition: ready("True"), refreshTime: minutesAgo(10), interval: "1h" }),
  es("a", "late", { condition: ready("True"), refreshTime: minutesAgo(150), interval: "1h" }),
  es("a", "once", { condition: ready("True"), refreshTime: minutesAgo(600), policy: "CreatedOnce" }),
  es("b", "never", {}),
];
externalSecrets[0]!.status!.consumers = { workloads: 2, stalePods: 3 };

void test("state gauges come from the view at scrape time", async () => {
  const metrics = new ControllerMetrics();
  assert.equal(
    sample(await metrics.registry.metrics(), "refsync_queue_depth"),
    0,
    "no view yet: nothing to report",
  );
  metrics.view = view({
    externalSecrets,
    stores: [
      store("SecretStore", "a", "vault", ready("True", "Valid")),
      store("ClusterSecretStore", undefined, "aws"),
    ],
  });
  const text = await metrics.registry.metrics();
  for (const name of observabilityMetricNames) assert.match(text, new RegExp(`^# TYPE ${name} `, "m"), name);
  assert.equal(sample(text, 'refsync_store_ready{store="SecretStore/a/vault",kind="SecretStore"}'), 1);
  assert.equal(
    sample(text, 'refsync_store_ready{store="ClusterSecretStore/aws",kind="ClusterSecretStore"}'),
    0,
  );
  assert.ok(Math.abs(sample(text, 'refsync_secret_age_seconds{namespace="a",name="late"}')! - 9000) < 5);
  assert.equal(sample(text, 'refsync_secret_refresh_interval_seconds{namespace="a",name="late"}'), 3600);
  assert.equal(
    sample(text, 'refsync_secret_refresh_interval_seconds{namespace="a",name="once"}'),
    undefined,
    "no interval: not Periodic",
  );
  assert.equal(
    sample(text, 'refsync_secret_age_seconds{namespace="b",name="never"}'),
    undefined,
    "never synced: no age",
  );
  assert.equal(sample(text, 'refsync_stale_pods{namespace="a",secret="ok"}'), 3);
  assert.equal(sample(text, "refsync_queue_depth"), 3);
  assert.equal(sample(text, "refsync_inflight_reads"), 1);
  metrics.observability.recordRollout("a", "Deployment", "success");
  assert.equal(
    sample(
      await metrics.registry.metrics(),
      'refsync_rollouts_total{namespace="a",kind="Deployment",result="success"}',
    ),
    1,
  );
});

void test("without per-object labels each namespace reports its most overdue secret", async () => {
  const metrics = new ControllerMetrics({ perObjectLabels: false });
  metrics.view = view({ externalSecrets });
  const text = await metrics.registry.metrics();
  assert.ok(
    Math.abs(sample(text, 'refsync_secret_age_seconds{namespace="a"}')! - 9000) < 5,
    "late (2.5 intervals) wins",
  );
  assert.equal(sample(text, 'refsync_secret_refresh_interval_seconds{namespace="a"}'), 3600);
  assert.equal(sample(text, 'refsync_stale_pods{namespace="a"}'), 3);
  assert.doesNotMatch(
    text,
    /refsync_(secret_age_seconds|secret_refresh_interval_seconds|stale_pods)\{[^}]*(name|secret)=/,
  );
});

void test("without per-object labels the controller's sync and condition series carry no object name", async () => {
  const metrics = new ControllerMetrics({ perObjectLabels: false });
  metrics.recordSync("a", "one", true);
  metrics.recordSync("a", "two", true);
  metrics.setCondition("ExternalSecret", "a", "one", "Ready", "True");
  const text = await metrics.registry.metrics();
  assert.equal(sample(text, 'refsync_sync_calls_total{name="",namespace="a",result="success"}'), 2);
  assert.doesNotMatch(text, /name="(one|two)"/);
});
