import assert from "node:assert/strict";
import { test } from "node:test";
import type { SecretValue } from "../providers/types.ts";
import { ReadCache } from "./read-cache.ts";

function counting() {
  const calls: string[] = [];
  const load = (key: string, version?: string) => () => {
    calls.push(`${key}@${version ?? ""}`);
    return new Promise<SecretValue>((resolve) =>
      setImmediate(() => resolve({ data: { key }, version: version ?? "1" })),
    );
  };
  return { calls, load };
}

function fixture(maxEntries?: number) {
  let now = 0;
  const hits: string[] = [];
  const misses: string[] = [];
  const cache = new ReadCache({
    maxEntries,
    now: () => now,
    onHit: (s) => hits.push(s),
    onMiss: (s) => misses.push(s),
  });
  return { cache, hits, misses, advance: (ms: number) => (now += ms) };
}

void test("concurrent reads of one key share one backend call", async () => {
  const { cache, hits, misses } = fixture();
  const { calls, load } = counting();
  const results = await Promise.all(
    Array.from({ length: 100 }, () => cache.read("s", { key: "a" }, 0, load("a"))),
  );
  assert.equal(calls.length, 1);
  assert.equal(new Set(results).size, 1);
  assert.equal(misses.length, 1);
  assert.equal(hits.length, 99);
});

void test("entries are keyed by store, key and version", async () => {
  const { cache } = fixture();
  const { calls, load } = counting();
  await cache.read("s", { key: "a" }, 0, load("a"));
  await cache.read("s", { key: "a", version: "2" }, 0, load("a", "2"));
  await cache.read("t", { key: "a" }, 0, load("a"));
  await cache.read("s", { key: "a" }, 0, load("a"));
  assert.deepEqual(calls, ["a@", "a@2", "a@"]);
});

void test("a caller takes only a value read at or after its readsSince; a newer read serves everyone", async () => {
  const { cache, advance } = fixture();
  const { calls, load } = counting();
  await cache.read("s", { key: "a" }, 0, load("a")); // read at t=0
  advance(5_000);
  await cache.read("s", { key: "a" }, 0, load("a"));
  assert.equal(calls.length, 1, "read at 0 is fresh enough for readsSince 0");
  await cache.read("s", { key: "a" }, 1, load("a")); // read at t=5000
  assert.equal(calls.length, 2, "read at 0 is too old for readsSince 1");
  await cache.read("s", { key: "a" }, 5_000, load("a"));
  await cache.read("s", { key: "a" }, 0, load("a"));
  assert.equal(calls.length, 2, "the read at 5000 replaced the entry for every caller");
});

void test("a read in flight is joined only by callers it is fresh enough for", async () => {
  const { cache, advance } = fixture();
  const { calls, load } = counting();
  const first = cache.read("s", { key: "a" }, 0, load("a")); // starts at t=0
  advance(10);
  const joined = cache.read("s", { key: "a" }, 0, load("a"));
  const newer = cache.read("s", { key: "a" }, 10, load("a")); // must not take a read started before t=10
  assert.equal(calls.length, 2);
  await Promise.all([first, joined, newer]);
  assert.equal(await cache.read("s", { key: "a" }, 10, load("a")), await newer);
  assert.equal(calls.length, 2, "the newer read is the entry kept");
});

void test("an older read ends neither a newer flight nor, finishing last, a newer entry", async () => {
  const { cache, advance } = fixture();
  const pending = () => {
    let finish: (v: SecretValue) => void = () => {};
    const load = () => new Promise<SecretValue>((r) => (finish = r));
    return { load, finish: (v: SecretValue) => finish(v) };
  };
  const [a1, a2, b1, b2] = [pending(), pending(), pending(), pending()];
  const noRead = () => Promise.reject(new Error("no read expected"));
  // Older finishes first, while the newer is in flight.
  const oldA = cache.read("s", { key: "a" }, 0, a1.load);
  advance(10);
  const newA = cache.read("s", { key: "a" }, 10, a2.load);
  a1.finish({ data: "old" });
  await oldA;
  assert.ok(cache.has("s", { key: "a" }, 10), "the newer read is still in flight");
  a2.finish({ data: "new" });
  await newA;
  // Older finishes last.
  const oldB = cache.read("s", { key: "b" }, 0, b1.load);
  advance(10);
  const newB = cache.read("s", { key: "b" }, 20, b2.load);
  b2.finish({ data: "new" });
  await newB;
  b1.finish({ data: "old" });
  await oldB;
  assert.deepEqual(await cache.read("s", { key: "a" }, 0, noRead), { data: "new" });
  assert.deepEqual(await cache.read("s", { key: "b" }, 0, noRead), { data: "new" });
});

void test("failures are shared by concurrent callers but not cached", async () => {
  const { cache } = fixture();
  let n = 0;
  const failing = () => {
    n++;
    return Promise.reject(new Error("backend down"));
  };
  const both = await Promise.allSettled([
    cache.read("s", { key: "a" }, 0, failing),
    cache.read("s", { key: "a" }, 0, failing),
  ]);
  assert.deepEqual(
    both.map((r) => r.status),
    ["rejected", "rejected"],
  );
  assert.equal(n, 1);
  await assert.rejects(cache.read("s", { key: "a" }, 0, failing));
  assert.equal(n, 2);
  assert.equal(cache.size, 0);
});

void test("invalidate(store) drops that store's entries and in-flight results only", async () => {
  const { cache } = fixture();
  const { calls, load } = counting();
  await cache.read("s", { key: "a" }, 0, load("a"));
  await cache.read("t", { key: "a" }, 0, load("a"));
  const pending = cache.read("s", { key: "b" }, 0, load("b"));
  cache.invalidate("s");
  await pending;
  assert.equal(cache.size, 1);
  await cache.read("s", { key: "b" }, 0, load("b"));
  await cache.read("t", { key: "a" }, 0, load("a"));
  assert.deepEqual(calls, ["a@", "a@", "b@", "b@"]);
});

void test("the size is bounded, least recently used evicted first", async () => {
  const { cache } = fixture(2);
  const { calls, load } = counting();
  await cache.read("s", { key: "a" }, 0, load("a"));
  await cache.read("s", { key: "b" }, 0, load("b"));
  await cache.read("s", { key: "a" }, 0, load("a")); // a is now the most recent
  await cache.read("s", { key: "c" }, 0, load("c")); // evicts b
  assert.equal(cache.size, 2);
  await cache.read("s", { key: "a" }, 0, load("a"));
  await cache.read("s", { key: "b" }, 0, load("b"));
  assert.deepEqual(calls, ["a@", "b@", "c@", "b@"]);
});

void test("a miss calls load before read returns (callers batch misses on it)", () => {
  const { cache } = fixture();
  let called = false;
  void cache.read("s", { key: "a" }, 0, () => {
    called = true;
    return Promise.resolve({ data: "x" });
  });
  assert.ok(called);
});
