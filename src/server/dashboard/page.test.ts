import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { test } from "node:test";
import { buildOverview } from "../api/model.ts";
import { es, ready, store, view } from "../../../test/server/view-fixtures.ts";
import { ControllerMetrics } from "../../controller/metrics.ts";
import { formatDuration } from "./html.ts";
import { renderPage, styleHash } from "./page.ts";

async function page(v = view({})) {
  return renderPage(await buildOverview(v, new ControllerMetrics().registry, {}), {});
}

void test("the CSP hash is the hash of the page's one style block", async () => {
  const html = await page();
  const styles = [...html.matchAll(/<style>([\s\S]*?)<\/style>/g)];
  assert.equal(styles.length, 1);
  assert.equal(`sha256-${createHash("sha256").update(styles[0]![1]!).digest("base64")}`, styleHash);
  assert.doesNotMatch(
    html,
    /<script|https?:\/\/(?!www\.w3\.org\/2000\/svg)/,
    "no script, no external resource",
  );
});

void test("text from objects is escaped", async () => {
  const bad = es("a", "x", { condition: { ...ready("False"), message: '<img src=x onerror="alert(1)">' } });
  const html = await page(view({ externalSecrets: [bad], stores: [store("SecretStore", "a", "vault")] }));
  assert.ok(!html.includes("<img src=x"));
  assert.ok(html.includes("&lt;img src=x onerror=&quot;alert(1)&quot;&gt;"));
});

void test("states carry text and a symbol, not only colour", async () => {
  const html = await page(
    view({
      externalSecrets: [
        es("a", "ok", { condition: ready("True"), refreshTime: new Date().toISOString(), interval: "1h" }),
        es("a", "bad", { condition: ready("False") }),
        es("a", "old", {
          condition: ready("True"),
          refreshTime: new Date(Date.now() - 3 * 3600_000).toISOString(),
          interval: "1h",
        }),
      ],
    }),
  );
  for (const word of ["✓</span> Healthy", "✗</span> Degraded", "◷</span> Stale"])
    assert.ok(html.includes(word), word);
  assert.match(html, /<svg\s+class="chart"\s+role="img"/);
  assert.match(html, /3\.0× · 3h of\s+1h · stale/);
});

void test("durations are short and readable", () => {
  assert.deepEqual([undefined, 42, 600, 3600, 5400, 90000].map(formatDuration), [
    "—",
    "42s",
    "10m",
    "1h",
    "1h 30m",
    "1d 1h",
  ]);
});

void test("who read what: the latest audit records, names and keys only, shown only when audit is on", async () => {
  const overview = await buildOverview(view({}), new ControllerMetrics().registry, {});
  assert.doesNotMatch(renderPage(overview, {}), /Who read what/);
  const html = renderPage(overview, {}, [
    {
      time: "2026-12-02T00:31:07.412Z",
      actor: { component: "controller", version: "t" },
      subjects: [{ kind: "ExternalSecret", namespace: "shop", name: "db" }],
      store: "SecretStore/shop/vault",
      provider: "vault",
      operation: "read",
      keys: [{ key: "shop/<db>" }],
      outcome: "denied",
      reason: "AccessDenied",
      requestId: "req-1",
      durationMs: 3,
    },
  ]);
  assert.match(html, /<h2 id="h-audit">Who read what<\/h2>/);
  assert.match(html, /shop\/db/);
  assert.match(html, /shop\/&lt;db&gt;/, "keys are escaped");
  assert.match(html, /✗ denied \(AccessDenied\)/);
  assert.match(html, /req-1/);
  assert.match(renderPage(overview, {}, []), /No backend operations recorded yet/);
});
