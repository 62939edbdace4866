/**
 * Soak (`npm run test:soak`): Vault flaps — down and up again, many times —
 * under 50 ExternalSecrets refreshing every 2 s. After every outage all
 * recover by themselves with the newest value, no outage costs more than a
 * bounded number of calls per ExternalSecret, and no Secret is ever touched
 * while Vault is down. SOAK_FLAPS sets the number of outages (10).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { resourceTypes } from "../../src/kube/resources.ts";
import { applyObject, externalSecret, waitFor } from "../controller/harness.ts";
import { applyKubernetesAuthStore, grantNamespace, startNamespaceSuite, useSuite } from "../vault/setup.ts";

const FLAPS = Number(process.env.SOAK_FLAPS ?? 10);
const COUNT = 50;
const DOWN_MS = 6_000;
const suite = useSuite(
  () => startNamespaceSuite("soak-flap"),
  async ({ vault, ns, ctl }) => {
    grantNamespace(vault, ns);
    vault.root.putSecret("secret", `${ns}/db`, { password: "round-0" });
    await applyKubernetesAuthStore(ctl.kube, vault, ns);
  },
);

type Listed = { metadata: { name: string; resourceVersion: string }; data?: Record<string, string> };

void test(`${FLAPS} Vault outages under ${COUNT} ExternalSecrets: each recovers, calls stay bounded`, async () => {
  const { ns, ctl, vault } = suite;
  for (let i = 0; i < COUNT; i++) {
    await applyObject(
      ctl.kube,
      externalSecret(ns, `es-${i}`, {
        secretStoreRef: { name: "vault" },
        refreshInterval: "2s",
        data: [{ secretKey: "password", remoteRef: { key: `${ns}/db`, property: "password" } }],
      }),
    );
  }
  const secrets = async () =>
    (await ctl.kube.list<Listed>(resourceTypes.secret, { namespace: ns })).items.filter((s) =>
      s.metadata.name.startsWith("es-"),
    );
  const allAt = async (value: string) => {
    const list = await secrets();
    const b64 = Buffer.from(value).toString("base64");
    return list.length === COUNT && list.every((s) => s.data?.password === b64) ? list : undefined;
  };
  await waitFor(() => allAt("round-0"), "all synced", 60_000);

  for (let round = 1; round <= FLAPS; round++) {
    const before = new Map((await secrets()).map((s) => [s.metadata.name, s.metadata.resourceVersion]));
    vault.clearLog();
    vault.faults.dropConnections = true;
    await sleep(DOWN_MS);
    const during = await secrets();
    for (const s of during)
      assert.equal(s.metadata.resourceVersion, before.get(s.metadata.name), `${s.metadata.name} touched`);
    const calls = vault.requests.filter((r) => r.status === 0).length;
    vault.faults.dropConnections = false;
    // Per ExternalSecret, back-off from 100 ms doubling to 2 s allows ~7 attempts in 6 s.
    assert.ok(calls <= COUNT * 8, `round ${round}: ${calls} calls during a ${DOWN_MS} ms outage`);
    vault.root.putSecret("secret", `${ns}/db`, { password: `round-${round}` });
    const started = Date.now();
    await waitFor(() => allAt(`round-${round}`), `round ${round}: all recovered`, 60_000);
    console.log(`round ${round}: ${calls} calls while down; all recovered ${Date.now() - started} ms after`);
  }
});
