import assert from "node:assert/strict";
import test from "node:test";
import { RestartBatcher, workloadKey, type PendingRestart } from "./batch.ts";

const w = (name: string, namespace = "a") => ({ kind: "Deployment", namespace, name });
const secret = (hash: string, name = "db") => ({ name, hash, externalSecret: name });

/** What the controller does each pass: start every due restart that has a slot (`held`: stuck, kept pending). */
function pass(b: RestartBatcher, now: number, held: string[] = []): string[] {
  const started: PendingRestart[] = [];
  for (const p of b.due(now)) {
    if (!b.hasSlot(p) || held.includes(p.workload.name)) continue;
    b.started(p);
    started.push(p);
  }
  return started.map((p) => p.workload.name);
}

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
  assert.deepEqual(pass(b, 0).sort(), ["a1", "a2", "b1"]);
  assert.deepEqual(pass(b, 1), [], "namespace a is full");
  b.settled(workloadKey(w("a1")));
  assert.deepEqual(pass(b, 2), ["a3"]);
  assert.deepEqual(pass(b, 3), []);
  assert.equal(b.rolling().filter((k) => k.includes("/a/")).length, 2);
});

void test("a restart held back (stuck workload) keeps no slot from the others", () => {
  const b = new RestartBatcher({ windowMs: 0, maxConcurrent: 1 });
  b.add(w("stuck"), secret("h"), ["k"], 0);
  b.add(w("fine"), secret("h"), ["k"], 1);
  assert.deepEqual(pass(b, 5, ["stuck"]), ["fine"]);
  assert.equal(b.pendingCount, 1, "the stuck one stays pending");
  b.settled(workloadKey(w("fine")));
  assert.deepEqual(pass(b, 6), ["stuck"], "and starts once it recovered");
});

void test("a workload already rolling may be restarted again without taking a new slot", () => {
  const b = new RestartBatcher({ windowMs: 0, maxConcurrent: 1 });
  b.add(w("api"), secret("h1"), ["k"], 0);
  pass(b, 0);
  b.add(w("api"), secret("h2"), ["k"], 10);
  b.add(w("web"), secret("h2"), ["k"], 10);
  assert.deepEqual(pass(b, 10), ["api"]);
});

void test("dropped restarts leave no trace; clear forgets everything", () => {
  const b = new RestartBatcher({ windowMs: 0, maxConcurrent: 1 });
  b.add(w("api"), secret("h1"), ["k"], 0);
  b.drop(b.due(0)[0]!);
  assert.equal(b.pendingCount, 0);
  b.add(w("api"), secret("h1"), ["k"], 0);
  pass(b, 0);
  b.clear();
  assert.deepEqual(b.rolling(), []);
});
