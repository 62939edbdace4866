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
    Array.from({ length: 100 }, () => cache.read("s", { key: "a" }, 1000, load("a"))),
  );
  assert.equal(calls.length, 1);
  assert.equal(new Set(results).size, 1);
  assert.equal(misses.length, 1);
  assert.equal(hits.length, 99);
});

void test("entries are keyed by store, key and version", async () => {
  const { cache } = fixture();
  const { calls, load } = counting();
  await cache.read("s", { key: "a" }, 1000, load("a"));
  await cache.read("s", { key: "a", version: "2" }, 1000, load("a", "2"));
  await cache.read("t", { key: "a" }, 1000, load("a"));
  await cache.read("s", { key: "a" }, 1000, load("a"));
  assert.deepEqual(calls, ["a@", "a@2", "a@"]);
});

void test("an entry lives for the shortest TTL that asked for it", async () => {
  const { cache, advance } = fixture();
  const { calls, load } = counting();
  await cache.read("s", { key: "a" }, 60_000, load("a"));
  advance(5_000);
  await cache.read("s", { key: "a" }, 60_000, load("a"));
  assert.equal(calls.length, 1);
  // A caller refreshing every 4 s finds it stale, and the entry now lives 4 s for everyone.
  await cache.read("s", { key: "a" }, 4_000, load("a"));
  assert.equal(calls.length, 2);
  advance(4_000);
  await cache.read("s", { key: "a" }, 60_000, load("a"));
  assert.equal(calls.length, 3);
});

void test("failures are shared by concurrent callers but not cached", async () => {
  const { cache } = fixture();
  let n = 0;
  const failing = () => {
    n++;
    return Promise.reject(new Error("backend down"));
  };
  const both = await Promise.allSettled([
    cache.read("s", { key: "a" }, 1000, failing),
    cache.read("s", { key: "a" }, 1000, failing),
  ]);
  assert.deepEqual(
    both.map((r) => r.status),
    ["rejected", "rejected"],
  );
  assert.equal(n, 1);
  await assert.rejects(cache.read("s", { key: "a" }, 1000, failing));
  assert.equal(n, 2);
  assert.equal(cache.size, 0);
});

void test("invalidate(store) drops that store's entries and in-flight results only", async () => {
  const { cache } = fixture();
  const { calls, load } = counting();
  await cache.read("s", { key: "a" }, 1000, load("a"));
  await cache.read("t", { key: "a" }, 1000, load("a"));
  const pending = cache.read("s", { key: "b" }, 1000, load("b"));
  cache.invalidate("s");
  await pending;
  assert.equal(cache.size, 1);
  await cache.read("s", { key: "b" }, 1000, load("b"));
  await cache.read("t", { key: "a" }, 1000, load("a"));
  assert.deepEqual(calls, ["a@", "a@", "b@", "b@"]);
});

void test("the size is bounded, least recently used evicted first", async () => {
  const { cache } = fixture(2);
  const { calls, load } = counting();
  await cache.read("s", { key: "a" }, 1000, load("a"));
  await cache.read("s", { key: "b" }, 1000, load("b"));
  await cache.read("s", { key: "a" }, 1000, load("a")); // a is now the most recent
  await cache.read("s", { key: "c" }, 1000, load("c")); // evicts b
  assert.equal(cache.size, 2);
  await cache.read("s", { key: "a" }, 1000, load("a"));
  await cache.read("s", { key: "b" }, 1000, load("b"));
  assert.deepEqual(calls, ["a@", "b@", "c@", "b@"]);
});

void test("a miss calls load before read returns (callers batch misses on it)", () => {
  const { cache } = fixture();
  let called = false;
  void cache.read("s", { key: "a" }, 1000, () => {
    called = true;
    return Promise.resolve({ data: "x" });
  });
  assert.ok(called);
});
