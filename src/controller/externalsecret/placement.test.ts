/**
 * RefreshPlacement: refresh phases placed evenly over the keys, as the
 * schedule uses them (time is passed in; no clock is read). The property
 * bench/herd.ts measures end to end: the reads one interval's bins get.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { ExternalSecret } from "../../api/v1alpha1.ts";
import { RefreshPlacement } from "./placement.ts";
import { decideSync, hashedPhaseMs, nextRefreshMs, refreshSeed, type PhaseOf } from "./schedule.ts";

const T = 3_600_000;
const BINS = 40; // bins of T/40, as bench/herd.ts
const start = Date.parse("2026-01-01T00:00:00Z");

function es(
  name: string,
  key = `app/${name}`,
  over: Partial<ExternalSecret["spec"]> = {},
  namespace = "ns",
): ExternalSecret {
  return {
    apiVersion: "refsync.dev/v1alpha1",
    kind: "ExternalSecret",
    metadata: { name, namespace, uid: `uid-${namespace}-${name}`, generation: 1 },
    spec: {
      secretStoreRef: { name: "store" },
      refreshInterval: "1h",
      data: [{ secretKey: "v", remoteRef: { key } }],
      ...over,
    },
  };
}

const objects = (n: number, prefix = "es") => Array.from({ length: n }, (_, i) => es(`${prefix}-${i}`));

function placed(list: ExternalSecret[]): RefreshPlacement {
  const placement = new RefreshPlacement();
  for (const o of list) placement.track(`${o.metadata.namespace}/${o.metadata.name}`, o);
  return placement;
}

/**
 * Reads per bin of T/40 in cycles 2–4 after all of `list` synced at `start`, one per distinct seed
 * and slot (the shared cache), following nextRefreshMs from sync to slot as the reconciler does.
 */
function readsPerBin(list: ExternalSecret[], phaseOf: PhaseOf): number[] {
  const bins = new Array<number>(3 * BINS).fill(0);
  const seeds = new Set(list.map((o) => refreshSeed(o)));
  for (const seed of seeds) {
    for (let at = nextRefreshMs(seed, T, start, phaseOf); at < start + 4 * T; ) {
      const bin = Math.floor((at - start - T) / (T / BINS));
      if (bin >= 0) bins[bin]! += 1;
      at = nextRefreshMs(seed, T, at, phaseOf);
    }
  }
  return bins;
}

const peakOverMean = (bins: number[]) => Math.max(...bins) / (bins.reduce((a, b) => a + b, 0) / bins.length);

