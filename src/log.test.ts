import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { test } from "node:test";
import { createLogger } from "./log.ts";

void test("logs are JSON lines with level names, and secret-looking fields are redacted", () => {
  let out = "";
  const destination = new Writable({
    write(chunk: Buffer, _e, done) {
      out += chunk.toString();
      done();
    },
  });
  const log = createLogger({ level: "debug", destination });
  log.info(
    { secret: { data: { password: "p1" }, stringData: { k: "p2" } }, token: "p3", store: "s" },
    "hello",
  );
  log.debug({ headers: { authorization: "Bearer p4" } }, "req");
  log.trace({ x: 1 }, "hidden");
  const lines = out
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.equal(lines.length, 2);
  assert.equal(lines[0]?.level, "info");
  assert.equal(lines[0]?.store, "s");
  for (const v of ["p1", "p2", "p3", "p4"]) assert.ok(!out.includes(v), v);
});
