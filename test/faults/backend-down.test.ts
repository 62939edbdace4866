/**
 * Backend down (Vault resets every connection, as when its process or load
 * balancer is gone): the Secret is left exactly as it is, Ready turns False
 * with the reason after the first failed read, retries back off (counted in
 * the Vault test server's request log: no tight loop), and the controller
 * recovers by itself once Vault answers again.
 * (test/vault/kv.test.ts covers a *sealed* Vault, which answers 503.)
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import {
  applyObject,
  externalSecret,
  getExternalSecret,
  getSecret,
  waitFor,
  waitForCondition,
} from "../controller/harness.ts";
import { applyKubernetesAuthStore, grantNamespace, startNamespaceSuite, useSuite } from "../vault/setup.ts";

const OUTAGE_MS = 8_000;
const suite = useSuite(
  () => startNamespaceSuite("fault-backend"),
  async ({ vault, ns, ctl }) => {
    grantNamespace(vault, ns);
    vault.root.putSecret("secret", `${ns}/db`, { password: "before-outage" });
    await applyKubernetesAuthStore(ctl.kube, vault, ns);
  },
);

void test("Vault down: Secret kept, Ready=False at the first failure, backed-off retries, recovery without restart", async () => {
  const { ns, ctl, vault } = suite;
  await applyObject(
    ctl.kube,
    externalSecret(ns, "db", {
      secretStoreRef: { name: "vault" },
      refreshInterval: "1s",
      data: [{ secretKey: "password", remoteRef: { key: `${ns}/db`, property: "password" } }],
    }),
  );
  await waitForCondition(ctl.kube, ns, "db", "Ready", "True", "SecretSynced");
  const before = await getSecret(ctl.kube, ns, "db");
  assert.equal(before?.data.password, "before-outage");

  const dataPath = `secret/data/${ns}/db`;
  vault.clearLog();
  vault.faults.dropConnections = true;
  const started = Date.now();
  let atFalse: number;
  try {
    const es = await waitFor(async () => {
      const e = await getExternalSecret(ctl.kube, ns, "db");
      return e?.status?.conditions?.find((c) => c.type === "Ready" && c.status === "False") ? e : undefined;
    }, "Ready=False");
    atFalse = vault.count({ path: dataPath });
    const ready = es.status?.conditions?.find((c) => c.type === "Ready");
    assert.equal(ready?.reason, "SecretSyncError");
    assert.match(ready?.message ?? "", /unavailable|ECONNRESET|socket|connect/i);
    // Polled every 100 ms while retries start 100 ms apart (then 200, 400…): a few reads at most pass before the poll sees it.
    assert.ok(atFalse <= 4, `Ready=False only after ${atFalse} failed reads`);

    await sleep(Math.max(0, OUTAGE_MS - (Date.now() - started)));
    const during = await getSecret(ctl.kube, ns, "db");
    assert.equal(
      during?.metadata.resourceVersion,
      before?.metadata.resourceVersion,
      "the Secret is left alone",
    );
    assert.deepEqual(during?.data, before?.data);
  } finally {
    vault.faults.dropConnections = false;
  }
  const attempts = vault.requests.filter((r) => r.path === dataPath && r.status === 0).map((r) => r.time);
  const all = vault.requests.filter((r) => r.status === 0).length;
  // A tight loop would make thousands of calls in 8 s; doubling back-off from 100 ms (capped at 2 s) makes ~8.
  assert.ok(attempts.length >= 3 && attempts.length <= 15, `${attempts.length} reads in ${OUTAGE_MS} ms`);
  assert.ok(all <= 3 * attempts.length + 5, `${all} Vault calls in total during the outage`);
  const gaps = attempts.slice(1).map((t, i) => t - (attempts[i] ?? t));
  assert.ok(
    (gaps.at(-1) ?? 0) >= 4 * (gaps[0] ?? 0) && (gaps.at(-1) ?? 0) >= 1_000,
    `gaps ${gaps.join(", ")} ms`,
  );
  console.log(
    `backend down ${OUTAGE_MS} ms: ${attempts.length} reads (${all} calls), gaps ${gaps.join(", ")} ms`,
  );

  // Recovery, without a restart: a new value is picked up and Ready returns.
  vault.root.putSecret("secret", `${ns}/db`, { password: "after-outage" });
  await waitFor(
    async () => ((await getSecret(ctl.kube, ns, "db"))?.data.password === "after-outage" ? true : undefined),
    "the Secret updated after the outage",
  );
  await waitForCondition(ctl.kube, ns, "db", "Ready", "True", "SecretSynced");
});