void describe("refresh placement", () => {
  void test("peak/mean reads per bin stay within one read of the mean for any number of keys; hashed phases do not", () => {
    for (const n of [40, 100, 1000, 1037, 10_000]) {
      const list = objects(n);
      const bins = readsPerBin(list, placed(list).phaseOf);
      assert.equal(
        bins.reduce((a, b) => a + b, 0),
        3 * n,
        `${n} keys: one read per key per interval`,
      );
      const mean = n / BINS;
      assert.ok(Math.max(...bins) <= Math.ceil(mean), `${n} keys: max ${Math.max(...bins)}, mean ${mean}`);
      assert.ok(Math.min(...bins) >= Math.floor(mean), `${n} keys: min ${Math.min(...bins)}, mean ${mean}`);
    }
    // The same 1,000 keys hashed: a Poisson spread, the fullest bin far above the mean (bench/herd.ts: 1.56×).
    assert.ok(peakOverMean(readsPerBin(objects(1000), hashedPhaseMs)) > 1.3);
    assert.ok(peakOverMean(readsPerBin(objects(1000), placed(objects(1000)).phaseOf)) <= 1.0);
  });

  void test("a key added or removed keeps the others' order and moves each by less than interval / keys", () => {
    const list = objects(1000);
    const placement = placed(list);
    const seeds = list.map((o) => refreshSeed(o));
    const phases = () => seeds.map((s) => placement.phaseOf(s, T));
    const order = (p: number[]) => seeds.map((_, i) => i).sort((a, b) => p[a]! - p[b]!);
    const before = phases();
    const added = es("newcomer");
    placement.track("ns/newcomer", added);
    const withNew = phases();
    assert.deepEqual(order(withNew), order(before));
    for (const [i, p] of withNew.entries()) assert.ok(Math.abs(p - before[i]!) < T / 1000, `${seeds[i]}`);
    placement.track("ns/es-500", undefined);
    const removed = phases();
    for (const [i, p] of removed.entries())
      if (i !== 500) assert.ok(Math.abs(p - withNew[i]!) < T / 1000, `${seeds[i]}`);
    assert.equal(
      placement.phaseOf(seeds[500]!, T),
      hashedPhaseMs(seeds[500]!, T),
      "a key no longer placed is hashed",
    );
    placement.track("ns/newcomer", undefined);
    placement.track("ns/es-500", list[500]);
    assert.deepEqual(phases(), before, "the same set, the same phases");
  });

  void test("a key added or removed between two refreshes: the next comes one interval (± interval / keys) later", () => {
    const list = objects(100);
    const placement = placed(list);
    const seeds = list.map((o) => refreshSeed(o));
    const refreshed = seeds.map((seed) => nextRefreshMs(seed, T, start, placement.phaseOf));
    const gaps = () =>
      seeds.map((seed, i) => nextRefreshMs(seed, T, refreshed[i]!, placement.phaseOf) - refreshed[i]!);
    for (const change of [
      () => placement.track("ns/newcomer", es("newcomer")),
      () => placement.track("ns/es-7", undefined),
    ]) {
      change();
      for (const [i, gap] of gaps().entries())
        if (i !== 7) assert.ok(Math.abs(gap - T) < T / 99, `${seeds[i]}: ${gap / T}`);
    }
  });

  void test("a restart or a new leader that lists the same objects in another order places them alike", () => {
    const list = objects(500);
    const first = placed(list);
    const second = placed([...list].reverse());
    for (const o of list) assert.equal(second.phaseOf(refreshSeed(o), T), first.phaseOf(refreshSeed(o), T));
  });

  void test("ExternalSecrets sharing a key share its phase; the phase stays while one of them remains", () => {
    const list = [...objects(99), es("reader-a", "app/shared"), es("reader-b", "app/shared")];
    const placement = placed(list);
    const shared = refreshSeed(es("x", "app/shared"));
    const phase = placement.phaseOf(shared, T);
    assert.notEqual(phase, hashedPhaseMs(shared, T), "placed, not hashed");
    const reads = readsPerBin(list, placement.phaseOf);
    assert.equal(
      reads.reduce((a, b) => a + b, 0),
      3 * 100,
      "100 keys read once a cycle, not 101",
    );
    assert.ok(Math.max(...reads) <= Math.ceil(100 / BINS));
    placement.track("ns/reader-a", undefined);
    assert.equal(placement.phaseOf(shared, T), phase);
    placement.track("ns/reader-b", undefined);
    assert.equal(placement.phaseOf(shared, T), hashedPhaseMs(shared, T));
  });

  void test("a changed key or interval moves the object; objects that never refresh by time are not placed", () => {
    const placement = placed(objects(10));
    const moved = es("es-3", "app/elsewhere");
    placement.track("ns/es-3", moved);
    assert.notEqual(placement.phaseOf(refreshSeed(moved), T), hashedPhaseMs(refreshSeed(moved), T));
    assert.equal(placement.phaseOf(refreshSeed(es("es-3")), T), hashedPhaseMs(refreshSeed(es("es-3")), T));
    const daily = es("es-4", "app/es-4", { refreshInterval: "24h" });
    placement.track("ns/es-4", daily);
    assert.equal(placement.phaseOf(refreshSeed(daily), T), hashedPhaseMs(refreshSeed(daily), T));
    assert.equal(
      placement.phaseOf(refreshSeed(daily), 86_400_000),
      0.5 * 86_400_000,
      "alone in its interval",
    );
    for (const over of [{ refreshPolicy: "OnChange" as const }, { refreshInterval: "0" }]) {
      const still = es("es-5", "app/es-5", over);
      placement.track("ns/es-5", still);
      assert.equal(placement.phaseOf(refreshSeed(still), T), hashedPhaseMs(refreshSeed(still), T));
    }
    const going = {
      ...es("es-6"),
      metadata: { ...es("es-6").metadata, deletionTimestamp: "2026-01-01T00:00:00Z" },
    };
    placement.track("ns/es-6", going);
    assert.equal(placement.phaseOf(refreshSeed(going), T), hashedPhaseMs(refreshSeed(going), T));
  });

  void test("decideSync with the placement: due at the placed slot, 5–105 % of the interval after the sync", () => {
    const list = objects(1000);
    const placement = placed(list);
    const syncedAt = new Date(start).toISOString();
    const target = {
      apiVersion: "v1" as const,
      kind: "Secret" as const,
      metadata: { name: "x", namespace: "ns", annotations: { "refsync.dev/data-hash": "h" } },
    };
    for (const o of list.slice(0, 100)) {
      o.status = {
        refreshTime: syncedAt,
        syncedResourceVersion: "1/",
        dataHash: "h",
        conditions: [
          {
            type: "Ready",
            status: "True",
            reason: "SecretSynced",
            message: "",
            lastTransitionTime: syncedAt,
          },
        ],
      };
      const next = nextRefreshMs(refreshSeed(o), T, start, placement.phaseOf);
      assert.ok(next - start >= 0.05 * T && next - start <= 1.05 * T);
      assert.equal(next % T, Math.floor(placement.phaseOf(refreshSeed(o), T)));
      assert.deepEqual(decideSync(o, target, next - 1, placement.phaseOf), {
        due: false,
        reason: "none",
        nextInMs: 1,
      });
      assert.equal(decideSync(o, target, next, placement.phaseOf).reason, "periodic");
      assert.equal(decideSync(o, target, next, placement.phaseOf).readsSinceMs, next);
    }
  });
});
