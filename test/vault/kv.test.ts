// KV v2 (latest and pinned versions, extract, find) and KV v1 stores through the controller, a key shared by
// several ExternalSecrets (read once per refresh, a change reaching all within one interval), and a sealed
// Vault: Ready=False with the Secret kept, then recovery after unsealing without a restart.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { applyObject, externalSecret, getSecret, waitFor, waitForCondition } from "../controller/harness.ts";
import {
  grantNamespace,
  applyKubernetesAuthStore,
  kubernetesRole,
  startNamespaceSuite,
  useSuite,
  propertyExternalSecret,
} from "./setup.ts";

void describe("Vault KV v1 and v2 through the controller", () => {
  const suite = useSuite(
    () => startNamespaceSuite("vault-kv"),
    async ({ vault, ns, ctl }) => {
      const root = vault.root;
      grantNamespace(vault, ns);
      kubernetesRole(vault, `${ns}-v1`, ns, [{ path: `kv/${ns}/*`, capabilities: ["read"] }]);
      root.putSecret("secret", `${ns}/db`, { user: "app", password: "first-password" });
      root.putSecret("secret", `${ns}/db`, { user: "app", password: "second-password" });
      root.putSecret("secret", `${ns}/apps/api/token`, { value: "api-token" });
      root.putSecret("secret", `${ns}/apps/web/token`, { value: "web-token" });
      root.putSecret("secret", `${ns}/apps/web/config`, { value: "not-a-token" });
      root.putSecret("kv", `${ns}/legacy`, { apiKey: "v1-api-key" });
      await applyKubernetesAuthStore(ctl.kube, vault, ns);
      await applyKubernetesAuthStore(ctl.kube, vault, ns, {
        name: "vault-v1",
        role: `${ns}-v1`,
        spec: { path: "kv", version: "v1" },
      });
    },
  );

  void it("reads the latest KV v2 version, a pinned one, a whole secret and a find", async () => {
    await applyObject(
      suite.ctl.kube,
      externalSecret(suite.ns, "v2", {
        secretStoreRef: { name: "vault" },
        data: [
          { secretKey: "current", remoteRef: { key: `${suite.ns}/db`, property: "password" } },
          { secretKey: "previous", remoteRef: { key: `${suite.ns}/db`, property: "password", version: "1" } },
        ],
        dataFrom: [{ extract: { key: `${suite.ns}/db` } }],
      }),
    );
    await waitForCondition(suite.ctl.kube, suite.ns, "v2", "Ready", "True", "SecretSynced");
    const secret = await waitFor(() => getSecret(suite.ctl.kube, suite.ns, "v2"), "Secret v2");
    assert.deepEqual(secret.data, {
      current: "second-password",
      previous: "first-password",
      user: "app",
      password: "second-password",
    });
    assert.equal(
      suite.vault.count({ path: `secret/data/${suite.ns}/db`, status: 200 }),
      2,
      "latest and v1: two reads",
    );

    await applyObject(
      suite.ctl.kube,
      externalSecret(suite.ns, "tokens", {
        secretStoreRef: { name: "vault" },
        dataFrom: [
          {
            find: { path: `${suite.ns}/apps`, name: { regexp: "/token$" } },
            rewrite: [{ regexp: { source: `^${suite.ns}/apps/(.*)/token$`, target: "$1" } }],
          },
        ],
      }),
    );
    await waitForCondition(suite.ctl.kube, suite.ns, "tokens", "Ready", "True", "SecretSynced");
    const tokens = await waitFor(() => getSecret(suite.ctl.kube, suite.ns, "tokens"), "Secret tokens");
    assert.deepEqual(Object.keys(tokens.data).sort(), ["api", "web"]);
    assert.deepEqual(JSON.parse(tokens.data.web!), { value: "web-token" });
  });

  void it("reads KV v1 without the /data/ segment", async () => {
    await applyObject(
      suite.ctl.kube,
      propertyExternalSecret(suite.ns, "v1", { name: "vault-v1" }, `${suite.ns}/legacy`, "apiKey"),
    );
    await waitForCondition(suite.ctl.kube, suite.ns, "v1", "Ready", "True", "SecretSynced");
    assert.deepEqual((await getSecret(suite.ctl.kube, suite.ns, "v1"))?.data, { apiKey: "v1-api-key" });
    assert.equal(suite.vault.count({ path: `kv/${suite.ns}/legacy`, status: 200 }), 1);
  });

  void it("a key shared by ExternalSecrets is read once per refresh, and a change reaches every Secret within one interval", async () => {
    const T = 4000;
    const key = `${suite.ns}/shared`;
    const names = Array.from({ length: 6 }, (_, i) => `shared-${i}`);
    suite.vault.root.putSecret("secret", key, { token: "before-rotation" });
    for (const name of names)
      await applyObject(
        suite.ctl.kube,
        propertyExternalSecret(suite.ns, name, { name: "vault" }, key, "token", {
          refreshInterval: `${T / 1000}s`,
        }),
      );
    for (const name of names)
      await waitForCondition(suite.ctl.kube, suite.ns, name, "Ready", "True", "SecretSynced");
    const reads = () => suite.vault.count({ path: `secret/data/${key}`, status: 200 });
    const before = reads();
    await new Promise((r) => setTimeout(r, 2 * T));
    // Two refreshes of six objects: 12 reads without sharing; one per slot with it (+1 at a window's edge).
    const perTwoIntervals = reads() - before;
    assert.ok(perTwoIntervals >= 1 && perTwoIntervals <= 3, `${perTwoIntervals} reads in two intervals`);

    // Change it just after a refresh read: ExternalSecrets that would take that read from the cache later
    // (refreshing at other times) would keep the old value for another interval.
    const last = reads();
    while (reads() === last) await new Promise((r) => setTimeout(r, 10));
    suite.vault.root.putSecret("secret", key, { token: "after-rotation" });
    const changed = Date.now();
    await waitFor(
      async () => {
        for (const name of names)
          if ((await getSecret(suite.ctl.kube, suite.ns, name))?.data.token !== "after-rotation")
            return undefined;
        return true;
      },
      "every Secret updated",
      10 * T,
    );
    // The lag is when the controller wrote each Secret, by its own log ("synced", written), not when this
    // test's polling got round to seeing it, which a loaded machine delays. The controller logs after the
    // API server answers its write, so this test's GET can see a Secret before its line is logged: wait
    // for the lines too.
    const writeLags = () => {
      const lagMs = new Map<string, number>();
      for (const line of suite.ctl.logText().split("\n")) {
        if (!line.startsWith("{")) continue;
        const l = JSON.parse(line) as {
          msg?: string;
          written?: boolean;
          externalSecret?: string;
          time?: string;
        };
        const name = l.externalSecret?.slice(suite.ns.length + 1);
        const at = Date.parse(l.time ?? "");
        if (
          l.msg === "synced" &&
          l.written &&
          name &&
          names.includes(name) &&
          at >= changed &&
          !lagMs.has(name)
        )
          lagMs.set(name, at - changed);
      }
      return lagMs;
    };
    const lagMs = await waitFor(
      () => {
        const lags = writeLags();
        return lags.size === names.length ? lags : undefined;
      },
      "every write logged",
      T,
    ).catch(() => writeLags());
    // The next slot is at most interval + jitter (10 %) away; a second for the read and the write.
    const bound = 1.1 * T + 1000;
    console.log(`# change → Secret written: ${[...lagMs.values()].join(", ")} ms (bound ${bound} ms)`);
    for (const name of names) {
      const lag = lagMs.get(name);
      assert.ok(
        lag !== undefined && lag <= bound,
        lag === undefined
          ? `${name}: no write logged after the change`
          : `${name}: written ${lag} ms after the change, bound ${bound} ms`,
      );
    }
  });

  void it("keeps the Secret while Vault is sealed, reports Ready=False, and recovers after unsealing", async () => {
    await applyObject(
      suite.ctl.kube,
      propertyExternalSecret(suite.ns, "sealed", { name: "vault" }, `${suite.ns}/db`, "password", {
        refreshInterval: "1s",
      }),
    );
    await waitForCondition(suite.ctl.kube, suite.ns, "sealed", "Ready", "True", "SecretSynced");
    const before = await getSecret(suite.ctl.kube, suite.ns, "sealed");
    suite.vault.faults.sealed = true;
    try {
      const es = await waitForCondition(suite.ctl.kube, suite.ns, "sealed", "Ready", "False");
      assert.match(es.status?.conditions?.find((c) => c.type === "Ready")?.message ?? "", /sealed/);
      const during = await getSecret(suite.ctl.kube, suite.ns, "sealed");
      assert.deepEqual(during?.data, { password: "second-password" });
      assert.equal(
        during?.metadata.resourceVersion,
        before?.metadata.resourceVersion,
        "the Secret is left alone",
      );
    } finally {
      suite.vault.faults.sealed = false;
    }
    suite.vault.root.putSecret("secret", `${suite.ns}/db`, { user: "app", password: "after-unseal" });
    await waitFor(
      async () =>
        (await getSecret(suite.ctl.kube, suite.ns, "sealed"))?.data.password === "after-unseal"
          ? true
          : undefined,
      "the Secret updated after unsealing",
    );
    await waitForCondition(suite.ctl.kube, suite.ns, "sealed", "Ready", "True", "SecretSynced");
  });
});
