import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  ANNOTATION_DATA_HASH,
  FINALIZER,
  type ExternalSecret,
  type LeaseStatus,
} from "../../api/v1alpha1.ts";
import {
  RESUME_MIN_TTL_MS,
  fromLeaseStatus,
  leaseExpired,
  resumeBlocker,
  sameLeases,
  toLeaseStatus,
} from "./lease-status.ts";
import type { SyncDecision } from "./schedule.ts";
import type { SecretObject } from "./target.ts";

const NOW = Date.parse("2030-01-01T00:00:00Z");
const lease = (over: Partial<LeaseStatus> = {}): LeaseStatus => ({
  id: "database/creds/app/abc",
  renewable: true,
  durationSeconds: 60,
  expiresAt: "2030-01-01T00:00:40Z",
  ...over,
});

function es(status: ExternalSecret["status"] = {}, generation = 2): ExternalSecret {
  return {
    apiVersion: "refsync.dev/v1alpha1",
    kind: "ExternalSecret",
    metadata: { name: "db", namespace: "ns", generation, finalizers: [FINALIZER] },
    spec: { secretStoreRef: { name: "db" } },
    status: { syncedResourceVersion: "2/", dataHash: "h1", leases: [lease()], ...status },
  };
}
const secret = (hash: string | undefined): SecretObject => ({
  apiVersion: "v1",
  kind: "Secret",
  metadata: { name: "db", namespace: "ns", annotations: hash ? { [ANNOTATION_DATA_HASH]: hash } : {} },
});
const notDue: SyncDecision = { due: false, reason: "none" };

void describe("lease status", () => {
  void test("what the status shows of held leases: ID, renewable, whole seconds, expiry to the second, by ID", () => {
    const shown = toLeaseStatus([
      {
        lease: { id: "db/creds/b", renewable: false, durationSeconds: 1.6 },
        store: "SecretStore/ns/vault",
        expiresAt: NOW + 1_999,
      },
      {
        lease: { id: "db/creds/a", renewable: true, durationSeconds: 3600 },
        store: "ClusterSecretStore/shared",
        expiresAt: NOW + 3_600_000,
      },
    ]);
    assert.deepEqual(shown, [
      {
        id: "db/creds/a",
        renewable: true,
        durationSeconds: 3600,
        expiresAt: "2030-01-01T01:00:00Z",
        store: "ClusterSecretStore/shared",
      },
      {
        id: "db/creds/b",
        renewable: false,
        durationSeconds: 2,
        expiresAt: "2030-01-01T00:00:01Z",
        store: "SecretStore/ns/vault",
      },
    ]);
    assert.deepEqual(fromLeaseStatus(shown[0]!), {
      id: "db/creds/a",
      renewable: true,
      durationSeconds: 3600,
    });
  });

  void test("sameLeases compares every field, in order; absent equals empty", () => {
    assert.ok(sameLeases(undefined, []));
    assert.ok(sameLeases([lease()], [lease()]));
    assert.ok(!sameLeases([lease()], undefined));
    assert.ok(!sameLeases([lease()], [lease({ expiresAt: "2030-01-01T00:00:41Z" })]));
    assert.ok(!sameLeases([lease()], [lease({ renewable: false })]));
    assert.ok(!sameLeases([lease()], [lease({ durationSeconds: 30 })]));
    assert.ok(!sameLeases([lease()], [lease({ id: "other" })]));
    assert.ok(!sameLeases([lease()], [lease({ store: "SecretStore/ns/other" })]));
  });

  void test("a lease has expired at its expiry, and when its expiry cannot be read", () => {
    assert.ok(!leaseExpired(lease(), NOW));
    assert.ok(leaseExpired(lease(), Date.parse(lease().expiresAt)));
    assert.ok(leaseExpired(lease({ expiresAt: "soon" }), NOW));
  });

  void test("leases are resumed only for an unchanged spec and Secret, with no other sync due, all renewable and live", () => {
    assert.equal(resumeBlocker(es(), secret("h1"), notDue, NOW), undefined);
    // A failed sync (Ready=False) is no reason to read anew: the Secret still holds the leases' data.
    assert.equal(resumeBlocker(es(), secret("h1"), { due: true, reason: "not-ready" }, NOW), undefined);
    assert.equal(resumeBlocker(es({ leases: [] }), secret("h1"), notDue, NOW), "no leases in status");
    assert.equal(resumeBlocker(es({}, 3), secret("h1"), notDue, NOW), "the spec changed");
    assert.equal(
      resumeBlocker(es({ syncedResourceVersion: "2/force" }), secret("h1"), notDue, NOW),
      "the spec changed",
    );
    assert.equal(resumeBlocker(es(), secret("h2"), notDue, NOW), "the Secret changed");
    assert.equal(resumeBlocker(es(), secret(undefined), notDue, NOW), "the Secret changed");
    assert.equal(resumeBlocker(es(), undefined, notDue, NOW), "the Secret changed");
    assert.equal(
      resumeBlocker(es(), secret("h1"), { due: true, reason: "periodic" }, NOW),
      "a sync is due (periodic)",
    );
    assert.equal(
      resumeBlocker(
        es({ leases: [lease(), lease({ id: "x", renewable: false })] }),
        secret("h1"),
        notDue,
        NOW,
      ),
      "a lease is not renewable",
    );
    const expiresAt = Date.parse(lease().expiresAt);
    assert.equal(resumeBlocker(es(), secret("h1"), notDue, expiresAt - RESUME_MIN_TTL_MS - 1), undefined);
    assert.equal(resumeBlocker(es(), secret("h1"), notDue, expiresAt - RESUME_MIN_TTL_MS), "a lease expired");
  });
});
