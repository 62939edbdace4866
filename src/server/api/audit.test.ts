import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Registry } from "prom-client";
import { createApp, listen, type RunningServer } from "../app.ts";
import { Auditor, auditScope } from "../../store/audit.ts";
import { AuditWindow } from "../../store/audit-window.ts";
import { apiRouter } from "./router.ts";

void describe("GET /api/v1/audit and /readyz", () => {
  let server: RunningServer;
  let off: RunningServer;
  let sinkFailure: Error | undefined;
  before(async () => {
    const window = new AuditWindow();
    const auditor = new Auditor({ write: () => {} }, { component: "controller", version: "t" }, { window });
    for (const [ns, name, result] of [
      ["shop", "db", "success"],
      ["shop", "api", "denied"],
      ["bank", "db", "success"],
    ] as const) {
      auditScope.run(
        {
          subjects: () => [{ kind: "ExternalSecret", namespace: ns, name }],
          keys: () => [{ key: `${ns}/${name}` }],
        },
        () =>
          auditor.record({
            store: `SecretStore/${ns}/vault`,
            provider: "vault",
            operation: "read",
            result,
            seconds: 0,
          }),
      );
    }
    const registry = new Registry();
    const app = (audit?: AuditWindow) =>
      createApp({
        registry,
        health: {
          live: () => true,
          ready: () => !sinkFailure,
          notReady: () => `audit sink failing: ${sinkFailure?.message}`,
        },
        mount: [
          (a) => a.use("/api/v1", apiRouter({ view: () => undefined, registry, ...(audit && { audit }) })),
        ],
      });
    server = await listen(app(window), "127.0.0.1:0");
    off = await listen(app(), "127.0.0.1:0");
  });
  after(async () => {
    await server.close();
    await off.close();
  });
  const get = async (s: RunningServer, path: string) => {
    const res = await fetch(s.url + path);
    return {
      status: res.status,
      body: (await res.json()) as { records?: { subjects: { name: string }[] }[]; error?: string },
    };
  };
  const names = async (query: string) =>
    ((await get(server, `/api/v1/audit${query}`)).body.records ?? []).map((r) => r.subjects[0]?.name);

  void it("filters by namespace, ExternalSecret, store, key and outcome; newest first", async () => {
    assert.deepEqual(await names(""), ["db", "api", "db"]);
    assert.deepEqual(await names("?namespace=shop"), ["api", "db"]);
    assert.deepEqual(await names("?namespace=shop&externalsecret=db"), ["db"]);
    assert.deepEqual(await names("?store=SecretStore/bank/vault"), ["db"]);
    assert.deepEqual(await names("?key=shop/api"), ["api"]);
    assert.deepEqual(await names("?outcome=denied"), ["api"]);
    assert.deepEqual(await names("?since=2999-01-01T00:00:00Z"), []);
    assert.deepEqual(await names("?limit=1"), ["db"]);
  });

  void it("answers 400 naming a bad parameter, and 404 when audit is off", async () => {
    assert.deepEqual(await get(server, "/api/v1/audit?outcome=maybe"), {
      status: 400,
      body: { error: "query parameter outcome must be one of ok, not_found, denied, throttled, error" },
    });
    assert.equal((await get(server, "/api/v1/audit?since=yesterday")).status, 400);
    assert.equal((await get(server, "/api/v1/audit?limit=0")).status, 400);
    const none = await get(off, "/api/v1/audit");
    assert.equal(none.status, 404);
    assert.match(none.body.error ?? "", /--audit-log/);
  });

  void it("/readyz says the audit sink is failing while it is", async () => {
    assert.equal((await fetch(server.url + "/readyz")).status, 200);
    sinkFailure = new Error("ENOSPC: no space left on device");
    const res = await fetch(server.url + "/readyz");
    assert.equal(res.status, 503);
    assert.equal(await res.text(), "audit sink failing: ENOSPC: no space left on device");
    sinkFailure = undefined;
  });
});
