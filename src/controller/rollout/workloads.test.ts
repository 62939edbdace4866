import assert from "node:assert/strict";
import test from "node:test";
import { restartPatch, rolloutState, type Workload } from "./workloads.ts";

const deploy = (status: Workload["status"], extra: Partial<Workload["spec"]> = {}): Workload => ({
  metadata: { name: "api", generation: 3 },
  spec: { replicas: 2, ...extra },
  status,
});
const done = { observedGeneration: 3, updatedReplicas: 2, availableReplicas: 2, readyReplicas: 2 };

void test("restart: pod-template annotation for apps kinds, spec.restartAt for Argo Rollouts", () => {
  const now = new Date("2026-01-01T10:00:00.123Z");
  assert.deepEqual(restartPatch("Deployment", "db@abc", now), {
    spec: { template: { metadata: { annotations: { "refsync.dev/restarted-for": "db@abc" } } } },
  });
  assert.deepEqual(restartPatch("Rollout", "db@abc", now), {
    metadata: { annotations: { "refsync.dev/restarted-for": "db@abc" } },
    spec: { restartAt: "2026-01-01T10:00:00Z" },
  });
});

void test("rolloutState: complete, progressing, stuck by condition or by lag past the deadline", () => {
  assert.equal(rolloutState("Deployment", deploy(done), 0, 1, 1000), "complete");
  assert.equal(
    rolloutState("Deployment", deploy({ ...done, observedGeneration: 2 }), 0, 1, 1000),
    "progressing",
  );
  assert.equal(
    rolloutState("Deployment", deploy({ ...done, updatedReplicas: 1 }), 0, 999, 1000),
    "progressing",
  );
  assert.equal(rolloutState("Deployment", deploy({ ...done, updatedReplicas: 1 }), 0, 1001, 1000), "stuck");
  assert.equal(
    rolloutState(
      "Deployment",
      deploy({ ...done, updatedReplicas: 1 }, { progressDeadlineSeconds: 5 }),
      0,
      4000,
      1000,
    ),
    "progressing",
    "a Deployment's own progressDeadlineSeconds wins",
  );
  assert.equal(
    rolloutState("Deployment", deploy({ ...done, updatedReplicas: 1 }), undefined, 1e9, 1000),
    "progressing",
  );
  const exceeded = {
    ...done,
    conditions: [{ type: "Progressing", status: "False", reason: "ProgressDeadlineExceeded" }],
  };
  assert.equal(rolloutState("Deployment", deploy(exceeded), undefined, 0, 1000), "stuck");
  assert.equal(
    rolloutState(
      "StatefulSet",
      deploy({ observedGeneration: 3, updatedReplicas: 2, readyReplicas: 2 }),
      0,
      1,
      1,
    ),
    "complete",
  );
  const ds: Workload = {
    metadata: { name: "d", generation: 1 },
    status: {
      observedGeneration: 1,
      desiredNumberScheduled: 3,
      updatedNumberScheduled: 3,
      numberAvailable: 2,
    },
  };
  assert.equal(rolloutState("DaemonSet", ds, 0, 1, 1000), "progressing");
  const ro = (phase: string, restartedAt?: string): Workload => ({
    metadata: { name: "r" },
    spec: { restartAt: "2026-01-01T10:00:00Z" },
    status: { phase, restartedAt },
  });
  assert.equal(rolloutState("Rollout", ro("Healthy", "2026-01-01T10:00:00Z"), 0, 1, 1000), "complete");
  assert.equal(
    rolloutState("Rollout", ro("Healthy"), 0, 1, 1000),
    "progressing",
    "restart not yet picked up",
  );
  assert.equal(rolloutState("Rollout", ro("Degraded"), 0, 1, 1000), "stuck");
});
