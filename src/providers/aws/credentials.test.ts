import assert from "node:assert/strict";
import { test } from "node:test";
import { cached, type AwsCredentials } from "./credentials.ts";

const inMinutes = (minutes: number) => new Date(Date.now() + minutes * 60_000);

function source(lifetimes: (number | Error)[]) {
  let calls = 0;
  const fetch = (): Promise<AwsCredentials> => {
    const next = lifetimes[Math.min(calls, lifetimes.length - 1)];
    calls++;
    if (next instanceof Error) return Promise.reject(next);
    return Promise.resolve({
      accessKeyId: `key-${calls}`,
      secretAccessKey: "s",
      expiration: inMinutes(next ?? 60),
    });
  };
  return { fetch, calls: () => calls };
}

void test("one fetch for concurrent callers, reused while far from expiry", async () => {
  const s = source([60]);
  const get = cached(s.fetch);
  const [a, b] = await Promise.all([get(), get()]);
  assert.equal(a.accessKeyId, "key-1");
  assert.equal(b.accessKeyId, "key-1");
  assert.equal((await get()).accessKeyId, "key-1");
  assert.equal(s.calls(), 1);
});

void test("refreshed when inside the refresh margin (5 min, or half a short lifetime)", async () => {
  const s = source([4, 60]);
  const get = cached(s.fetch);
  assert.equal((await get()).accessKeyId, "key-1");
  assert.equal((await get()).accessKeyId, "key-1", "a 4-minute credential is reused for its first half");
  const soon = source([0.001, 60]);
  const getSoon = cached(soon.fetch);
  await getSoon();
  await new Promise((r) => setTimeout(r, 100));
  assert.equal((await getSoon()).accessKeyId, "key-2");
});

void test("a failed refresh keeps serving credentials that are still valid, and fails once they are not", async (t) => {
  t.mock.timers.enable({ apis: ["Date"] });
  const s = source([60, new Error("STS down")]);
  const get = cached(s.fetch);
  assert.equal((await get()).accessKeyId, "key-1");
  t.mock.timers.tick(54 * 60_000);
  assert.equal((await get()).accessKeyId, "key-1");
  assert.equal(s.calls(), 1, "no refresh before the margin");
  t.mock.timers.tick(2 * 60_000); // 56 min: inside the 5 min 10 s margin
  assert.equal(
    (await get()).accessKeyId,
    "key-1",
    "refresh failed, old keys still valid for 4 min: they serve",
  );
  assert.equal(s.calls(), 2);
  t.mock.timers.tick(3 * 60_000 + 40_000); // 59 min 40 s: within 30 s of expiry
  await assert.rejects(get(), /STS down/);
});
