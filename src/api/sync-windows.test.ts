/**
 * spec.syncWindows: ESO's window arithmetic (UTC, both ends of a window
 * included, robfig's descriptors), the next time a refresh may run, the
 * schema's refusal of a schedule that does not parse, and decideSync holding
 * back only what ESO holds back. Times are given, never read from a clock.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { nextRefreshMs, refreshSeed, decideSync } from "../controller/externalsecret/schedule.ts";
import { InvalidSpecError } from "../errors.ts";
import { nextAllowed, parseSchedule, refreshAllowed, type SyncWindowsSpec } from "./sync-windows.ts";
import type { ExternalSecret } from "./v1alpha1.ts";
import { validateExternalSecretSpec } from "./validate.ts";

const at = (iso: string) => Date.parse(iso);
const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());

// 2026-12-02 is a Wednesday; 2026-12-05 a Saturday.
const business: SyncWindowsSpec = { kind: "allow", windows: [{ schedule: "0 9 * * 1-5", duration: "8h" }] };
const saturday: SyncWindowsSpec = { kind: "deny", windows: [{ schedule: "0 2 * * 6", duration: "2h" }] };

void describe("sync windows", () => {
  void test("allow: open from each firing for its duration, both ends included", () => {
    assert.equal(refreshAllowed(business, at("2026-12-02T08:59:59Z")), false);
    assert.equal(refreshAllowed(business, at("2026-12-02T09:00:00Z")), true);
    assert.equal(refreshAllowed(business, at("2026-12-02T17:00:00Z")), true);
    assert.equal(refreshAllowed(business, at("2026-12-02T17:00:01Z")), false);
    assert.equal(refreshAllowed(business, at("2026-12-05T12:00:00Z")), false, "Saturday");
    assert.equal(refreshAllowed(undefined, at("2026-12-05T12:00:00Z")), true);
  });

  void test("deny: blocked while a window is open, allowed otherwise", () => {
    assert.equal(refreshAllowed(saturday, at("2026-12-05T01:59:59Z")), true);
    assert.equal(refreshAllowed(saturday, at("2026-12-05T03:00:00Z")), false);
    assert.equal(refreshAllowed(saturday, at("2026-12-05T04:00:01Z")), true);
  });

  void test("several windows: allow needs one open, deny any open blocks", () => {
    const two: SyncWindowsSpec = {
      kind: "allow",
      windows: [
        { schedule: "0 1 * * *", duration: "1h" },
        { schedule: "30 13 * * *", duration: "30m" },
      ],
    };
    assert.equal(refreshAllowed(two, at("2026-12-02T01:30:00Z")), true);
    assert.equal(refreshAllowed(two, at("2026-12-02T13:45:00Z")), true);
    assert.equal(refreshAllowed(two, at("2026-12-02T12:00:00Z")), false);
    assert.equal(refreshAllowed({ ...two, kind: "deny" }, at("2026-12-02T13:45:00Z")), false);
  });

  void test("the next allowed time: the next opening (allow), just after the close (deny)", () => {
    assert.equal(iso(nextAllowed(business, at("2026-12-02T17:00:01Z"))), "2026-12-03T09:00:00.000Z");
    assert.equal(
      iso(nextAllowed(business, at("2026-12-04T18:00:00Z"))),
      "2026-12-07T09:00:00.000Z",
      "Monday",
    );
    assert.equal(iso(nextAllowed(business, at("2026-12-02T10:00:00Z"))), "2026-12-02T10:00:00.000Z");
    assert.equal(iso(nextAllowed(saturday, at("2026-12-05T03:00:00Z"))), "2026-12-05T04:00:00.001Z");
    // Back-to-back deny windows: the wait goes past both.
    const chained: SyncWindowsSpec = {
      kind: "deny",
      windows: [
        { schedule: "0 2 * * *", duration: "1h" },
        { schedule: "30 2 * * *", duration: "1h" },
      ],
    };
    assert.equal(iso(nextAllowed(chained, at("2026-12-02T02:10:00Z"))), "2026-12-02T03:30:00.001Z");
  });

  void test("descriptors, names and ? as robfig reads them; @every is a constant delay", () => {
    assert.equal(
      refreshAllowed(
        { kind: "allow", windows: [{ schedule: "@daily", duration: "1h" }] },
        at("2026-12-02T00:30:00Z"),
      ),
      true,
    );
    assert.equal(
      refreshAllowed(
        { kind: "allow", windows: [{ schedule: "0 9 ? * MON-FRI", duration: "1h" }] },
        at("2026-12-02T09:30:00Z"),
      ),
      true,
    );
    // robfig's ConstantDelaySchedule: Next(t) = t + delay, so a window longer than its delay is always open, a shorter one never.
    const every = (schedule: string, duration: string): SyncWindowsSpec => ({
      kind: "allow",
      windows: [{ schedule, duration }],
    });
    assert.equal(refreshAllowed(every("@every 1h", "2h"), at("2026-12-02T10:17:03Z")), true);
    assert.equal(refreshAllowed(every("@every 3h", "1h"), at("2026-12-02T10:17:03Z")), false);
    assert.equal(nextAllowed(every("@every 3h", "1h"), at("2026-12-02T10:17:03Z")), undefined);
    assert.equal(parseSchedule("@every 90s")(at("2026-12-02T10:00:00.700Z")), at("2026-12-02T10:01:30Z"));
  });

  void test("the schema refuses a schedule that does not parse, naming the field", () => {
    const spec = (schedule: string, duration = "1h") => ({
      secretStoreRef: { name: "s" },
      data: [{ secretKey: "k", remoteRef: { key: "k" } }],
      syncWindows: { kind: "allow", windows: [{ schedule, duration }] },
    });
    assert.doesNotThrow(() => validateExternalSecretSpec(spec("0 22 * * 1-5")));
    assert.throws(
      () => validateExternalSecretSpec(spec("61 * * * *")),
      (err: unknown) => {
        assert.ok(err instanceof InvalidSpecError);
        assert.match(err.message, /syncWindows\.windows\[0\]\.schedule: not a valid schedule/);
        return true;
      },
    );
    assert.throws(() => validateExternalSecretSpec(spec("0 22 * *")), /syncWindows\.windows\[0\]\.schedule/);
    assert.throws(
      () => validateExternalSecretSpec(spec("@fortnightly")),
      /syncWindows\.windows\[0\]\.schedule/,
    );
    // What robfig/cron (ESO's parser) refuses and croner would take: refused here too.
    for (const [schedule, why] of [
      ["0 9 * * 7", /day of week: 7 is out of range/],
      ["0 9 L * *", /day of month: "L" is not a value, range or step/],
      ["0 9 * * 5#2", /day of week: "5#2" is not a value, range or step/],
    ] as const)
      assert.throws(() => validateExternalSecretSpec(spec(schedule)), why);
    assert.doesNotThrow(() => validateExternalSecretSpec(spec("*/15 9-17 1,15 JAN-JUN MON-FRI")));
    assert.throws(
      () => validateExternalSecretSpec(spec("0 22 * * *", "8 hours")),
      /syncWindows\.windows\[0\]\.duration/,
    );
    assert.throws(
      () =>
        validateExternalSecretSpec({
          secretStoreRef: { name: "s" },
          syncWindows: { kind: "allow", windows: [] },
        }),
      /syncWindows\.windows/,
    );
  });
});

