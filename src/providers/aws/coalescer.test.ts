import assert from "node:assert/strict";
import { test } from "node:test";
import { ReadCoalescer } from "./coalescer.ts";

function recorder(options: { failBatch?: Error; failId?: string } = {}) {
  const batches: string[][] = [];
  const singles: string[] = [];
  const coalescer = new ReadCoalescer<string>({
    maxBatch: 3,
    windowMs: 5,
    fetchOne: (id) => {
      singles.push(id);
      return Promise.resolve(`value of ${id}`);
    },
    fetchBatch: (ids) => {
      batches.push(ids);
      if (options.failBatch) return Promise.reject(options.failBatch);
      return Promise.resolve({
        get: (id: string) => (id === options.failId ? new Error(`no ${id}`) : `value of ${id}`),
      });
    },
  });
  return { coalescer, batches, singles };
}

void test("a lone read in its window goes out alone", async () => {
  const { coalescer, batches, singles } = recorder();
  assert.equal(await coalescer.read("a"), "value of a");
  assert.deepEqual(singles, ["a"]);
  assert.deepEqual(batches, []);
});

void test("reads in one window share batches of at most maxBatch, duplicates share one entry", async () => {
  const { coalescer, batches } = recorder();
  const ids = ["a", "b", "a", "c", "d", "b", "e"];
  const values = await Promise.all(ids.map((id) => coalescer.read(id)));
  assert.deepEqual(
    values,
    ids.map((id) => `value of ${id}`),
  );
  assert.deepEqual(batches, [
    ["a", "b", "c"],
    ["d", "e"],
  ]);
});

void test("a read of an id already in flight joins it instead of fetching again", async () => {
  const { coalescer, batches } = recorder();
  const first = [coalescer.read("a"), coalescer.read("b"), coalescer.read("c")]; // full: flushed at once
  const again = coalescer.read("a");
  await Promise.all([...first, again]);
  assert.deepEqual(batches, [["a", "b", "c"]]);
});

void test("errors: per entry stay with their id; a failed batch fails every id of it", async () => {
  const perEntry = recorder({ failId: "b" });
  const [a, b] = await Promise.allSettled([perEntry.coalescer.read("a"), perEntry.coalescer.read("b")]);
  assert.equal(a.status, "fulfilled");
  assert.equal(b.status === "rejected" && (b.reason as Error).message, "no b");
  const whole = recorder({ failBatch: new Error("throttled") });
  const results = await Promise.allSettled([whole.coalescer.read("a"), whole.coalescer.read("b")]);
  assert.deepEqual(
    results.map((r) => r.status === "rejected" && (r.reason as Error).message),
    ["throttled", "throttled"],
  );
  // Failures are not remembered: the next read of "a" fetches again.
  assert.equal(await whole.coalescer.read("a"), "value of a");
  assert.deepEqual(whole.singles, ["a"]);
});

void test("close fails reads still waiting for their window", async () => {
  const { coalescer, batches, singles } = recorder();
  const pending = coalescer.read("a");
  coalescer.close(new Error("closed"));
  await assert.rejects(pending, /closed/);
  await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual([batches, singles], [[], []]);
});
