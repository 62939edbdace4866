// SecretStores without auth (ESO's nil auth) through the controller on the real API server:
// behind a Vault Agent/proxy stand-in that adds the token, and straight to Vault with no token.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { applyObject } from "../controller/harness.ts";
import { startTokenProxy, type TokenProxy } from "../servers/vault/token-proxy.ts";
import {
  assertNoCredentials,
  expectStoreSyncs,
  startNamespaceSuite,
  useSuite,
  vaultStore,
  waitForStoreCondition,
} from "./setup.ts";

void describe("Vault stores without auth", () => {
  let proxy: TokenProxy;
  let agentToken: string;
  const suite = useSuite(
    () => startNamespaceSuite("vault-noauth"),
    ({ vault, ns }) => {
      vault.root.writePolicy("agent", [{ path: `secret/data/${ns}/*`, capabilities: ["read"] }]);
      vault.root.putSecret("secret", `${ns}/db`, { password: "no-auth-pw" });
      agentToken = vault.root.createToken({ policies: ["agent"], ttl: 3600 }, "vault-agent");
    },
  );
  before(async () => {
    proxy = await startTokenProxy(suite.vault.url, agentToken);
  });
  after(async () => {
    await proxy.stop();
  });

  void it("behind an agent that adds the token: Ready, syncs, no login and no token sent", async () => {
    await applyObject(suite.ctl.kube, vaultStore(suite.ns, "agent", { server: proxy.url, path: "secret" }));
    await waitForStoreCondition(suite.ctl.kube, suite.ns, "agent", "Ready", "True");
    await expectStoreSyncs(suite, "agent", "no-auth-pw");
    assert.ok(proxy.seen.length > 0);
    assert.ok(proxy.seen.every((headers) => headers["x-vault-token"] === undefined));
    assert.equal(suite.vault.count({ path: /^auth\/(?!token\/lookup-self$)/ }), 0);
    assert.ok(
      suite.vault.count({ path: `secret/data/${suite.ns}/db`, status: 200, identity: "vault-agent" }) >= 1,
    );
  });

  void it("straight to Vault without a token: not Ready, the message names the store and says why", async () => {
    await applyObject(
      suite.ctl.kube,
      vaultStore(suite.ns, "direct", { server: suite.vault.url, path: "secret" }),
    );
    const condition = await waitForStoreCondition(suite.ctl.kube, suite.ns, "direct", "Ready", "False");
    assert.ok(condition.message?.startsWith(`SecretStore/${suite.ns}/direct: `), condition.message);
    assert.match(condition.message ?? "", /permission denied \(403\)/);
    assert.match(condition.message ?? "", /the store has no auth, so the request carried no token/);
    assertNoCredentials(condition.message ?? "", "the Ready condition");
    assert.ok(!suite.ctl.logText().includes(agentToken));
  });
});
