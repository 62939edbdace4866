/**
 * refsync's status conventions checked against kstatus (what Flux's `wait: true` and
 * `healthChecks` compute), using the Argo CD health test data as the shared corpus.
 */
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { describe, it } from "node:test";
import { parse } from "yaml";
import { healthKinds, healthRoot } from "../../scripts/health-files.ts";
import { computeKStatus, type KStatus } from "./kstatus.ts";

const ready = (status: string, reason = "SecretSynced") => ({
  type: "Ready",
  status,
  reason,
  message: `Ready=${status}`,
});

void describe("kstatus rules", () => {
  void it("Ready=True at the current generation is Current", () => {
    const r = computeKStatus({
      metadata: { generation: 2 },
      status: { observedGeneration: 2, conditions: [ready("True")] },
    });
    assert.equal(r.status, "Current");
  });

  void it("a generation the controller has not observed is InProgress, whatever Ready says", () => {
    const r = computeKStatus({
      metadata: { generation: 3 },
      status: { observedGeneration: 2, conditions: [ready("True")] },
    });
    assert.deepEqual(r, { status: "InProgress", message: "generation 3, observed generation 2" });
  });

  void it("Stalled=True is Failed, with the condition's message", () => {
    const stalled = {
      type: "Stalled",
      status: "True",
      reason: "InvalidSpec",
      message: "spec.data[0].remoteRef.key: required",
    };
    const r = computeKStatus({
      metadata: { generation: 1 },
      status: { observedGeneration: 1, conditions: [ready("False", "InvalidSpec"), stalled] },
    });
    assert.deepEqual(r, { status: "Failed", message: "spec.data[0].remoteRef.key: required" });
  });

  void it("Reconciling=True and Ready=False are InProgress", () => {
    const reconciling = { type: "Reconciling", status: "True", reason: "Progressing", message: "reading" };
    assert.equal(
      computeKStatus({ status: { conditions: [reconciling, ready("True")] } }).status,
      "InProgress",
    );
    assert.equal(
      computeKStatus({ status: { conditions: [ready("False", "SecretSyncError")] } }).status,
      "InProgress",
    );
  });

  void it("deletion is Terminating", () => {
    assert.equal(
      computeKStatus({ metadata: { deletionTimestamp: "2026-11-23T10:00:00Z" } }).status,
      "Terminating",
    );
  });

  void it("caveat: an object with no status yet is Current (kstatus' fallback), so the Flux examples add healthCheckExprs", () => {
    assert.equal(computeKStatus({ metadata: { generation: 1 } }).status, "Current");
  });
});

void describe("Argo CD health and kstatus agree on every health test case", () => {
  // Argo CD health → what kstatus must say for the same object. Two documented differences:
  // no status yet (kstatus: Current, its fallback) and Ready=False with a reason that will not
  // fix itself but no Stalled condition (kstatus cannot tell it from progress: InProgress).
  const expected: Record<string, KStatus> = {
    Healthy: "Current",
    Degraded: "Failed",
    Progressing: "InProgress",
  };
  for (const { kind } of healthKinds) {
    void it(kind, async () => {
      const dir = path.join(healthRoot, kind);
      const { tests } = parse(await readFile(path.join(dir, "health_test.yaml"), "utf8")) as {
        tests: { healthStatus: { status: string }; inputPath: string }[];
      };
      for (const test of tests) {
        const object = parse(await readFile(path.join(dir, test.inputPath), "utf8")) as Parameters<
          typeof computeKStatus
        >[0];
        const k = computeKStatus(object).status;
        const conditions = object.status?.conditions ?? [];
        const noStatus = !conditions.some((c) => c.type === "Ready");
        const stalled = conditions.some((c) => c.type === "Stalled" && c.status === "True");
        let want = expected[test.healthStatus.status];
        if (object.metadata?.deletionTimestamp) want = "Terminating";
        else if (noStatus) want = "Current";
        else if (test.healthStatus.status === "Degraded" && !stalled) want = "InProgress";
        assert.equal(k, want, `${kind} ${test.inputPath}: Argo CD ${test.healthStatus.status}, kstatus ${k}`);
      }
    });
  }
});
