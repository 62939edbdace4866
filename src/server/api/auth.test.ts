import assert from "node:assert/strict";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import express from "express";
import {
  cachedReviewer,
  checkAccessConfig,
  isLoopback,
  requireReader,
  type DashboardAccess,
} from "./auth.ts";

async function call(
  access: DashboardAccess,
  authorization?: string,
): Promise<{ status: number; body: string }> {
  const app = express();
  app.get("/", requireReader(access), (_req, res) => res.send("ok"));
  const server = app.listen(0, "127.0.0.1");
  await new Promise((r) => server.once("listening", r));
  try {
    const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`, {
      headers: authorization ? { authorization } : {},
    });
    return { status: res.status, body: await res.text() };
  } finally {
    server.close();
  }
}

void test("loopback means 127.0.0.0/8, ::1 and localhost only", () => {
  for (const a of ["127.0.0.1", "127.1.2.3", "::1", "localhost"]) assert.equal(isLoopback(a), true, a);
  for (const a of ["0.0.0.0", "::", "10.0.0.1", "128.0.0.1"]) assert.equal(isLoopback(a), false, a);
});

void test("exposing the dashboard without a token or TokenReview is refused at start", () => {
  assert.throws(
    () => checkAccessConfig({ bindAddress: "0.0.0.0" }),
    /needs --dashboard-token-file or --dashboard-token-review/,
  );
  assert.doesNotThrow(() => checkAccessConfig({ bindAddress: "127.0.0.1" }));
});

void test("on loopback without configuration anonymous readers are allowed", async () => {
  assert.equal((await call({ bindAddress: "127.0.0.1" })).status, 200);
});

void test("exposed with a token: anonymous and wrong tokens are denied with a reason that never echoes the token", async () => {
  const access = { bindAddress: "0.0.0.0", token: "right-token" };
  const anonymous = await call(access);
  assert.equal(anonymous.status, 401);
  assert.match(anonymous.body, /anonymous access is denied/);
  const wrong = await call(access, "Bearer wrong-token");
  assert.equal(wrong.status, 401);
  assert.doesNotMatch(wrong.body, /wrong-token/);
  assert.equal((await call(access, "Basic dXNlcjpwdw==")).status, 401);
  assert.equal((await call(access, "Bearer right-token")).status, 200);
});

void test("TokenReview answers are used and cached; a failing review is 503, not an open door", async () => {
  let reviews = 0;
  const tokenReview = cachedReviewer(async (token) => {
    reviews++;
    if (token === "explode") throw new Error("API server down");
    return { authenticated: token === "alice-token", user: "alice" };
  });
  const access = { bindAddress: "0.0.0.0", tokenReview };
  assert.equal((await call(access, "Bearer alice-token")).status, 200);
  assert.equal((await call(access, "Bearer alice-token")).status, 200);
  assert.equal(reviews, 1, "the second request used the cached review");
  assert.equal((await call(access, "Bearer mallory")).status, 401);
  assert.equal((await call(access, "Bearer explode")).status, 503);
});
