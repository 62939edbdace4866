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

  // Time is what these two are about, so the clock is mocked (setTimeout and Date): the delays are
  // checked exactly, to the millisecond, and a loaded machine cannot stretch them.
  /** Runs everything that is ready: the handler's promise, its settling, the re-queue. */
  const settle = () => new Promise((r) => setImmediate(r));

  void test("backs off exponentially per key on failure and resets on success", async (t) => {
    t.mock.timers.enable({ apis: ["setTimeout", "Date"], now: 0 });
    const times: number[] = [];
    const queue = new WorkQueue({
      workers: 1,
      baseDelayMs: 40,
      handler: () => {
        times.push(Date.now());
        return times.length < 4 || times.length === 5
          ? Promise.reject(new Error("fail"))
          : Promise.resolve({});
      },
    });
    queue.start();
    queue.add("k");
    await settle();
    for (const delay of [40, 80, 160]) {
      const runs = times.length;
      t.mock.timers.tick(delay - 1);
      await settle();
      assert.equal(times.length, runs, `not before ${delay} ms`);
      t.mock.timers.tick(1);
      await settle();
      assert.equal(times.length, runs + 1, `after ${delay} ms`);
    }
    assert.deepEqual(times, [0, 40, 120, 280]);
    // The success reset the back-off: the next failure waits the base delay again.
    queue.add("k");
    await settle();
    assert.equal(times.length, 5);
    t.mock.timers.tick(40);
    await settle();
    assert.deepEqual(times.slice(4), [280, 320]);
    queue.clear();
    await queue.stop();
  });

  void test("addAfter keeps the earliest deadline; requeueAfterMs schedules the next run", async (t) => {
    t.mock.timers.enable({ apis: ["setTimeout", "Date"], now: 0 });
    const runs: number[] = [];
    const queue = new WorkQueue({
      workers: 1,
      handler: () => {
        runs.push(Date.now());
        return Promise.resolve(runs.length === 1 ? { requeueAfterMs: 50 } : {});
      },
    });
    queue.start();
    queue.addAfter("k", 500);
    queue.addAfter("k", 30);
    t.mock.timers.tick(29);
    await settle();
    assert.deepEqual(runs, []);
    t.mock.timers.tick(1);
    await settle();
    assert.deepEqual(runs, [30]);
    t.mock.timers.tick(50);
    await settle();
    assert.deepEqual(runs, [30, 80], "requeued after 50 ms");
    t.mock.timers.tick(1000);
    await settle();
    assert.deepEqual(runs, [30, 80], "the later deadline (500 ms) was dropped");
    queue.clear();
    await queue.stop();
  });
});
