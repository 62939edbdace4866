import assert from "node:assert/strict";
import { test } from "node:test";
import { ControllerMetrics } from "../controller/metrics.ts";
import { createApp, listen } from "./app.ts";

void test("/metrics streams the same bytes as the registry renders, many chunks of them", async (t) => {
  const metrics = new ControllerMetrics();
  // ~2 MiB of text: many 64 KiB chunks, more than a socket takes without waiting for it to drain.
  for (let i = 0; i < 5000; i++) {
    metrics.recordSync(`team-${i % 7}`, `app-"${i}"\n`, i % 5 !== 0);
    metrics.setCondition("ExternalSecret", `team-${i % 7}`, `app-"${i}"\n`, "Ready", "True");
  }
  const server = await listen(
    createApp({ registry: metrics.registry, health: { live: () => true, ready: () => true } }),
    "127.0.0.1:0",
  );
  t.after(() => server.close());
  const response = await fetch(`${server.url}/metrics`);
  assert.equal(response.headers.get("content-type"), metrics.registry.contentType);
  const body = await response.text();
  assert.ok(body.length > 1_000_000, `${body.length} bytes`);
  assert.equal(body, await metrics.registry.metrics());
  const head = await fetch(`${server.url}/metrics`, { method: "HEAD" });
  assert.equal(head.status, 200);
  assert.equal(await head.text(), "");
});
