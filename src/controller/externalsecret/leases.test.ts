import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, mock, test } from "node:test";
import { silentLogger } from "../../log.ts";
import type { Lease } from "../../providers/types.ts";
import type { StoreSession } from "../secretstore/sessions.ts";
import { LeaseTracker } from "./leases.ts";

/** The two calls the tracker makes on a store session, recorded. */
function session(renew: (l: Lease) => Promise<Lease>) {
  const calls: string[] = [];
  const s = {
    id: "SecretStore/ns/vault",
    renewLease: (l: Lease) => (calls.push(`renew:${l.id}`), renew(l)),
    revokeLease: (l: Lease) => (calls.push(`revoke:${l.id}`), Promise.resolve()),
  };
  return { calls, session: s as unknown as StoreSession };
}

/** Leases read through one session, as the tracker takes them. */
const held = (session: StoreSession, ...leases: Lease[]) => leases.map((lease) => ({ lease, session }));
/**
 * Renewal times are the subject: setTimeout and Date are mocked, and time moves on in 10 ms steps,
 * each followed by whatever the fired timers set off (a renewal's promise, the next schedule), so
 * "not renewed at 900 ms, renewed by 1200 ms" holds exactly, however loaded the machine is.
 */
async function tick(ms: number): Promise<void> {
  for (let elapsed = 0; elapsed < ms; elapsed += 10) {
    mock.timers.tick(Math.min(10, ms - elapsed));
    await new Promise((r) => setImmediate(r));
  }
}

