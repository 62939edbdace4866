import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  AccessDeniedError,
  AuditSinkError,
  BackendUnavailableError,
  InvalidSpecError,
  SecretNotFoundError,
  ThrottledError,
} from "../errors.ts";
import { mayPass, retryPolicy, withRetries } from "./retry.ts";

/** Fails with `errors` in turn, then succeeds; counts attempts. */
function flaky(...errors: Error[]) {
  let attempts = 0;
  return {
    attempts: () => attempts,
    fn: () => {
      const err = errors[attempts++];
      return err ? Promise.reject(err) : Promise.resolve("ok");
    },
  };
}

void describe("retrySettings", () => {
  void test("defaults when set: 3 retries 1s apart; unset: none", () => {
    assert.equal(retryPolicy(undefined), undefined);
    assert.deepEqual(retryPolicy({}), { maxRetries: 3, intervalMs: 1000 });
    assert.deepEqual(retryPolicy({ maxRetries: 0, retryInterval: "250ms" }), {
      maxRetries: 0,
      intervalMs: 250,
    });
  });

  void test("errors that may pass are retried; not found, denied, a bad spec or the audit sink are not", () => {
    assert.ok(mayPass(new BackendUnavailableError("down")));
    assert.ok(mayPass(new ThrottledError("slow down")));
    assert.ok(mayPass(new Error("socket hang up")));
    assert.ok(!mayPass(new SecretNotFoundError("gone")));
    assert.ok(!mayPass(new AccessDeniedError("no")));
    assert.ok(!mayPass(new InvalidSpecError("bad")));
    assert.ok(!mayPass(new AuditSinkError("sink")));
  });

  void test("up to maxRetries more attempts, then the last error", async () => {
    const policy = { maxRetries: 2, intervalMs: 1 };
    const twice = flaky(new BackendUnavailableError("a"), new BackendUnavailableError("b"));
    assert.equal(await withRetries(policy, twice.fn), "ok");
    assert.equal(twice.attempts(), 3);
    const thrice = flaky(...["a", "b", "c"].map((m) => new BackendUnavailableError(m)));
    await assert.rejects(withRetries(policy, thrice.fn), /^BackendUnavailableError: c$/);
    assert.equal(thrice.attempts(), 3);
    const none = flaky(new BackendUnavailableError("a"));
    await assert.rejects(withRetries(undefined, none.fn), /a/);
    assert.equal(none.attempts(), 1);
  });

  void test("a definite answer is not asked again", async () => {
    const notFound = flaky(new SecretNotFoundError("gone"));
    await assert.rejects(withRetries({ maxRetries: 5, intervalMs: 1 }, notFound.fn), SecretNotFoundError);
    assert.equal(notFound.attempts(), 1);
  });

  void test("the wait is retryInterval, or the backend's Retry-After when longer; abort ends it", async (t) => {
    t.mock.timers.enable({ apis: ["setTimeout"] });
    const controller = new AbortController();
    const throttled = flaky(new ThrottledError("slow down", 30));
    let done = false;
    const result = withRetries({ maxRetries: 1, intervalMs: 1000 }, throttled.fn, controller.signal).then(
      (v) => ((done = true), v),
    );
    await new Promise((r) => setImmediate(r));
    t.mock.timers.tick(29_000);
    await new Promise((r) => setImmediate(r));
    assert.equal(done, false);
    assert.equal(throttled.attempts(), 1);
    t.mock.timers.tick(1_000);
    assert.equal(await result, "ok");
    assert.equal(throttled.attempts(), 2);

    const waiting = flaky(new BackendUnavailableError("down"));
    const aborted = withRetries({ maxRetries: 1, intervalMs: 60_000 }, waiting.fn, controller.signal);
    await new Promise((r) => setImmediate(r));
    controller.abort();
    await assert.rejects(aborted, /^BackendUnavailableError: down$/);
    assert.equal(waiting.attempts(), 1);
  });
});
