import assert from "node:assert/strict";
import test from "node:test";
import { secretUsage } from "./consumers.ts";
import { consumerReport, podOwner, type Pod } from "./stale.ts";

const envPod = (
  name: string,
  startTime: string,
  owner?: Pod["metadata"]["ownerReferences"],
  labels?: Record<string, string>,
  phase = "Running",
): Pod => ({
  metadata: { name, ownerReferences: owner, labels },
  spec: { containers: [{ env: [{ valueFrom: { secretKeyRef: { name: "db", key: "password" } } }] }] },
  status: { phase, startTime },
});
const rs = (name: string) => [{ kind: "ReplicaSet", name, controller: true }];

void test("podOwner: Deployment and Rollout through their ReplicaSet, direct owners, bare pods", () => {
  assert.deepEqual(podOwner(envPod("p", "", rs("api-5d8f"), { "pod-template-hash": "5d8f" })), {
    kind: "Deployment",
    name: "api",
  });
  assert.deepEqual(podOwner(envPod("p", "", rs("canary-77"), { "rollouts-pod-template-hash": "77" })), {
    kind: "Rollout",
    name: "canary",
  });
  assert.deepEqual(podOwner(envPod("p", "", [{ kind: "StatefulSet", name: "pg" }])), {
    kind: "StatefulSet",
    name: "pg",
  });
  assert.deepEqual(podOwner(envPod("p", "")), { kind: "Pod", name: "p" });
});

void test("stale pods: running env readers started before the change; mounts, newer and pending pods are fresh", () => {
  const mounted: Pod = {
    metadata: { name: "mounted" },
    spec: { volumes: [{ secret: { secretName: "db" } }] },
    status: { phase: "Running", startTime: "2026-01-01T00:00:00Z" },
  };
  const pods = [
    envPod("old", "2026-01-01T00:00:00Z", rs("api-1"), { "pod-template-hash": "1" }),
    envPod("same-second", "2026-01-01T01:00:00Z", rs("api-1"), { "pod-template-hash": "1" }),
    envPod("new", "2026-01-01T02:00:00Z", rs("api-1"), { "pod-template-hash": "1" }),
    envPod("pending", "2026-01-01T00:00:00Z", undefined, undefined, "Pending"),
    envPod("bare", "2026-01-01T00:00:00Z"),
    mounted,
  ];
  const workloads = [
    { kind: "Deployment", name: "api", usage: secretUsage(pods[0]!.spec) },
    { kind: "DaemonSet", name: "agent", usage: secretUsage(mounted.spec) },
    { kind: "Deployment", name: "unrelated", usage: new Map() },
  ];
  const report = consumerReport(
    [{ name: "db", changedAt: "2026-01-01T01:00:00.500Z" }, { name: "never-changed" }],
    workloads,
    pods,
  );
  assert.deepEqual(report.get("db"), [
    { kind: "Deployment", name: "api", stalePods: ["old"] },
    { kind: "DaemonSet", name: "agent", stalePods: [] },
    { kind: "Pod", name: "bare", stalePods: ["bare"] },
  ]);
  assert.deepEqual(report.get("never-changed"), []);
});