void describe("LeaseTracker", () => {
  beforeEach(() => mock.timers.enable({ apis: ["setTimeout", "Date"], now: 1_800_000_000_000 }));
  afterEach(() => mock.timers.reset());

  void test("renews at about 2/3 of the TTL and keeps renewing", async () => {
    const { calls, session: s } = session((l) => Promise.resolve({ ...l, durationSeconds: 1.5 }));
    const refresh: string[] = [];
    const tracker = new LeaseTracker({ log: silentLogger, onRefreshNeeded: (k) => refresh.push(k) });
    tracker.track("ns/a", held(s, { id: "db/creds/1", durationSeconds: 1.5, renewable: true }));
    await tick(900);
    assert.equal(calls.length, 0);
    await tick(300);
    assert.deepEqual(calls, ["renew:db/creds/1"]);
    await tick(1100);
    assert.equal(calls.filter((c) => c.startsWith("renew")).length, 2);
    assert.deepEqual(refresh, []);
    tracker.stop();
  });

  void test("a failed renewal, or a lease that is not renewable, asks for a fresh read before expiry", async () => {
    const { session: s } = session(() => Promise.reject(new Error("lease expired")));
    const refresh: string[] = [];
    const tracker = new LeaseTracker({ log: silentLogger, onRefreshNeeded: (k) => refresh.push(k) });
    tracker.track("ns/a", held(s, { id: "l1", durationSeconds: 1.5, renewable: true }));
    tracker.track("ns/b", held(s, { id: "l2", durationSeconds: 1.5, renewable: false }));
    await tick(1200);
    assert.deepEqual(refresh.sort(), ["ns/a", "ns/b"]);
    tracker.stop();
  });

  void test("replaced and released leases are revoked once the last holder lets go", async () => {
    const { calls, session: s } = session((l) => Promise.resolve(l));
    const tracker = new LeaseTracker({ log: silentLogger, onRefreshNeeded: () => {} });
    const shared = { id: "shared", durationSeconds: 60, renewable: true };
    tracker.track("ns/a", held(s, shared, { id: "a1", durationSeconds: 60, renewable: true }));
    tracker.track("ns/b", held(s, shared));
    tracker.track("ns/a", held(s, shared, { id: "a2", durationSeconds: 60, renewable: true }));
    await tick(10);
    assert.deepEqual(calls, ["revoke:a1"]);
    await tracker.release("ns/a");
    assert.deepEqual(calls, ["revoke:a1", "revoke:a2"]);
    assert.equal(tracker.holds("ns/a"), false);
    await tracker.release("ns/b");
    assert.deepEqual(calls, ["revoke:a1", "revoke:a2", "revoke:shared"]);
    tracker.stop();
  });

  void test("a renewal moves the expiry the tracker reports, and tells each holder", async () => {
    const { session: s } = session((l) => Promise.resolve({ ...l, durationSeconds: 30 }));
    const renewed: string[] = [];
    const tracker = new LeaseTracker({
      log: silentLogger,
      onRefreshNeeded: () => {},
      onRenewed: (k) => renewed.push(k),
      renewAt: 0.001,
    });
    const lease = { id: "shared", durationSeconds: 1, renewable: true };
    const before = Date.now();
    tracker.track("ns/a", held(s, lease));
    tracker.track("ns/b", held(s, lease));
    assert.ok(tracker.isHeld("shared") && !tracker.isHeld("other"));
    const [first] = tracker.leasesOf("ns/a");
    assert.ok(first && first.expiresAt >= before + 1000 && first.expiresAt <= Date.now() + 1000);
    await tick(1100);
    assert.deepEqual(renewed.sort(), ["ns/a", "ns/b"]);
    const [after] = tracker.leasesOf("ns/b");
    assert.equal(after?.lease.durationSeconds, 30);
    assert.ok(after && after.expiresAt >= Date.now() + 28_000);
    assert.deepEqual(tracker.leasesOf("ns/c"), []);
    tracker.stop();
  });

  void test("resume renews the leases of a previous process and tracks them when every one renews for long enough", async () => {
    const { calls, session: s } = session((l) => Promise.resolve({ ...l, durationSeconds: 1.5 }));
    const tracker = new LeaseTracker({ log: silentLogger, onRefreshNeeded: () => {} });
    const listed = [
      { id: "l1", durationSeconds: 1.5, renewable: true },
      { id: "l2", durationSeconds: 2, renewable: true },
    ];
    assert.deepEqual(await tracker.resume("ns/a", held(s, ...listed)), { ok: true });
    assert.deepEqual(calls, ["renew:l1", "renew:l2"]);
    assert.ok(tracker.holds("ns/a"));
    assert.deepEqual(
      tracker.leasesOf("ns/a").map((h) => h.lease.id),
      ["l1", "l2"],
    );
    // Another ExternalSecret of the same (cached) read joins the lease already taken over: no second renewal.
    assert.deepEqual(await tracker.resume("ns/b", held(s, listed[0]!)), { ok: true });
    assert.equal(calls.length, 2);
    // …and the tracker renews them from then on.
    await tick(1100);
    assert.ok(calls.filter((c) => c === "renew:l1").length >= 2);
    tracker.stop();
  });

  void test("resume tracks nothing when a lease is not renewable, capped, unrenewable by the store, or its renewal fails", async () => {
    const cases: [string, (l: { id: string }) => Promise<unknown> | undefined, boolean, string][] = [
      [
        "not renewable",
        (l) => Promise.resolve({ ...l, durationSeconds: 60 }),
        false,
        "a lease is not renewable",
      ],
      [
        "capped",
        (l) => Promise.resolve({ ...l, durationSeconds: 20, renewable: false }),
        true,
        "a lease reached its max TTL",
      ],
      ["no renew", () => undefined, true, "the store cannot renew leases"],
      ["failed", () => Promise.reject(new Error("lease not found")), true, "a lease renewal failed"],
    ];
    for (const [name, renew, renewable, why] of cases) {
      const calls: string[] = [];
      const s = {
        id: "SecretStore/ns/vault",
        renewLease: (l: Lease) => (calls.push(`renew:${l.id}`), renew(l)),
        revokeLease: (l: Lease) => (calls.push(`revoke:${l.id}`), Promise.resolve()),
      } as unknown as StoreSession;
      const tracker = new LeaseTracker({ log: silentLogger, onRefreshNeeded: () => {} });
      const ok = { id: "ok", durationSeconds: 60, renewable: true };
      const result = await tracker.resume("ns/a", held(s, ok, { id: "bad", durationSeconds: 60, renewable }));
      assert.equal(result.ok, false, name);
      assert.equal(!result.ok && result.why, why, name);
      assert.equal(tracker.holds("ns/a"), false, name);
      assert.equal(tracker.isHeld("ok"), false, name);
      // Nothing revoked here: the caller re-reads first, and revokes what it replaced.
      assert.ok(!calls.some((c) => c.startsWith("revoke")), name);
      tracker.stop();
    }
  });
});