void describe("decideSync with sync windows", () => {
  const synced = "2026-12-02T06:00:00Z";
  const es = (over: Partial<ExternalSecret["spec"]> = {}, ready = "True", token = "1/"): ExternalSecret => ({
    apiVersion: "refsync.dev/v1alpha1",
    kind: "ExternalSecret",
    metadata: { name: "x", namespace: "ns", uid: "u", generation: 1 },
    spec: {
      secretStoreRef: { name: "s" },
      refreshInterval: "1h",
      syncWindows: business,
      data: [{ secretKey: "k", remoteRef: { key: "k" } }],
      ...over,
    },
    status: {
      refreshTime: synced,
      syncedResourceVersion: token,
      dataHash: "h",
      conditions: [
        { type: "Ready", status: ready as "True", reason: "", message: "", lastTransitionTime: synced },
      ],
    },
  });
  const secret = (hash = "h") => ({
    apiVersion: "v1" as const,
    kind: "Secret" as const,
    metadata: { name: "x", namespace: "ns", annotations: { "refsync.dev/data-hash": hash } },
  });
  const dueAt = nextRefreshMs(refreshSeed(es()), 3_600_000, at(synced));

  void test("a periodic refresh due outside the allow window waits for its opening", () => {
    const d = decideSync(es(), secret(), dueAt);
    assert.equal(d.due, false);
    assert.equal(d.reason, "window");
    assert.equal(iso(dueAt + (d.nextInMs ?? NaN)), "2026-12-02T09:00:00.000Z");
    assert.equal(decideSync(es(), secret(), at("2026-12-02T09:00:00Z")).reason, "periodic");
  });

  void test("so does the retry of a failed periodic refresh", () => {
    assert.equal(decideSync(es({}, "False"), secret(), dueAt).reason, "window");
  });

  void test("a new spec, a missing or edited Secret, and other refresh policies do not wait", () => {
    assert.equal(decideSync(es({}, "True", "0/"), secret(), dueAt).reason, "spec");
    assert.equal(decideSync(es(), undefined, dueAt).reason, "target-missing");
    assert.equal(decideSync(es(), secret("edited"), dueAt).reason, "target-changed");
    assert.equal(decideSync(es({ refreshPolicy: "OnChange" }, "False"), secret(), dueAt).reason, "not-ready");
  });

  void test("a schedule that does not parse does not block: the sync runs and reports it", () => {
    const bad = es({ syncWindows: { kind: "allow", windows: [{ schedule: "99 * * * *", duration: "1h" }] } });
    assert.equal(decideSync(bad, secret(), dueAt).reason, "periodic");
  });
});
