import assert from "node:assert/strict";
import { test } from "node:test";
import { Registry } from "prom-client";
import { ControllerMetrics } from "./metrics.ts";
import { PromClientSeries } from "../../test/observability/prom-client-series.ts";
import { es, view } from "../../test/server/view-fixtures.ts";

const NOW = Date.parse("2026-12-01T12:00:00Z");
const tricky = ["plain", 'quo"te', "back\\slash", "new\nline", 'all\\"\n\\n', "c,d=}{", "ünïcödé ✓", ""];

/** The same operations on the controller's metrics and on prom-client series as they were before. */
async function bothWays(): Promise<[ControllerMetrics, PromClientSeries]> {
  const now = new ControllerMetrics();
  const before = new PromClientSeries();
  for (const target of [now, before]) {
    for (const [i, name] of tricky.entries()) {
      target.recordSync("team-a", name, true);
      if (i % 2) target.recordSync("team-a", name, false);
      target.recordSync(`ns-${name}`, name, i % 3 === 0);
      target.setCondition("ExternalSecret", "team-a", name, "Ready", "False");
      target.setCondition("SecretStore", "team-a", name, "Ready", i % 2 ? "True" : "Unknown");
    }
    for (const name of tricky) target.setCondition("ExternalSecret", "team-a", name, "Ready", "True");
    target.setCondition("ExternalSecret", "team-a", "plain", "Custom", "Odd");
    target.setCondition("ClusterSecretStore", "", "plain", "Ready", "True");
    await target.forget("ExternalSecret", "team-a", "c,d=}{");
    await target.forget("SecretStore", "team-a", "plain");
    const externalSecrets = tricky.map((name, i) =>
      es(`ns-${name}`, name, {
        refreshTime: new Date(NOW - i * 60_000).toISOString(),
        interval: i % 2 ? "1h" : undefined,
      }),
    );
    externalSecrets[1]!.status!.consumers = { workloads: 1, stalePods: 2 };
    externalSecrets[2]!.status!.consumers = { workloads: 1, stalePods: 0 };
    target.view = view({ externalSecrets });
  }
  return [now, before];
}

const families = (text: string) =>
  new Map(
    text
      .trimEnd()
      .split("\n\n")
      .map((family) => {
        const [help = "", type = "", ...samples] = family.split("\n");
        return [/^# HELP (\S+)/.exec(help)?.[1] ?? "", { header: [help, type], samples: samples.sort() }];
      }),
  );

void test("per-object families carry exactly the series and text prom-client wrote for them", async (t) => {
  t.mock.timers.enable({ apis: ["Date"], now: NOW });
  const [now, before] = await bothWays();
  const text = families(await now.registry.metrics());
  const reference = families(await before.registry.metrics());
  assert.equal(reference.size, 8);
  for (const [name, family] of reference) {
    // Series order inside a family was prom-client's insertion order and is not part of the format.
    assert.deepEqual(text.get(name), family, name);
  }
  const sync = text.get("refsync_sync_calls_total")!.samples;
  assert.ok(sync.includes('refsync_sync_calls_total{name="quo\\"te",namespace="team-a",result="error"} 1'));
  assert.ok(
    sync.includes('refsync_sync_calls_total{name="new\\nline",namespace="ns-new\\nline",result="success"} 1'),
  );
  assert.ok(
    sync.includes(
      'refsync_sync_calls_total{name="all\\\\\\"\\n\\\\n",namespace="team-a",result="success"} 1',
    ),
  );
  assert.ok(!sync.some((l) => l.includes('name="c,d=}{",namespace="team-a"')), "forgotten");
  assert.ok(
    sync.some((l) => l.includes('name="c,d=}{",namespace="ns-c,d=}{"')),
    "other namespace kept",
  );
});

void test("the whole exposition is byte for byte what prom-client's own renderer makes of the same series", async (t) => {
  t.mock.timers.enable({ apis: ["Date"], now: NOW });
  const [now] = await bothWays();
  // A plain prom-client Registry renders every family (TextFamily too, through get()) its own way.
  const plain = Registry.merge([now.registry]);
  assert.equal(await now.registry.metrics(), await plain.metrics());
  assert.match(
    await now.registry.metrics(),
    /^refsync_secret_age_seconds\{namespace="ns-new\\nline",name="new\\nline"\} 180$/m,
  );
});

void test("a Secret shared by two ExternalSecrets is one stale-pods series, as before", async () => {
  const m = new ControllerMetrics();
  const shared = [es("a", "one"), es("a", "two")];
  for (const [i, e] of shared.entries()) {
    e.spec.target = { name: "db" };
    e.status!.consumers = { workloads: 1, stalePods: i + 1 };
  }
  m.view = view({ externalSecrets: shared });
  const lines = (await m.registry.getSingleMetricAsString("refsync_stale_pods")).split("\n").slice(2);
  assert.deepEqual(lines, ['refsync_stale_pods{namespace="a",secret="db"} 2']);
});
