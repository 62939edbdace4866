// metadataPolicy Fetch on Vault, as ESO reads it: KV v2's metadata endpoint
// (created_time, current_version, delete_version_after and custom_metadata,
// all strings), never the value; KV v1 has none. Through node-vault and the
// protocol test server.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { testContext } from "../../../test/servers/vault/context.ts";
import { startVaultServer, type VaultTestServer } from "../../../test/servers/vault/index.ts";
import { InvalidSpecError, SecretNotFoundError } from "../../errors.ts";
import { extractMap, extractValue } from "../extract.ts";
import type { ProviderClient } from "../types.ts";
import { vaultProvider } from "./index.ts";

const STORE = "SecretStore/team-a/vault";
let vault: VaultTestServer;
const clients: ProviderClient[] = [];

function store(mount: string, version: "v1" | "v2"): ProviderClient {
  const context = testContext(STORE, "team-a", { "team-a/approle#secret-id": "sid" });
  const client = vaultProvider.create(
    {
      server: vault.url,
      path: mount,
      version,
      auth: { appRole: { roleId: "role-app", secretRef: { name: "approle", key: "secret-id" } } },
    },
    context,
  );
  clients.push(client);
  return client;
}

before(async () => {
  vault = await startVaultServer();
  const root = vault.root;
  root.mountKv("secret", 2);
  root.mountKv("kv", 1);
  root.writePolicy("app", [
    { path: "secret/data/team-a/*", capabilities: ["read"] },
    { path: "secret/metadata/team-a/*", capabilities: ["read"] },
    { path: "kv/team-a/*", capabilities: ["read"] },
  ]);
  root.enableAppRole();
  root.addAppRole("app", { roleId: "role-app", secretIds: ["sid"], policies: ["app"], ttl: 60 });
  root.putSecret("secret", "team-a/db", { password: "the-value" });
  root.putSecret(
    "secret",
    "team-a/db",
    { password: "the-value-2" },
    { owner: "team-a", "cost-center": "42" },
  );
  root.putSecret("secret", "team-a/plain", { password: "x" });
  root.putSecret("kv", "team-a/db", { password: "x" });
});

after(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await vault.stop();
});

const text = (b: Uint8Array) => Buffer.from(b).toString("utf8");
const req = { store: STORE, key: "team-a/db" };

void test("KV v2: system metadata and custom_metadata as one map of strings", async () => {
  const value = await store("secret", "v2").read({ key: "team-a/db", metadata: true });
  const whole = JSON.parse(text(extractValue(value, req))) as Record<string, string>;
  assert.deepEqual(Object.keys(whole), [
    "cost-center",
    "created_time",
    "current_version",
    "delete_version_after",
    "owner",
  ]);
  assert.equal(whole.current_version, "2");
  assert.equal(whole.delete_version_after, "0s");
  assert.match(whole.created_time ?? "", /^\d{4}-\d\d-\d\dT/);
  assert.equal(text(extractValue(value, { ...req, property: "owner" })), "team-a");
  assert.equal(text(extractMap(value, req)["cost-center"] ?? new Uint8Array()), "42");
  assert.ok(!JSON.stringify(value).includes("the-value"));
});

void test("KV v2 without custom_metadata: the system keys only; a missing secret is not found", async () => {
  const client = store("secret", "v2");
  const value = await client.read({ key: "team-a/plain", metadata: true });
  assert.deepEqual(Object.keys(extractMap(value, req)), [
    "created_time",
    "current_version",
    "delete_version_after",
  ]);
  await assert.rejects(client.read({ key: "team-a/gone", metadata: true }), SecretNotFoundError);
});

void test("KV v1 has no metadata: refused, naming the store", async () => {
  await assert.rejects(
    store("kv", "v1").read({ key: "team-a/db", metadata: true }),
    (e: Error) => e instanceof InvalidSpecError && e.message.includes(STORE) && /KV v1/.test(e.message),
  );
});
