/** Small pure parts of the controller: schedule, hash, conditions, validation, rate limit, store authorisation. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { ExternalSecret } from "../api/v1alpha1.ts";
import { parseDuration, validateExternalSecretSpec, validateStoreSpec } from "../api/validate.ts";
import { InvalidSpecError } from "../errors.ts";
import { TokenBucket } from "../store/rate-limit.ts";
import { clusterStoreAllows, selectorMatches } from "./secretstore/resolve.ts";
import { revalidateAfterMs } from "./secretstore/reconciler.ts";
import { sameConditions, setCondition } from "../kube/conditions.ts";
import {
  decideSync,
  lastSlotMs,
  hashedPhaseMs,
  nextRefreshMs,
  refreshSeed,
  syncToken,
} from "./externalsecret/schedule.ts";
import { dataHash } from "./hash.ts";

const enc = (s: string) => new TextEncoder().encode(s);

function es(
  over: Partial<ExternalSecret["spec"]> = {},
  status?: ExternalSecret["status"],
  annotations?: Record<string, string>,
): ExternalSecret {
  return {
    apiVersion: "refsync.dev/v1alpha1",
    kind: "ExternalSecret",
    metadata: { name: "x", namespace: "ns", uid: "u1", generation: 2, annotations },
    spec: { secretStoreRef: { name: "s" }, data: [{ secretKey: "k", remoteRef: { key: "k" } }], ...over },
    status,
  };
}
const synced = (refreshTime: string, hash = "h", token = "2/"): ExternalSecret["status"] => ({
  refreshTime,
  syncedResourceVersion: token,
  dataHash: hash,
  conditions: [
    { type: "Ready", status: "True", reason: "SecretSynced", message: "", lastTransitionTime: refreshTime },
  ],
});
const target = (hash = "h") => ({
  apiVersion: "v1" as const,
  kind: "Secret" as const,
  metadata: { name: "x", namespace: "ns", annotations: { "refsync.dev/data-hash": hash } },
});

void describe("refresh schedule", () => {
  const T = 3_600_000;
  const t = "2026-01-01T00:00:00Z";
  const now = Date.parse(t);
  void test("never synced, spec change and force-sync are due", () => {
    assert.equal(decideSync(es(), target(), now).reason, "never-synced");
    assert.equal(decideSync(es({}, synced(t, "h", "1/")), target(), now).reason, "spec");
    assert.equal(
      decideSync(es({}, synced(t), { "refsync.dev/force-sync": "now" }), target(), now).reason,
      "force-sync",
    );
    assert.equal(syncToken(es({}, undefined, { "refsync.dev/force-sync": "a" })), "2/a");
  });
  void test("Periodic: due at the object's next slot, not before, reading what was read since that slot; refreshInterval 0 never", () => {
    const next = nextRefreshMs(refreshSeed(es()), 3_600_000, now);
    const before = decideSync(es({ refreshInterval: "1h" }, synced(t)), target(), next - 1);
    assert.deepEqual(before, { due: false, reason: "none", nextInMs: 1 });
    assert.deepEqual(decideSync(es({ refreshInterval: "1h" }, synced(t)), target(), next + 5000), {
      due: true,
      reason: "periodic",
      readsSinceMs: next,
    });
    assert.equal(decideSync(es({ refreshInterval: "0" }, synced(t)), target(), now + 1e9).due, false);
  });
  void test("a new object reads what was read since its slots' latest; a new spec or force-sync reads afresh", () => {
    // Also a value read within the minimum gap (5 %) before the latest slot: objects synced then skipped it.
    const first = decideSync(es(), target(), now);
    assert.equal(first.readsSinceMs, lastSlotMs(refreshSeed(es()), T, now) - 0.05 * T);
    assert.ok((first.readsSinceMs ?? Infinity) <= now && (first.readsSinceMs ?? 0) > now - 1.15 * T);
    const failed = synced(t);
    failed!.conditions![0]!.status = "False";
    assert.equal(
      decideSync(es({}, failed), target(), now).readsSinceMs,
      lastSlotMs(refreshSeed(es()), T, now),
      "the retry of a failed sync is as strict as the refresh that failed",
    );
    assert.equal(decideSync(es({}, synced(t, "h", "1/")), target(), now).readsSinceMs, now);
    assert.equal(
      decideSync(es({}, synced(t), { "refsync.dev/force-sync": "now" }), target(), now).readsSinceMs,
      now,
    );
  });
  void test("objects of one namespace and store whose first key is the same share their slots; others do not", () => {
    const other = (patch: (e: ExternalSecret) => void) => {
      const e = es({ data: [{ secretKey: "other", remoteRef: { key: "k" } }] });
      e.metadata.uid = "u2";
      patch(e);
      return refreshSeed(e);
    };
    assert.equal(
      other(() => {}),
      refreshSeed(es()),
    );
    assert.notEqual(
      other((e) => (e.metadata.namespace = "ns2")),
      refreshSeed(es()),
    );
    assert.notEqual(
      other((e) => (e.spec.secretStoreRef = { name: "s", kind: "ClusterSecretStore" })),
      refreshSeed(es()),
    );
    assert.notEqual(
      other((e) => (e.spec.data = [{ secretKey: "k", remoteRef: { key: "k", version: "2" } }])),
      refreshSeed(es()),
    );
    assert.equal(
      other(
        (e) =>
          (e.spec = {
            secretStoreRef: { name: "s" },
            dataFrom: [{ find: { name: { regexp: "." } } }, { extract: { key: "k" } }],
          }),
      ),
      refreshSeed(es()),
      "dataFrom.extract when there is no data",
    );
    assert.equal(
      other(
        (e) => (e.spec = { secretStoreRef: { name: "s" }, dataFrom: [{ find: { name: { regexp: "." } } }] }),
      ),
      "u2",
    );
  });
  void test("the latest slot: at or before now, a slot is its own latest, and the one before a slot is earlier", () => {
    for (let i = 0; i < 500; i++) {
      const seed = `seed-${i}`;
      const at = now + i * 104_729;
      const latest = lastSlotMs(seed, T, at);
      assert.ok(latest <= at && latest > at - 1.1 * T, `${seed}: ${(at - latest) / T}`);
      const slot = nextRefreshMs(seed, T, at);
      assert.equal(lastSlotMs(seed, T, slot), slot);
      assert.ok(lastSlotMs(seed, T, slot - 1) < slot);
    }
  });
  const uids = Array.from({ length: 1000 }, (_, i) => `0c6f-uid-${i}`);
  void test("the phase is fixed per UID (restarts keep it) and lies within the interval", () => {
    for (const uid of uids.slice(0, 50)) {
      const phase = hashedPhaseMs(uid, T);
      assert.ok(phase >= 0 && phase < T);
      assert.equal(hashedPhaseMs(uid, T), phase);
      assert.equal(nextRefreshMs(uid, T, now), nextRefreshMs(uid, T, now));
    }
    assert.notEqual(hashedPhaseMs("a", T), hashedPhaseMs("b", T));
  });
  void test("the first refresh after a sync comes after ≥ 5 % and ≤ 105 % of the interval; later ones one interval apart, on the phase", () => {
    for (const [i, uid] of uids.entries()) {
      const last = now + i * 7919; // syncs at arbitrary times
      let at = nextRefreshMs(uid, T, last);
      assert.ok(at - last >= 0.05 * T && at - last <= 1.05 * T, `${uid}: ${(at - last) / T}`);
      for (let k = 0; k < 3; k++) {
        const following = nextRefreshMs(uid, T, at);
        assert.equal(following - at, T, uid);
        assert.equal(following % T, Math.floor(hashedPhaseMs(uid, T)), uid);
        at = following;
      }
    }
    // Short intervals: at least a second after the last sync (refreshTime has one-second resolution).
    assert.ok(nextRefreshMs("u1", 2000, now) - now >= 1000);
  });
  void test("a thousand objects synced at once refresh spread over the interval, hashed (placement.test.ts: evenly)", () => {
    const bins = new Array<number>(40).fill(0); // bins of T/40, as bench/herd.ts
    for (const uid of uids) {
      const second = nextRefreshMs(uid, T, nextRefreshMs(uid, T, now));
      bins[Math.floor(((second - now) % T) / (T / 40))]! += 1;
    }
    // 25 per bin on average; the old last + T ± 10 % put all of them in 8 bins.
    assert.ok(Math.min(...bins) >= 10 && Math.max(...bins) <= 45, bins.join(","));
  });
  void test("OnChange and CreatedOnce never refresh by time; a missing Secret is recreated; drift re-syncs except CreatedOnce", () => {
    for (const refreshPolicy of ["OnChange", "CreatedOnce"] as const) {
      assert.equal(
        decideSync(es({ refreshPolicy, refreshInterval: "1s" }, synced(t)), target(), now + 1e9).due,
        false,
      );
      assert.equal(decideSync(es({ refreshPolicy }, synced(t)), undefined, now).reason, "target-missing");
    }
    assert.equal(
      decideSync(es({ refreshPolicy: "OnChange" }, synced(t)), target("other"), now).reason,
      "target-changed",
    );
    assert.equal(
      decideSync(es({ refreshPolicy: "CreatedOnce" }, synced(t)), target("other"), now).due,
      false,
    );
  });
});

void describe("data hash", () => {
  void test("keyed, order-independent, sensitive to keys, values and type", () => {
    const key = enc("k1");
    const a = dataHash(key, "Opaque", { a: enc("1"), b: enc("2") });
    assert.equal(a, dataHash(key, "Opaque", { b: enc("2"), a: enc("1") }));
    assert.notEqual(a, dataHash(enc("k2"), "Opaque", { a: enc("1"), b: enc("2") }));
    assert.notEqual(a, dataHash(key, "Opaque", { a: enc("1"), b: enc("3") }));
    assert.notEqual(a, dataHash(key, "kubernetes.io/tls", { a: enc("1"), b: enc("2") }));
    assert.notEqual(dataHash(key, "O", { ab: enc("c") }), dataHash(key, "O", { a: enc("bc") }));
  });
});

void describe("conditions", () => {
  void test("transition time kept while the status holds", () => {
    const c1 = setCondition(
      undefined,
      { type: "Ready", status: "True", reason: "A", message: "" },
      1,
      new Date(0),
    );
    const c2 = setCondition(
      c1,
      { type: "Ready", status: "True", reason: "B", message: "" },
      1,
      new Date(5000),
    );
    assert.equal(c2[0]?.lastTransitionTime, c1[0]?.lastTransitionTime);
    const c3 = setCondition(
      c2,
      { type: "Ready", status: "False", reason: "B", message: "" },
      1,
      new Date(9000),
    );
    assert.notEqual(c3[0]?.lastTransitionTime, c1[0]?.lastTransitionTime);
    assert.ok(
      sameConditions(
        c1,
        setCondition(c1, { type: "Ready", status: "True", reason: "A", message: "" }, 1, new Date(7000)),
      ),
    );
  });
});

void describe("spec validation", () => {
  void test("durations", () => {
    assert.equal(parseDuration("1h30m"), 5_400_000);
    assert.equal(parseDuration("250ms"), 250);
    assert.throws(() => parseDuration("1d"), InvalidSpecError);
  });
  void test("errors name the field path", () => {
    const cases: [unknown, RegExp][] = [
      [{ secretStoreRef: {}, data: [] }, /Error: spec\.secretStoreRef\.name: /],
      [
        { secretStoreRef: { name: "s" }, refreshInterval: "soon", data: [] },
        /Error: spec\.refreshInterval: /,
      ],
      [
        { secretStoreRef: { name: "s" }, data: [{ secretKey: "a/b", remoteRef: { key: "k" } }] },
        /Error: spec\.data\[0\]\.secretKey: /,
      ],
      [{ secretStoreRef: { name: "s" }, dataFrom: [{}] }, /Error: spec\.dataFrom\[0\]: set exactly one/],
      [
        { secretStoreRef: { name: "s" } },
        /set data, dataFrom, target\.template\.data or target\.template\.templateFrom/,
      ],
    ];
    for (const [spec, re] of cases) assert.throws(() => validateExternalSecretSpec(spec), re);
    assert.throws(
      () => validateStoreSpec({ provider: {}, rateLimit: { burst: 0 } }),
      /Error: spec\.rateLimit\.burst: /,
    );
  });
});

void describe("store refreshInterval", () => {
  void test("a valid store is validated again after its refreshInterval, else the default", () => {
    assert.equal(revalidateAfterMs({}, 300_000), 300_000);
    assert.equal(revalidateAfterMs({ refreshInterval: "30s" }, 300_000), 30_000);
    assert.equal(revalidateAfterMs({ refreshInterval: "1h30m" }, 300_000), 5_400_000);
  });
  void test("a duration greater than 0, or the store is InvalidSpec", () => {
    const spec = (refreshInterval: string) => ({ provider: { fake: { data: [] } }, refreshInterval });
    assert.equal(validateStoreSpec(spec("10m")).refreshInterval, "10m");
    assert.throws(() => validateStoreSpec(spec("0s")), /spec\.refreshInterval: must be greater than 0/);
    assert.throws(() => validateStoreSpec(spec("0")), /spec\.refreshInterval: must be a duration/);
    assert.throws(() => validateStoreSpec(spec("5 minutes")), InvalidSpecError);
  });
});

void describe("ClusterSecretStore conditions", () => {
  void test("any condition may allow; none means everyone", () => {
    const spec = (conditions: object[]) =>
      ({ provider: {}, conditions }) as Parameters<typeof clusterStoreAllows>[0];
    assert.equal(clusterStoreAllows({ provider: {} }, "x", {}), true);
    assert.equal(clusterStoreAllows(spec([{ namespaces: ["a"] }]), "a", {}), true);
    assert.equal(clusterStoreAllows(spec([{ namespaces: ["a"] }]), "b", {}), false);
    assert.equal(
      clusterStoreAllows(
        spec([{ namespaces: ["a"] }, { namespaceSelector: { matchLabels: { t: "1" } } }]),
        "b",
        { t: "1" },
      ),
      true,
    );
    assert.equal(clusterStoreAllows(spec([{}]), "b", {}), false);
  });
  void test("within a condition, names, selector and regexes each allow (ESO ORs them)", () => {
    const spec = (conditions: object[]) =>
      ({ provider: {}, conditions }) as Parameters<typeof clusterStoreAllows>[0];
    const both = spec([{ namespaces: ["a"], namespaceSelector: { matchLabels: { t: "1" } } }]);
    assert.equal(clusterStoreAllows(both, "a", {}), true);
    assert.equal(clusterStoreAllows(both, "b", { t: "1" }), true);
    assert.equal(clusterStoreAllows(both, "b", {}), false);
    // Go's regexp.MatchString: unanchored, so `test-*` matches any name containing "test".
    const regexes = spec([{ namespaceRegexes: ["nope", "test-*"] }]);
    assert.equal(clusterStoreAllows(regexes, "my-test", {}), true);
    assert.equal(clusterStoreAllows(regexes, "prod", {}), false);
    const anchored = spec([{ namespaceRegexes: ["^team-[a-z]+$"], namespaces: ["ops"] }]);
    assert.equal(clusterStoreAllows(anchored, "team-a", {}), true);
    assert.equal(clusterStoreAllows(anchored, "team-a1", {}), false);
    assert.equal(clusterStoreAllows(anchored, "x-team-a", {}), false);
    assert.equal(clusterStoreAllows(anchored, "ops", {}), true);
    // RE2 has no lookahead: such a store is InvalidSpec, and its pattern matches nothing.
    assert.equal(clusterStoreAllows(spec([{ namespaceRegexes: ["(?=a)"] }]), "a", {}), false);
  });
  void test("label selector operators", () => {
    const labels = { env: "prod", team: "a" };
    assert.ok(
      selectorMatches(
        { matchExpressions: [{ key: "env", operator: "In", values: ["prod", "stage"] }] },
        labels,
      ),
    );
    assert.ok(
      !selectorMatches({ matchExpressions: [{ key: "env", operator: "NotIn", values: ["prod"] }] }, labels),
    );
    assert.ok(selectorMatches({ matchExpressions: [{ key: "team", operator: "Exists" }] }, labels));
    assert.ok(!selectorMatches({ matchExpressions: [{ key: "team", operator: "DoesNotExist" }] }, labels));
  });
});

void describe("token bucket", () => {
  void test("burst, then qps; throttling pauses everyone", () => {
    let now = 0;
    const bucket = new TokenBucket(10, 2, () => now);
    assert.equal(bucket.reserve(), 0);
    assert.equal(bucket.reserve(), 0);
    assert.equal(Math.round(bucket.reserve()), 100);
    now = 1000;
    assert.equal(bucket.reserve(), 0);
    assert.equal(bucket.throttled(3), 3000);
    assert.equal(Math.round(bucket.reserve()), 3000);
    assert.ok(bucket.throttled() > 0);
  });
});
