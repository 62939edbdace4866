import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { WorkQueue } from "./queue.ts";

const tick = (ms = 10) => new Promise((r) => setTimeout(r, ms));

void describe("WorkQueue", () => {
  void test("runs at most one reconcile per key, re-running a key added meanwhile once", async () => {
    let active = 0;
    let maxActive = 0;
    const runs: string[] = [];
    let release: () => void = () => {};
    const queue = new WorkQueue({
      workers: 4,
      handler: async (key) => {
        active++;
        maxActive = Math.max(maxActive, active);
        runs.push(key);
        if (runs.length === 1) await new Promise<void>((r) => (release = r));
        active--;
      },
    });
    queue.start();
    queue.add("a");
    await tick();
    queue.add("a");
    queue.add("a");
    await tick();
    assert.equal(maxActive, 1);
    release();
    await tick(30);
    assert.deepEqual(runs, ["a", "a"]);
    await queue.stop();
  });

  void test("uses N workers for different keys", async () => {
    let active = 0;
    let maxActive = 0;
    const queue = new WorkQueue({
      workers: 3,
      handler: async () => {
        active++;
        maxActive = Math.max(maxActive, active);
        await tick(30);
        active--;
      },
    });
    queue.start();
    for (const k of ["a", "b", "c", "d", "e"]) queue.add(k);
    await tick(120);
    assert.equal(maxActive, 3);
    await queue.stop();
  });

  void test("keeps the default back-off when options pass undefined delays", async () => {
    let calls = 0;
    const queue = new WorkQueue({
      workers: 1,
      baseDelayMs: undefined,
      maxDelayMs: undefined,
      handler: () => {
        calls++;
        throw new Error("backend down");
      },
    });
    queue.start();
    queue.add("a");
    await tick(150);
    // One failure, then a 200 ms default back-off: no second call yet (NaN delays retried every 1 ms).
    assert.equal(calls, 1);
    await queue.stop();
  });

  void test("backs off exponentially per key on failure and resets on success", async () => {
    const times: number[] = [];
    const queue = new WorkQueue({
      workers: 1,
      baseDelayMs: 40,
      handler: () => {
        times.push(Date.now());
        return times.length < 4 ? Promise.reject(new Error("fail")) : Promise.resolve({});
      },
    });
    queue.start();
    queue.add("k");
    await tick(600);
    assert.equal(times.length, 4);
    const gaps = times.slice(1).map((t, i) => t - (times[i] as number));
    assert.ok(
      (gaps[0] as number) >= 35 && (gaps[1] as number) >= 75 && (gaps[2] as number) >= 155,
      `gaps ${gaps.join(",")}`,
    );
    queue.clear();
    await queue.stop();
  });

  void test("addAfter keeps the earliest deadline; requeueAfterMs schedules the next run", async () => {
    const runs: number[] = [];
    const queue = new WorkQueue({
      workers: 1,
      handler: () => {
        runs.push(Date.now());
        return Promise.resolve(runs.length === 1 ? { requeueAfterMs: 50 } : {});
      },
    });
    queue.start();
    const t0 = Date.now();
    queue.addAfter("k", 500);
    queue.addAfter("k", 30);
    await tick(150);
    assert.equal(runs.length, 2);
    assert.ok((runs[0] as number) - t0 < 200);
    queue.clear();
    await queue.stop();
  });
});
