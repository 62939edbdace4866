import assert from "node:assert/strict";
import test from "node:test";
import { RestartBatcher, workloadKey } from "./batch.ts";

const w = (name: string, namespace = "a") => ({ kind: "Deployment", namespace, name });
const secret = (hash: string, name = "db") => ({ name, hash, externalSecret: name });

void test("changes within the window merge into one restart with the latest hash and every key", () => {
  const b = new RestartBatcher({ windowMs: 1000, maxConcurrent: 5 });
  for (let i = 0; i < 10; i++) b.add(w("api"), secret(`h${i}`), [`k${i % 3}`], i * 50);
  b.add(w("api"), secret("x", "other"), ["*"], 600);
  assert.equal(b.due(999).length, 0, "window counts from the first change");
  const due = b.due(1000);
  assert.equal(due.length, 1);
  const p = due[0]!;
  assert.equal(p.secrets.get("db")?.hash, "h9");
  assert.deepEqual([...p.secrets.get("db")!.keys].sort(), ["k0", "k1", "k2"]);
  assert.deepEqual([...p.secrets.get("other")!.keys], ["*"]);
  b.started(p);
  assert.equal(b.pendingCount, 0);
  assert.equal(b.due(5000).length, 0);
});

void test("at most maxConcurrent rolling per namespace; a settled workload frees its slot", () => {
  const b = new RestartBatcher({ windowMs: 0, maxConcurrent: 2 });
  for (const n of ["a1", "a2", "a3", "a4"]) b.add(w(n), secret("h"), ["k"], 0);
  b.add(w("b1", "b"), secret("h"), ["k"], 0);
  const first = b.due(0);
  assert.deepEqual(first.map((p) => p.workload.name).sort(), ["a1", "a2", "b1"]);
  for (const p of first) b.started(p);
  assert.deepEqual(b.due(1), [], "namespace a is full");
  b.settled(workloadKey(w("a1")));
  const next = b.due(2);
  assert.equal(next.length, 1);
  b.started(next[0]!);
  assert.deepEqual(b.due(3), []);
  assert.equal(b.rolling().filter((k) => k.includes("/a/")).length, 2);
});

void test("a workload already rolling may be restarted again without taking a new slot", () => {
  const b = new RestartBatcher({ windowMs: 0, maxConcurrent: 1 });
  b.add(w("api"), secret("h1"), ["k"], 0);
  b.started(b.due(0)[0]!);
  b.add(w("api"), secret("h2"), ["k"], 10);
  b.add(w("web"), secret("h2"), ["k"], 10);
  assert.deepEqual(
    b.due(10).map((p) => p.workload.name),
    ["api"],
  );
});

void test("dropped restarts leave no trace; clear forgets everything", () => {
  const b = new RestartBatcher({ windowMs: 0, maxConcurrent: 1 });
  b.add(w("api"), secret("h1"), ["k"], 0);
  b.drop(b.due(0)[0]!);
  assert.equal(b.pendingCount, 0);
  b.add(w("api"), secret("h1"), ["k"], 0);
  b.started(b.due(0)[0]!);
  b.clear();
  assert.deepEqual(b.rolling(), []);
});
