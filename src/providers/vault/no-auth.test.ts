// A Vault store without auth (ESO's nil Auth): no login and no renewal; node-vault sends the
// controller's VAULT_TOKEN if set, else no token, for a Vault Agent or proxy that adds it.
import assert from "node:assert/strict";
import { after, afterEach, before, beforeEach, it } from "node:test";
import { startVaultServer, type VaultTestServer } from "../../../test/servers/vault/index.ts";
import { testContext } from "../../../test/servers/vault/context.ts";
import { startTokenProxy } from "../../../test/servers/vault/token-proxy.ts";
import { AccessDeniedError } from "../../errors.ts";
import type { ProviderClient } from "../types.ts";
import { vaultProvider } from "./index.ts";

let vault: VaultTestServer;
let storeCounter = 0;

/** A store with no `auth` against `server`; its name is unique, so that no token session is shared. */
function noAuthStore(server: string): { client: ProviderClient; storeName: string } {
  const storeName = `SecretStore/team-a/agent-${++storeCounter}`;
  const spec = { server, path: "secret" };
  return { client: vaultProvider.create(spec, testContext(storeName, "team-a")), storeName };
}

/** The requests Vault saw that were a login, a renewal or a token lookup. */
const tokenCalls = (): string[] =>
  vault.requests.map((entry) => entry.path).filter((path) => path.startsWith("auth/"));

before(async () => {
  vault = await startVaultServer();
});
after(async () => {
  await vault.stop();
});
beforeEach(() => {
  delete process.env.VAULT_TOKEN;
  vault.root.mountKv("secret", 2);
  vault.root.writePolicy("agent", [{ path: "secret/data/team-a/*", capabilities: ["read"] }]);
  vault.root.putSecret("secret", "team-a/db", { password: "s3cr3t-value" });
  vault.clearLog();
});
afterEach(() => {
  delete process.env.VAULT_TOKEN;
});

void it("behind a proxy that adds the token: reads KV with no token of its own and no login", async () => {
  const agentToken = vault.root.createToken({ policies: ["agent"], ttl: 3600 }, "vault-agent");
  const proxy = await startTokenProxy(vault.url, agentToken);
  try {
    const { client } = noAuthStore(proxy.url);
    const value = await client.read({ key: "team-a/db" });
    assert.deepEqual(value.data, { password: "s3cr3t-value" });
    assert.ok(proxy.seen.length > 0);
    assert.ok(proxy.seen.every((headers) => headers["x-vault-token"] === undefined));
    assert.deepEqual(tokenCalls(), []);
    assert.deepEqual(
      vault.requests.map((entry) => entry.identity),
      vault.requests.map(() => "vault-agent"),
    );
    await client.close();
  } finally {
    await proxy.stop();
  }
});

void it("with VAULT_TOKEN in the controller's environment: node-vault sends it; no login, no renewal", async () => {
  process.env.VAULT_TOKEN = vault.root.createToken({ policies: ["agent"], ttl: 3600 }, "controller-env");
  const { client } = noAuthStore(vault.url);
  for (let i = 0; i < 3; i++) {
    const value = await client.read({ key: "team-a/db" });
    assert.deepEqual(value.data, { password: "s3cr3t-value" });
  }
  assert.deepEqual(tokenCalls(), []);
  assert.deepEqual(
    vault.requests.map((entry) => [entry.path, entry.identity]),
    Array.from({ length: 3 }, () => ["secret/data/team-a/db", "controller-env"]),
  );
  await client.close();
});

void it("without a token, Vault's 403 is a clear error naming the store, once, with no login or retry", async () => {
  const { client, storeName } = noAuthStore(vault.url);
  await assert.rejects(client.read({ key: "team-a/db" }), (error: Error) => {
    assert.ok(error instanceof AccessDeniedError);
    assert.match(
      error.message,
      new RegExp(`^${storeName}: read secret/data/team-a/db: permission denied \\(403\\)`),
    );
    assert.match(error.message, /the store has no auth, so the request carried no token/);
    assert.doesNotMatch(error.message, /s3cr3t/);
    return true;
  });
  assert.deepEqual(
    vault.requests.map((entry) => [entry.path, entry.status]),
    [["secret/data/team-a/db", 403]],
  );
  const validation = await client.validate();
  assert.equal(validation.status, "Error");
  assert.match(validation.message ?? "", new RegExp(`^${storeName}: lookup-token .*no auth`));
  assert.equal(validation.warnings, undefined);
  await client.close();
});

void it("with a VAULT_TOKEN that the policy does not allow: the 403 says so, never quoting the token", async () => {
  const envToken = vault.root.createToken({ policies: ["agent"], ttl: 3600 }, "controller-env");
  process.env.VAULT_TOKEN = envToken;
  const { client, storeName } = noAuthStore(vault.url);
  vault.root.putSecret("secret", "team-b/db", { password: "other" });
  await assert.rejects(client.read({ key: "team-b/db" }), (error: Error) => {
    assert.ok(error instanceof AccessDeniedError);
    assert.ok(error.message.startsWith(`${storeName}: read secret/data/team-b/db: permission denied (403)`));
    assert.match(error.message, /carried the controller's VAULT_TOKEN environment variable/);
    assert.ok(!error.message.includes(envToken));
    return true;
  });
  assert.deepEqual(tokenCalls(), []);
  await client.close();
});
