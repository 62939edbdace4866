import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { silentLogger } from "../../log.ts";
import type { Lease } from "../../providers/types.ts";
import type { StoreSession } from "../../store/sessions.ts";
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
const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

void describe("LeaseTracker", () => {
  void test("renews at about 2/3 of the TTL and keeps renewing", async () => {
    const { calls, session: s } = session((l) => Promise.resolve({ ...l, durationSeconds: 1.5 }));
    const refresh: string[] = [];
    const tracker = new LeaseTracker({ log: silentLogger, onRefreshNeeded: (k) => refresh.push(k) });
    tracker.track("ns/a", s, [{ id: "db/creds/1", durationSeconds: 1.5, renewable: true }]);
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
    tracker.track("ns/a", s, [{ id: "l1", durationSeconds: 1.5, renewable: true }]);
    tracker.track("ns/b", s, [{ id: "l2", durationSeconds: 1.5, renewable: false }]);
    await tick(1200);
    assert.deepEqual(refresh.sort(), ["ns/a", "ns/b"]);
    tracker.stop();
  });

  void test("replaced and released leases are revoked once the last holder lets go", async () => {
    const { calls, session: s } = session((l) => Promise.resolve(l));
    const tracker = new LeaseTracker({ log: silentLogger, onRefreshNeeded: () => {} });
    const shared = { id: "shared", durationSeconds: 60, renewable: true };
    tracker.track("ns/a", s, [shared, { id: "a1", durationSeconds: 60, renewable: true }]);
    tracker.track("ns/b", s, [shared]);
    tracker.track("ns/a", s, [shared, { id: "a2", durationSeconds: 60, renewable: true }]);
    await tick(10);
    assert.deepEqual(calls, ["revoke:a1"]);
    await tracker.release("ns/a");
    assert.deepEqual(calls, ["revoke:a1", "revoke:a2"]);
    assert.equal(tracker.holds("ns/a"), false);
    await tracker.release("ns/b");
    assert.deepEqual(calls, ["revoke:a1", "revoke:a2", "revoke:shared"]);
    tracker.stop();
  });
});
